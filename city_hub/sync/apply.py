"""Applying a ward's batch at the hub: the one code path for HTTP pushes and USB packages.

Each batch is applied in one transaction with version-conditional upserts and answered with an
import summary whose counts add up: ``received = inserted + updated + unchanged + stale +
rejected + conflicts`` (a superseded placeholder counts as stale or rejected). The ward comes
from its credential, never from the batch: a record that names another ward is a conflict and
goes to quarantine.

Ownership (docs/architecture.md) is checked on every record and on every record it
names (:data:`wardapp.sync.protocol.REFERENCES`): a record naming a record another unit holds
(an event on another ward's dossier, a rating of it, a feedback answered by its official) is a
conflict, and so is a dossier whose code does not begin with one of the unit's own codes or
that another dossier at the hub already carries. A name the hub has never seen is taken: one
transaction's rows may straddle two batches, and uuids are random and never shown to another
unit, so no unit can aim at a record it cannot see.
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from kernel.columns import utcnow
from kernel.database import DriverTable, write_transaction
from wardapp.sync.faults import fault
from wardapp.sync.protocol import (
    OUTCOMES,
    OWN_CODE_COLUMNS,
    OWNERSHIP_CODES,
    PROTOCOL_VERSION,
    REFERENCES,
    ProtocolError,
    check_batch,
    record_digest,
    sequence_number,
    superseded,
)
from wardapp.sync.shape import RecordRejected, record_shape

from ..extensions import db
from ..models import RECORD_TABLES, ImportBatch, Quarantine, Ward
from ..refdata import unit_codes

APPLY_ATTEMPTS = 3


def check_versions(protocol_version, schema_version, config) -> None:
    """Refuse, applying nothing, a ward whose versions are outside the hub's window."""
    low_p, high_p = config["SYNC_ACCEPT_PROTOCOL"]
    low_s, high_s = config["SYNC_ACCEPT_SCHEMA"]
    if not (
        isinstance(protocol_version, int)
        and low_p <= protocol_version <= high_p
        and isinstance(schema_version, int)
        and low_s <= schema_version <= high_s
    ):
        raise ProtocolError(
            "VERSION_UNSUPPORTED",
            "Phiên bản phần mềm của phường, xã nằm ngoài khoảng máy chủ chấp nhận; cần nâng cấp.",
            409,
            accept_protocol=[low_p, high_p],
            accept_schema=[low_s, high_s],
        )


def apply_in_transaction(
    ward: Ward, batch: dict, *, source: str, config, text: bytes | None = None
) -> dict:
    """Apply one batch in its own write transaction (a push, a USB package's member).

    The database has the last word on a row, so its refusals are met here, never by a 500:
    a unique key taken meanwhile by another unit's concurrent push (two wards sending one new
    uuid at once) is applied again, and the second look sees the other's committed record and
    refuses this one as the sequential case does (UUID_TAKEN); a value the database will not
    store (or a key refused again on the second look) is applied again record by record, so
    that record alone is rejected and quarantined (DATABASE_REFUSED) and the rest of the batch
    applies.
    """
    dbapi = db.session.get_bind().dialect.loaded_dbapi
    isolate = False
    for attempt in range(1, APPLY_ATTEMPTS + 1):
        try:
            with write_transaction(db.session):
                return apply_batch(
                    ward, batch, source=source, config=config, text=text, isolate=isolate
                )
        except (sa.exc.DBAPIError, dbapi.DatabaseError) as e:
            # Only a refused value or key is a record's fault; anything else (a schema behind
            # the code, a lost connection) fails the batch, which the ward sends again.
            if attempt == APPLY_ATTEMPTS or not isinstance(e, _refusals(dbapi)):
                raise ProtocolError(
                    "HUB_ERROR",
                    "Máy chủ thành phố chưa ghi được lô này; phường, xã gửi lại sau.",
                    503,
                ) from e
            race = isinstance(e, (sa.exc.IntegrityError, dbapi.IntegrityError))
            isolate = isolate or not race or attempt > 1
    raise AssertionError("unreachable")


