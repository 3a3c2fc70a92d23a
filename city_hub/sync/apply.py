"""Applying a ward's batch at the hub: the one code path for HTTP pushes and USB packages.

Each batch is applied in one transaction with version-conditional upserts and answered with an
import summary whose counts add up: ``received = inserted + updated + unchanged + stale +
rejected + conflicts`` (a superseded placeholder counts as stale or rejected). The ward comes
from its credential, never from the batch: a record that names another ward is a conflict and
goes to quarantine.
"""
from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from wardapp.database import DriverTable
from wardapp.models import utcnow
from wardapp.sync.faults import fault
from wardapp.sync.protocol import (OUTCOMES, PROTOCOL_VERSION, ProtocolError, RecordRejected,
                                   check_batch, record_digest, record_shape, superseded)

from ..extensions import db
from ..models import RECORD_TABLES, ImportBatch, Quarantine, Ward


def check_versions(protocol_version, schema_version, config) -> None:
    """Refuse, applying nothing, a ward whose versions are outside the hub's window."""
    low_p, high_p = config["SYNC_ACCEPT_PROTOCOL"]
    low_s, high_s = config["SYNC_ACCEPT_SCHEMA"]
    if not (isinstance(protocol_version, int) and low_p <= protocol_version <= high_p
            and isinstance(schema_version, int) and low_s <= schema_version <= high_s):
        raise ProtocolError(
            "VERSION_UNSUPPORTED",
            "Phiên bản phần mềm của phường, xã nằm ngoài khoảng máy chủ chấp nhận; cần nâng cấp.",
            409, accept_protocol=[low_p, high_p], accept_schema=[low_s, high_s])


def apply_batch(ward: Ward, batch: dict, *, source: str, config, text: bytes | None = None) -> dict:
    """Apply one batch for ``ward`` and return the answer (stored for replays); ``text`` is the
    JSON it was parsed from (its digest is checked over it).

    Raises :class:`ProtocolError` for a malformed batch (400), a reused range with other content
    (409 SEQ_REUSED) or a batch that skips ahead (409 GAP); nothing is applied then.
    """
    check_versions(batch.get("protocol_version", PROTOCOL_VERSION), batch.get("schema_version"),
                   config)
    check_batch(batch, text)
    if batch.get("ward_code") not in (None, ward.code):
        raise ProtocolError("WARD_MISMATCH", "Lô dữ liệu ghi mã phường, xã khác với thông tin "
                                             "xác thực.", 403)
    first, last, digest = batch["first_seq"], batch["last_seq"], batch["sha256"]
    ward = db.session.scalar(sa.select(Ward).where(Ward.code == ward.code).with_for_update()
                             .execution_options(populate_existing=True))
    stored = db.session.get(ImportBatch, (ward.code, first, last))
    if stored is not None:
        if stored.payload_sha256 == digest:
            return stored.answer  # a replay: the same answer, nothing applied twice
        raise ProtocolError("SEQ_REUSED", "Khoảng số thứ tự này đã được nhận với nội dung khác. "
                            "Cơ sở dữ liệu của phường có thể đã bị khôi phục hoặc sao chép.",
                            409, hub_acked_seq=ward.acked_seq)
    if first > ward.acked_seq + 1:
        raise ProtocolError("GAP", "Thiếu các lô trước; gửi lại từ số thứ tự máy chủ chờ.", 409,
                            expected=ward.acked_seq + 1)
    # A batch may overlap what the hub holds (a USB package exported before an earlier one was
    # acknowledged): its old records come out unchanged or stale, never written twice.
    now = utcnow()
    counts = dict.fromkeys(OUTCOMES, 0)
    rejects = []
    batch_writer = _BatchWriter(ward.code, now)
    batch_writer.preload(batch["records"])
    for record, (outcome, code, message) in zip(batch["records"],
                                                batch_writer.judge(batch["records"])):
        counts[outcome] += 1
        if outcome in ("rejected", "conflicts"):
            rejects.append({"seq": record["seq"], "table": str(record.get("table"))[:40],
                            "uuid": str(record.get("uuid"))[:64], "version": record.get("version")
                            if isinstance(record.get("version"), int) else None,
                            "code": code, "message": message})
            db.session.add(Quarantine(
                ward_code=ward.code, seq=record["seq"], table_name=rejects[-1]["table"],
                record_uuid=rejects[-1]["uuid"], record_version=rejects[-1]["version"],
                code=code, message=message,
                payload=json.dumps(record, ensure_ascii=False, default=str)))
    batch_writer.flush()
    answer = {"acked_seq": last, "summary": {"received": len(batch["records"]), **counts},
              "rejects": rejects}
    db.session.add(ImportBatch(ward_code=ward.code, first_seq=first, last_seq=last,
                               payload_sha256=digest, count=len(batch["records"]),
                               source=source, answer=answer))
    if last > ward.acked_seq:
        ward.acked_seq = last
        ward.acked_record_sha256 = record_digest(batch["records"][-1].get("data"))
    ward.last_push_ok_utc = now
    ward.last_error = None
    if ward.head_reported_utc and last >= ward.reported_head_seq:
        ward.complete_through_utc = ward.head_reported_utc
    fault("hub.after_apply_before_commit")
    return answer