def _refusals(dbapi) -> tuple[type, ...]:
    """The errors by which a database refuses a row's values or keys."""
    return (sa.exc.DataError, sa.exc.IntegrityError, dbapi.DataError, dbapi.IntegrityError)


def apply_batch(
    ward: Ward,
    batch: dict,
    *,
    source: str,
    config,
    text: bytes | None = None,
    isolate: bool = False,
) -> dict:
    """Apply one batch for ``ward`` and return the answer (stored for replays); ``text`` is the
    JSON it was parsed from (its digest is checked over it). With ``isolate``, each record is
    written alone (see :func:`apply_in_transaction`).

    Raises :class:`ProtocolError` for a malformed batch (400), a reused range with other content
    (409 SEQ_REUSED) or a batch that skips ahead (409 GAP); nothing is applied then.
    """
    check_versions(
        batch.get("protocol_version", PROTOCOL_VERSION), batch.get("schema_version"), config
    )
    check_batch(batch, text)
    if batch.get("ward_code") not in (None, ward.code):
        raise ProtocolError(
            "WARD_MISMATCH", "Lô dữ liệu ghi mã phường, xã khác với thông tin xác thực.", 403
        )
    first, last, digest = batch["first_seq"], batch["last_seq"], batch["sha256"]
    ward = db.session.scalar(
        sa.select(Ward)
        .where(Ward.code == ward.code)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    stored = db.session.get(ImportBatch, (ward.code, first, last))
    if stored is not None:
        if stored.payload_sha256 == digest:
            return stored.answer  # a replay: the same answer, nothing applied twice
        raise ProtocolError(
            "SEQ_REUSED",
            "Khoảng số thứ tự này đã được nhận với nội dung khác. "
            "Cơ sở dữ liệu của phường có thể đã bị khôi phục hoặc sao chép.",
            409,
            hub_acked_seq=ward.acked_seq,
        )
    if first > ward.acked_seq + 1:
        raise ProtocolError(
            "GAP",
            "Thiếu các lô trước; gửi lại từ số thứ tự máy chủ chờ.",
            409,
            expected=ward.acked_seq + 1,
        )
    # A batch may overlap what the hub holds (a USB package exported before an earlier one was
    # acknowledged): its old records come out unchanged or stale, never written twice.
    now = utcnow()
    records = batch["records"]
    batch_writer = _BatchWriter(ward.code, unit_codes(ward.code), now)
    batch_writer.preload(records)
    outcomes = batch_writer.judge(records)
    if isolate:
        outcomes = batch_writer.refuse_unstored(records, outcomes, batch_writer.flush_isolated())
    else:
        batch_writer.flush()
    counts = dict.fromkeys(OUTCOMES, 0)
    rejects = []
    for record, (outcome, code, message) in zip(records, outcomes):
        counts[outcome] += 1
        if outcome in ("rejected", "conflicts"):
            reject = {
                "seq": record["seq"],
                "table": _label(record.get("table"), 40),
                "uuid": _label(record.get("uuid"), 64),
                "version": record.get("version")
                if sequence_number(record.get("version"))
                else None,
                "code": code,
                "message": message,
            }
            rejects.append(reject)
            db.session.add(
                Quarantine(
                    ward_code=ward.code,
                    seq=record["seq"],
                    table_name=reject["table"],
                    record_uuid=reject["uuid"],
                    record_version=reject["version"]
                    if reject["version"] is not None and reject["version"] < 2**31
                    else None,
                    code=code,
                    message=message,
                    payload=_quarantine_payload(record),
                )
            )
    answer = {
        "acked_seq": last,
        "summary": {"received": len(records), **counts},
        "rejects": rejects,
    }
    db.session.add(
        ImportBatch(
            ward_code=ward.code,
            first_seq=first,
            last_seq=last,
            payload_sha256=digest,
            count=len(records),
            source=source,
            answer=answer,
        )
    )
    if last > ward.acked_seq:
        ward.acked_seq = last
        ward.acked_record_sha256 = record_digest(records[-1].get("data"))
    ward.last_push_ok_utc = now
    # A batch applied is the ward heard from (by the link or on a stick): the last contact is
    # never before the last push (hello alone set it, and a run's pushes come after its hello).
    ward.last_seen_utc = now
    ward.last_error = None
    if ward.head_reported_utc and last >= ward.reported_head_seq:
        ward.complete_through_utc = ward.head_reported_utc
    fault("hub.after_apply_before_commit")
    return answer


def _label(value, longest: int) -> str:
    """A record's table or uuid as quarantine and the answer name it: its text, cut, with what
    no database column takes (NUL) left out; any other value by its JSON type."""
    if isinstance(value, str):
        return value.replace("\x00", "")[:longest]
    return f"<{type(value).__name__}>"


def _quarantine_payload(record: dict) -> str:
    """The record as it came, for the hub admin to inspect (JSON escapes NUL); a record nested
    deeper than the encoder goes is kept as its envelope."""
    try:
        return json.dumps(record, ensure_ascii=False, default=str)
    except (RecursionError, ValueError):
        return json.dumps(
            {
                k: record.get(k)
                for k in ("seq", "op", "version")
                if sequence_number(record.get(k)) or isinstance(record.get(k), str)
            },
            ensure_ascii=False,
        )


class _BatchWriter:
    """Classifies a batch's records against the hub's rows, then writes them in bulk.

    Records are taken in sequence order, and a record may change twice within one batch (a dossier
    received, then handed over), so each record is judged against the state the batch itself has
    reached, kept in ``self.state``; only the last version of a record in the batch is written,
    and a record's digest is made only when it is written or compared.
    """

    def __init__(self, ward_code: str, own_codes: tuple[str, ...], now: dt.datetime):
        self.ward_code = ward_code
        self.own_prefixes = tuple(f"{code}-" for code in own_codes)
        self.now = now
        self.writers = _table_writers(db.session.get_bind().dialect)
        # (table, uuid) -> (version, digest, owner): read from the hub, or (version, None, owner)
        # for a version this batch brings, whose record is kept in self.inserts or self.updates
        self.state: dict[tuple[str, str], tuple[int, str | None, str]] = {}
        self.codes: dict[str, str] = {}  # dossier code -> uuid of the dossier that carries it
        self.inserts: dict[str, dict[str, tuple]] = {t: {} for t in RECORD_TABLES}
        self.updates: dict[str, dict[str, tuple]] = {t: {} for t in RECORD_TABLES}

    def preload(self, records: list[dict]) -> None:
        """Read, in one query per table, the current version and owner of every record of the
        batch and of every record they name, and the holders of the dossier codes they carry."""
        by_table: dict[str, set[str]] = {table: set() for table in RECORD_TABLES}
        codes: dict[str, set[str]] = {table: set() for table in OWN_CODE_COLUMNS}
        for r in records:
            table, data, uuid = r.get("table"), r.get("data"), r.get("uuid")
            if (
                table.__class__ is not str
                or table not in RECORD_TABLES
                or uuid.__class__ is not str
            ):
                continue
            by_table[table].add(uuid)
            if data.__class__ is not dict:
                continue
            writer = self.writers[table]
            for _, column, target in writer.references:
                named = data.get(column)
                if named.__class__ is str:
                    by_table[target].add(named)
            if writer.code_column and data.get(writer.code_column).__class__ is str:
                codes[table].add(data[writer.code_column])
        for table, uuids in by_table.items():
            if not uuids:
                continue
            t = RECORD_TABLES[table]
            for row in db.session.execute(
                sa.select(t.c.uuid, t.c.version, t.c.sync_sha256, t.c.ward_code).where(
                    t.c.uuid.in_(uuids)
                )
            ):
                self.state[(table, row.uuid)] = (row.version, row.sync_sha256, row.ward_code)
        for table, carried in codes.items():
            if not carried:
                continue
            t = RECORD_TABLES[table]
            column = t.c[OWN_CODE_COLUMNS[table]]
            self.codes.update(
                db.session.execute(sa.select(column, t.c.uuid).where(column.in_(carried))).all()
            )

    def judge(self, records: list[dict]) -> list[tuple[str, str, str]]:
        """The outcome of every record of the batch, in its order: each full record judged
        against the state the batch has reached (:meth:`classify`), then each placeholder by
        the full records after it.

        A placeholder is ``stale`` only if a later full record of the batch brings the same
        record at a higher version and was taken as this ward's (not rejected, not refused for
        ownership): then the hub ends as a batch of full records would have left it. Otherwise
        it is rejected with its reason: nothing at the hub vouches for the version it stands for.
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
            owned = outcome[0] != "rejected" and outcome[1] not in OWNERSHIP_CODES
            entries.append(
                ((record["table"], record["uuid"]), record["version"], True) if owned else None
            )
        for at, is_superseded in enumerate(superseded(entries)):
            if judged[at] is None:
                judged[at] = (
                    ("stale", "", "")
                    if is_superseded
                    else (
                        "rejected",
                        "NO_SUCCESSOR",
                        "Bản ghi giữ chỗ không có phiên bản mới hơn hợp "
                        "lệ của cùng bản ghi, cùng phường, xã ở sau nó trong lô.",
                    )
                )
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
        if current is not None and current[2] != self.ward_code:
            return "conflicts", "UUID_TAKEN", "Mã bản ghi đã thuộc về phường, xã khác."
        refusal = self.ownership_refusal(writer, values, uuid)
        if refusal:
            return ("conflicts", *refusal)
        if current is not None:
            current_version, current_digest, _ = current
            if version < current_version:
                return "stale", "", ""
            if version == current_version:
                if current_digest is None:  # brought by this batch
                    kept = self.inserts[table].get(uuid) or self.updates[table][uuid]
                    current_digest = record_digest(kept[1])
                if record_digest(record["data"]) == current_digest:
                    return "unchanged", "", ""
                return (
                    "conflicts",
                    "VERSION_CONFLICT",
                    "Cùng phiên bản nhưng nội dung khác với bản đã nhận.",
                )
        kept = (values, record["data"], record["seq"])
        self.state[(table, uuid)] = (version, None, self.ward_code)
        if writer.code_at is not None:
            self.codes[values[writer.code_at]] = uuid
        if current is None or uuid in self.inserts[table]:
            self.inserts[table][uuid] = kept
            return ("inserted" if current is None else "updated"), "", ""
        self.updates[table][uuid] = kept
        return "updated", "", ""

    def ownership_refusal(
        self, writer: _TableWriter, values: list, uuid: str
    ) -> tuple[str, str] | None:
        """Why a record of this unit may not be written as it stands (code, message), if it
        names a record another unit holds (at the hub: what this batch brings is this unit's
        or refused), or carries a dossier code that is not the unit's own or that another dossier
        carries."""
        for at, column, target in writer.references:
            named = values[at]
            held = named is not None and self.state.get((target, named))
            if held and held[2] != self.ward_code:
                return "FOREIGN_REFERENCE", (
                    f"Trường {column} trỏ tới bản ghi {target} của phường, xã khác."
                )
        if writer.code_at is not None:
            code = values[writer.code_at]
            if not code.startswith(self.own_prefixes):
                return "CODE_NOT_OWNED", (f"Mã hồ sơ {code} không bắt đầu bằng mã của đơn vị gửi.")
            if self.codes.get(code, uuid) != uuid:
                return "CODE_TAKEN", (
                    f"Mã hồ sơ {code} đã được một hồ sơ khác dùng; mã trên "
                    "giấy tiếp nhận không được cấp hai lần."
                )
        return None

    def writes(self):
        """Per table, the INSERT of its new records, then the UPDATE of its newer versions:
        ``(table, sql, [(uuid, parameters), …])``."""
        for name, writer in self.writers.items():
            if self.inserts[name]:
                yield (
                    name,
                    writer.insert_sql,
                    [
                        (uuid, writer.row(*kept, self.now))
                        for uuid, kept in self.inserts[name].items()
                    ],
                )
            if self.updates[name]:
                yield (
                    name,
                    writer.update_sql,
                    [
                        (uuid, writer.update_params(writer.row(*kept, self.now)))
                        for uuid, kept in self.updates[name].items()
                    ],
                )

    def statements(self) -> list[tuple[str, list[tuple]]]:
        """The SQL and parameter rows that write the batch: inserts, then updates."""
        return [(sql, [params for _, params in rows]) for _, sql, rows in self.writes()]

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

    def flush_isolated(self) -> set[tuple[str, str]]:
        """Write each record alone in a savepoint; returns the (table, uuid) of those the
        database refused (and did not store)."""
        dbapi = db.session.get_bind().dialect.loaded_dbapi
        refused = set()
        cursor = db.session.connection().connection.cursor()
        try:
            for table, sql, rows in self.writes():
                for uuid, params in rows:
                    cursor.execute("SAVEPOINT hub_record")
                    try:
                        cursor.execute(sql, params)
                    except _refusals(dbapi):
                        cursor.execute("ROLLBACK TO SAVEPOINT hub_record")
                        refused.add((table, uuid))
                    cursor.execute("RELEASE SAVEPOINT hub_record")
        finally:
            cursor.close()
        return refused

    def hub_versions(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The versions the hub holds of ``keys`` (those whose write the database refused, so
        the hub's rows are as they were)."""
        held = {}
        for table in {table for table, _ in keys}:
            t = RECORD_TABLES[table]
            uuids = [uuid for name, uuid in keys if name == table]
            held.update(
                ((table, row.uuid), row.version)
                for row in db.session.execute(
                    sa.select(t.c.uuid, t.c.version).where(t.c.uuid.in_(uuids))
                )
            )
        return held

    def refuse_unstored(
        self,
        records: list[dict],
        outcomes: list[tuple[str, str, str]],
        refused: set[tuple[str, str]],
    ) -> list[tuple[str, str, str]]:
        """The outcomes once the database refused ``refused``: each record of the batch that
        stood for one of them, at a version above what the hub holds, was not stored, so it is
        rejected (a placeholder with its successor) and the summary still tells the truth."""
        held = self.hub_versions(refused)
        out = []
        for record, outcome in zip(records, outcomes):
            key = (record.get("table"), record.get("uuid"))
            if (
                outcome[0] not in ("rejected", "conflicts")
                and key in refused
                and record["version"] > held.get(key, -1)
            ):
                outcome = (
                    "rejected",
                    "DATABASE_REFUSED",
                    "Cơ sở dữ liệu của máy chủ thành phố "
                    "không lưu được bản ghi này (giá trị ngoài khả năng lưu trữ).",
                )
            out.append(outcome)
        return out


def _placeholder_key(record: dict) -> tuple[str, str]:
    """The (table, uuid) a well-formed superseded placeholder stands for, or
    :class:`RecordRejected` naming what is wrong with it."""
    table, uuid, version = record.get("table"), record.get("uuid"), record.get("version")
    if record["superseded"] is not True or "data" in record:
        raise RecordRejected(
            "INVALID", "Bản ghi giữ chỗ phải có superseded = true và không kèm dữ liệu."
        )
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
            names.index("uuid"),
            names.index("version"),
            names.index("ward_code"),
        )
        # (position, column, table) of each column that names another record
        self.references = [
            (names.index(column), column, target)
            for column, target in REFERENCES[table.name].items()
        ]
        self.code_column = OWN_CODE_COLUMNS.get(table.name)
        self.code_at = names.index(self.code_column) if self.code_column else None

    def row(self, values: list, data: dict, seq: int, now: dt.datetime) -> tuple:
        """The stored row of a record: its checked values, then its digest and sync columns."""
        return self.bind([*values, record_digest(data), seq, now])


_WRITERS: dict[tuple[str, str], dict[str, _TableWriter]] = {}


def _table_writers(dialect) -> dict[str, _TableWriter]:
    """The record tables' writers for a database driver, made once."""
    key = (dialect.name, dialect.driver)
    if key not in _WRITERS:
        _WRITERS[key] = {
            name: _TableWriter(table, record_shape(name).names, dialect)
            for name, table in RECORD_TABLES.items()
        }
    return _WRITERS[key]