class _BatchWriter:
    """Classifies a batch's records against the hub's rows, then writes them in bulk.

    Records are taken in sequence order, and a record may change twice within one batch (a dossier
    received, then handed over), so each record is judged against the state the batch itself has
    reached, kept in ``self.state``; only the last version of a record in the batch is written,
    and a record's digest is made only when it is written or compared.
    """

    def __init__(self, ward_code: str, now: dt.datetime):
        self.ward_code = ward_code
        self.now = now
        self.writers = _table_writers(db.session.get_bind().dialect)
        # (table, uuid) -> (version, digest, owner): read from the hub, or (version, None, owner)
        # for a version this batch brings, whose record is kept in self.inserts or self.updates
        self.state: dict[tuple[str, str], tuple[int, str | None, str]] = {}
        self.inserts: dict[str, dict[str, tuple]] = {t: {} for t in RECORD_TABLES}
        self.updates: dict[str, dict[str, tuple]] = {t: {} for t in RECORD_TABLES}

    def preload(self, records: list[dict]) -> None:
        """Read the current version of every record of the batch in one query per table."""
        by_table: dict[str, list[str]] = {}
        for r in records:
            if isinstance(r.get("table"), str) and r["table"] in RECORD_TABLES \
                    and isinstance(r.get("uuid"), str):
                by_table.setdefault(r["table"], []).append(r["uuid"])
        for table, uuids in by_table.items():
            t = RECORD_TABLES[table]
            for row in db.session.execute(sa.select(t.c.uuid, t.c.version, t.c.sync_sha256,
                                                    t.c.ward_code).where(t.c.uuid.in_(uuids))):
                self.state[(table, row.uuid)] = (row.version, row.sync_sha256, row.ward_code)

    def judge(self, records: list[dict]) -> list[tuple[str, str, str]]:
        """The outcome of every record of the batch, in its order: each full record judged
        against the state the batch has reached (:meth:`classify`), then each placeholder by
        the full records after it.

        A placeholder is ``stale`` only if a later full record of the batch brings the same
        record at a higher version and was taken as this ward's (not rejected, not another
        ward's): then the hub ends as a batch of full records would have left it. Otherwise it
        is rejected with its reason: nothing at the hub vouches for the version it stands for.
        """
        judged: list[tuple[str, str, str] | None] = []
        entries: list[tuple[tuple, int, bool] | None] = []
        for record in records:
            if "superseded" in record:
                try:
                    entries.append((_placeholder_key(record), record["version"], False))
                    judged.append(None)
                except RecordRejected as e:
                    entries.append(None)
                    judged.append(("rejected", e.code, e.message))
                continue
            outcome = self.classify(record)
            judged.append(outcome)
            owned = outcome[0] != "rejected" and outcome[1] not in ("WRONG_WARD", "UUID_TAKEN")
            entries.append(((record["table"], record["uuid"]), record["version"], True)
                           if owned else None)
        for at, is_superseded in enumerate(superseded(entries)):
            if judged[at] is None:
                judged[at] = ("stale", "", "") if is_superseded else (
                    "rejected", "NO_SUCCESSOR", "Bản ghi giữ chỗ không có phiên bản mới hơn hợp "
                    "lệ của cùng bản ghi, cùng phường, xã ở sau nó trong lô.")
        return judged

    def classify(self, record: dict) -> tuple[str, str, str]:
        """Judge one full record and keep what is to be written."""
        table, uuid, version = record.get("table"), record.get("uuid"), record.get("version")
        try:
            if record.get("op") != "upsert":
                raise RecordRejected("UNSUPPORTED_OP", "Chỉ nhận thao tác upsert.")
            values = record_shape(table).clean(record.get("data"))
            writer = self.writers[table]
            if values[writer.uuid_at] != uuid or values[writer.version_at] != version:
                raise RecordRejected("INVALID", "Mã hoặc phiên bản bản ghi không khớp phong bì.")
        except RecordRejected as e:
            return "rejected", e.code, e.message
        if values[writer.ward_at] != self.ward_code:
            return "conflicts", "WRONG_WARD", "Bản ghi ghi mã phường, xã khác với đơn vị gửi."
        current = self.state.get((table, uuid))
        if current is not None:
            current_version, current_digest, owner = current
            if owner != self.ward_code:
                return "conflicts", "UUID_TAKEN", "Mã bản ghi đã thuộc về phường, xã khác."
            if version < current_version:
                return "stale", "", ""
            if version == current_version:
                if current_digest is None:  # brought by this batch
                    kept = self.inserts[table].get(uuid) or self.updates[table][uuid]
                    current_digest = record_digest(kept[1])
                if record_digest(record["data"]) == current_digest:
                    return "unchanged", "", ""
                return "conflicts", "VERSION_CONFLICT", \
                    "Cùng phiên bản nhưng nội dung khác với bản đã nhận."
        kept = (values, record["data"], record["seq"])
        self.state[(table, uuid)] = (version, None, self.ward_code)
        if current is None or uuid in self.inserts[table]:
            self.inserts[table][uuid] = kept
            return ("inserted" if current is None else "updated"), "", ""
        self.updates[table][uuid] = kept
        return "updated", "", ""

    def statements(self) -> list[tuple[str, list[tuple]]]:
        """The SQL and parameter rows that write the batch: inserts, then updates."""
        out = []
        for name, writer in self.writers.items():
            if self.inserts[name]:
                out.append((writer.insert_sql, [writer.row(*kept, self.now)
                                                for kept in self.inserts[name].values()]))
            if self.updates[name]:
                out.append((writer.update_sql, [writer.update_params(writer.row(*kept, self.now))
                                                for kept in self.updates[name].values()]))
        return out

    def flush(self) -> list[tuple[str, list[tuple]]]:
        """Write the batch; returns the statements run (the benchmark replays them)."""
        statements = self.statements()
        cursor = db.session.connection().connection.cursor()
        try:
            for sql, rows in statements:
                cursor.executemany(sql, rows)
        finally:
            cursor.close()
        return statements


def _placeholder_key(record: dict) -> tuple[str, str]:
    """The (table, uuid) a well-formed superseded placeholder stands for, or
    :class:`RecordRejected` naming what is wrong with it."""
    table, uuid, version = record.get("table"), record.get("uuid"), record.get("version")
    if record["superseded"] is not True or "data" in record:
        raise RecordRejected("INVALID", "Bản ghi giữ chỗ phải có superseded = true và không kèm "
                                        "dữ liệu.")
    if record.get("op") != "upsert":
        raise RecordRejected("UNSUPPORTED_OP", "Chỉ nhận thao tác upsert.")
    record_shape(table)
    if not isinstance(uuid, str) or type(version) is not int:
        raise RecordRejected("INVALID", "Mã hoặc phiên bản của bản ghi giữ chỗ không hợp lệ.")
    return table, uuid


class _TableWriter(DriverTable):
    """One record table's INSERT and UPDATE for the database driver's own ``executemany``: the
    rows are checked already, so SQLAlchemy's per-row parameter handling is skipped."""

    def __init__(self, table: sa.Table, names: list[str], dialect):
        columns = [*names, "sync_sha256", "sync_seq", "synced_utc"]
        assert sorted(columns) == sorted(c.name for c in table.columns), table.name
        super().__init__(table, columns, dialect)
        self.uuid_at, self.version_at, self.ward_at = (
            names.index("uuid"), names.index("version"), names.index("ward_code"))

    def row(self, values: list, data: dict, seq: int, now: dt.datetime) -> tuple:
        """The stored row of a record: its checked values, then its digest and sync columns."""
        return self.bind([*values, record_digest(data), seq, now])


_WRITERS: dict[tuple[str, str], dict[str, _TableWriter]] = {}


def _table_writers(dialect) -> dict[str, _TableWriter]:
    """The record tables' writers for a database driver, made once."""
    key = (dialect.name, dialect.driver)
    if key not in _WRITERS:
        _WRITERS[key] = {name: _TableWriter(table, record_shape(name).names, dialect)
                         for name, table in RECORD_TABLES.items()}
    return _WRITERS[key]
