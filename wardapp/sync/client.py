"""The ward's side of sync: hello, push the outbox in contiguous batches, pull reference data.

Only the ward initiates. The hub's acknowledged sequence is authoritative: a lost ack is healed at
hello, a hub restored from backup gets the retained outbox rows again, and a batch that arrives
out of order is refused (GAP) and resent from where the hub stands.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

import requests
import sqlalchemy as sa

from ..database import write_transaction
from ..extensions import db
from kernel.columns import utcnow
from ..models import Outbox, SyncNode, SyncReject, SyncState
from ..outbox import canonical_payload
from kernel.refdata import ReferenceDataError
from ..refdata import apply_snapshot
from .faults import fault
from .protocol import (BATCH_RECORDS, LEGACY_BATCH_RECORDS, MAX_BATCH_BYTES,
                       PLACEHOLDER_PROTOCOL, PROTOCOL_VERSION, SYNCED_MODELS,
                       WIRE_SCHEMA_VERSION, ProtocolError, canonical_json, check_summary, encode,
                       reconcile_digest, record_text, superseded)

log = logging.getLogger("wardapp.sync")

EXIT_OK, EXIT_PARTIAL, EXIT_FAILED, EXIT_STOPPED, EXIT_AUTH = 0, 1, 2, 3, 4
STOP_CODES = {"VERSION_UNSUPPORTED", "NODE_REGRESSED", "SEQ_REUSED", "WARD_MISMATCH"}
BAD_PAYLOAD_RETRIES = 2
CONFIG_FILE = "sync.json"


@dataclass
class SyncConfig:
    hub_url: str
    token: str

    @classmethod
    def load(cls, instance_path: str) -> "SyncConfig | None":
        path = Path(instance_path) / CONFIG_FILE
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["hub_url"].rstrip("/"), data["token"])

    def save(self, instance_path: str) -> None:
        path = Path(instance_path) / CONFIG_FILE
        path.write_text(json.dumps({"hub_url": self.hub_url, "token": self.token}), "utf-8")
        path.chmod(0o600)


class SyncFailed(Exception):
    """A run that must stop; ``exit_code`` tells the scheduler what kind of stop it was."""

    def __init__(self, exit_code: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.exit_code, self.code, self.message, self.details = exit_code, code, message, \
            details or {}


def sync_state() -> SyncState:
    state = db.session.get(SyncState, 1)
    if state is None:
        state = SyncState(id=1, acked_seq=0, refdata_version=0, consecutive_failures=0)
        db.session.add(state)
        db.session.flush()
    return state


class HubClient:
    """HTTP to the hub with timeouts and retries of transport faults only.

    A 401/403/409 is an answer, not a fault, and is never retried; a 5xx, a timeout or a refused
    connection is retried with exponential backoff and full jitter.
    """

    def __init__(self, config: SyncConfig, *, session: requests.Session | None = None,
                 retries: int = 4, backoff: float = 0.5, timeout: float = 30,
                 sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self.http = session or requests.Session()
        self.retries, self.backoff, self.timeout, self.sleep = retries, backoff, timeout, sleep

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.config.token}", **kwargs.pop("headers", {})}
        url = f"{self.config.hub_url}/api/sync/v1/{path}"
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(method, url, headers=headers, timeout=self.timeout,
                                             allow_redirects=False, **kwargs)
            except requests.RequestException as e:
                code, problem = "UNREACHABLE", \
                    f"Không kết nối được máy chủ thành phố ({type(e).__name__})."
            else:
                if response.status_code < 500:
                    return response
                code, problem = "HUB_ERROR", f"Máy chủ thành phố lỗi {response.status_code}."
            if attempt == self.retries:
                raise SyncFailed(EXIT_FAILED, code, problem)
            self.sleep(random.uniform(0, min(8.0, self.backoff * 2 ** attempt)))
        raise AssertionError("unreachable")

    def answer(self, response: requests.Response) -> dict:
        """The JSON body of a hub answer, or :class:`SyncFailed` saying what went wrong."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "application/json" not in \
                response.headers.get("Content-Type", ""):
            raise SyncFailed(EXIT_FAILED, "BAD_ANSWER", "Máy chủ trả lời không phải dữ liệu đồng "
                             f"bộ (HTTP {response.status_code}); có thể mạng yêu cầu đăng nhập.")
        if response.status_code == 200:
            return body
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        code, message = str(error.get("code", "HTTP")), str(error.get("message", ""))
        if response.status_code == 401:
            raise SyncFailed(EXIT_AUTH, code, message or "Khóa đồng bộ không hợp lệ.")
        if code in STOP_CODES or response.status_code == 403:
            raise SyncFailed(EXIT_STOPPED, code, message, error)
        raise SyncFailed(EXIT_FAILED, code, message or f"HTTP {response.status_code}", error)


def ward_identity() -> SyncNode:
    return db.session.get(SyncNode, 1)


def outbox_head() -> int:
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Outbox.seq), 0)))


def hello_body() -> dict:
    node = ward_identity()
    return {"ward_code": node.ward_code, "db_instance_id": node.db_instance_id,
            "protocol_version": PROTOCOL_VERSION, "schema_version": WIRE_SCHEMA_VERSION,
            "app_version": package_version("longxuyen-onestop"),
            "outbox_head_seq": outbox_head(), "local_acked_seq": sync_state().acked_seq,
            "ward_utc": utcnow().isoformat()}


def next_batch(after_seq: int, limit: int = LEGACY_BATCH_RECORDS, *,
               placeholders: bool = False) -> dict | None:
    """The next contiguous batch after ``after_seq`` as one JSON-ready dict (see
    :func:`make_batch`)."""
    made = make_batch(after_seq, limit, placeholders=placeholders)
    return made and {**made[0], "records": json.loads(made[1])}


def make_batch(after_seq: int, limit: int, *,
               placeholders: bool = False) -> tuple[dict, str] | None:
    """The next contiguous batch after ``after_seq`` (at most ``limit`` records and about 1 MB
    gzipped): its envelope, and the canonical JSON of its records made straight from the stored
    payloads, which are canonical already (nothing is decoded and encoded again).

    With ``placeholders`` (a hub that reads them), a version that a later row of this batch
    supersedes goes without its data (see :mod:`.protocol`): the hub would only count it stale.
    The batch is cut first, so whether a row is superseded depends on this batch alone.
    """
    rows = db.session.execute(
        sa.select(Outbox.seq, Outbox.table_name, Outbox.record_uuid, Outbox.op,
                  Outbox.record_version, Outbox.payload)
        .where(Outbox.seq > after_seq).order_by(Outbox.seq).limit(limit)).all()
    raw_bytes, count = 0, 0
    for row in rows:
        raw_bytes += len(row.payload)
        if count and raw_bytes > 4 * MAX_BATCH_BYTES:  # JSON of records gzips about 4–8×
            break
        count += 1
    if not count:
        return None
    rows = rows[:count]
    dropped = superseded([((r.table_name, r.record_uuid), r.record_version, True) for r in rows]) \
        if placeholders else [False] * count
    text = "[" + ",".join(
        record_text(None if drop else canonical_payload(row.payload), row.op, row.seq,
                    row.table_name, row.record_uuid, row.record_version)
        for row, drop in zip(rows, dropped)) + "]"
    node = ward_identity()
    return {"ward_code": node.ward_code, "db_instance_id": node.db_instance_id,
            "protocol_version": PLACEHOLDER_PROTOCOL if placeholders else PROTOCOL_VERSION,
            "schema_version": WIRE_SCHEMA_VERSION,
            "first_seq": rows[0].seq, "last_seq": rows[-1].seq, "count": count,
            "sha256": hashlib.sha256(text.encode()).hexdigest()}, text


def holds_record_at(seq: int, digest: str | None) -> bool:
    """Whether this outbox holds, at ``seq``, the very record whose digest the hub holds there
    (the test of a shared history after a restore)."""
    payload = db.session.scalar(sa.select(Outbox.payload).where(Outbox.seq == seq))
    return payload is not None and \
        hashlib.sha256(canonical_payload(payload).encode()).hexdigest() == digest


def record_acknowledgement(answer: dict, first_seq: int, last_seq: int) -> dict:
    """Move the checkpoint for a verified answer, in one local transaction; returns the summary."""
    summary = check_summary(answer, first_seq, last_seq)
    fault("ward.after_response_before_local_commit")
    now = utcnow()
    with write_transaction():
        state = sync_state()
        if last_seq <= state.acked_seq:  # an old answer (a USB summary carried back late)
            return summary
        # Only the rows past the old checkpoint: a range scan of this batch, not of the
        # ward's whole history.
        db.session.execute(sa.update(Outbox).where(Outbox.seq > state.acked_seq,
                                                   Outbox.seq <= last_seq,
                                                   Outbox.acked_at_utc.is_(None))
                           .values(acked_at_utc=now))
        state.acked_seq = last_seq
        state.last_push_ok_utc = now
        state.last_summary = {"first_seq": first_seq, "last_seq": last_seq, **summary}
        for reject in answer.get("rejects", []):
            db.session.add(SyncReject(
                seq=int(reject.get("seq") or 0), table_name=str(reject.get("table"))[:40],
                record_uuid=str(reject.get("uuid"))[:36],
                record_version=int(reject.get("version") or 0),
                code=str(reject.get("code"))[:40], message=str(reject.get("message"))))
    return summary


def set_acked(seq: int) -> None:
    """Take the hub's word for where the checkpoint stands (hello, GAP, rekey)."""
    with write_transaction():
        state = sync_state()
        if seq > state.acked_seq:
            db.session.execute(sa.update(Outbox).where(Outbox.seq > state.acked_seq,
                                                       Outbox.seq <= seq,
                                                       Outbox.acked_at_utc.is_(None))
                               .values(acked_at_utc=utcnow()))
        state.acked_seq = seq


def apply_refdata(document: dict) -> int:
    """Verify a snapshot from the hub and make it this ward's reference data, all or nothing."""
    snapshot, version = document.get("snapshot"), document.get("version")
    if not isinstance(snapshot, dict) or not isinstance(version, int) or \
            hashlib.sha256(canonical_json(snapshot)).hexdigest() != document.get("sha256"):
        raise SyncFailed(EXIT_FAILED, "BAD_REFDATA", "Dữ liệu danh mục tải về bị hỏng.")
    try:
        with write_transaction():
            apply_snapshot(snapshot)
            state = sync_state()
            state.refdata_version = version
            state.last_pull_ok_utc = utcnow()
    except ReferenceDataError as e:
        raise SyncFailed(EXIT_FAILED, "BAD_REFDATA", f"Danh mục không hợp lệ: {e}") from None
    return version


def accepts_placeholders(accept_protocol) -> bool:
    """Whether a hub's protocol window, as it says at hello, takes batches with superseded
    placeholders; a hub that says nothing (or nonsense) gets full records."""
    return isinstance(accept_protocol, list) and len(accept_protocol) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) for v in accept_protocol) and \
        accept_protocol[0] <= PLACEHOLDER_PROTOCOL <= accept_protocol[1]


class SyncRun:
    """One run of ``wardapp sync``: hello, push until caught up or out of time, then pull.

    :param time_budget: seconds after which no new batch is started (the run ends partial).
    :param progress: called with (records acknowledged so far, records waiting at the start).
    """

    def __init__(self, client: HubClient, *, time_budget: float = 600,
                 progress: Callable[[int, int], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.client, self.time_budget, self.progress, self.clock = \
            client, time_budget, progress, clock
        self.pushed = 0
        self.batch_records = LEGACY_BATCH_RECORDS  # until the hub says it takes more
        self.placeholders = False  # until the hub says at hello that it reads them
        self.run_id = uuid.uuid4().hex[:12]

    def log(self, level: int, event: str, **fields) -> None:
        """One structured log line (JSON, with this run's id); quiet unless INFO is enabled."""
        log.log(level, json.dumps({"run_id": self.run_id, "event": event, **fields},
                                  ensure_ascii=False, default=str))

    def run(self) -> int:
        started = self.clock()
        try:
            with write_transaction():
                sync_state().last_attempt_utc = utcnow()
            hello = self.hello()
            caught_up = self.push_all(started)
            self.pull(hello.get("refdata_version", 0))
        except SyncFailed as e:
            self.record_failure(e)
            return e.exit_code
        except sa.exc.OperationalError as e:  # the ward's own database: disk full, locked
            db.session.rollback()
            full = "full" in str(e.orig)
            self.record_failure(SyncFailed(EXIT_FAILED, "LOCAL_DB_ERROR", (
                "Ổ đĩa của máy phường đã đầy: giải phóng dung lượng rồi đồng bộ lại."
                if full else f"Lỗi cơ sở dữ liệu của phường: {e.orig}")))
            return EXIT_FAILED
        self.record_success()
        return EXIT_OK if caught_up else EXIT_PARTIAL

    def hello(self) -> dict:
        answer = self.client.answer(self.client.call("POST", "hello", json=hello_body()))
        hub_acked = answer.get("hub_acked_seq")
        if not isinstance(hub_acked, int) or hub_acked < 0:
            raise SyncFailed(EXIT_FAILED, "BAD_ANSWER", "Máy chủ trả lời thiếu số thứ tự đã nhận.")
        self.check_same_history(hub_acked, answer.get("hub_acked_record_sha256"))
        if hub_acked != sync_state().acked_seq:
            self.log(logging.INFO, "checkpoint_healed", local=sync_state().acked_seq,
                     hub=hub_acked)
            set_acked(hub_acked)
        hub_max = answer.get("max_batch_records")
        if isinstance(hub_max, int) and not isinstance(hub_max, bool) and hub_max > 0:
            self.batch_records = min(BATCH_RECORDS, hub_max)
        self.placeholders = accepts_placeholders(answer.get("accept_protocol"))
        with write_transaction():
            sync_state().hub_warnings = answer.get("warnings") or []
        return answer

    @staticmethod
    def check_same_history(hub_acked: int, hub_digest) -> None:
        """Stop if this database holds another record where the hub's checkpoint stands: it was
        restored from a backup and wrote new records under numbers the hub already has."""
        if hub_acked and hub_digest and not holds_record_at(hub_acked, hub_digest):
            raise SyncFailed(EXIT_STOPPED, "NODE_REGRESSED", "Dữ liệu của phường khác với dữ "
                             "liệu thành phố đã nhận ở cùng số thứ tự (cơ sở dữ liệu đã được khôi "
                             "phục). Đồng bộ dừng lại; quản trị chạy quy trình cấp lại khóa.",
                             {"hub_acked_seq": hub_acked})

    def push_all(self, started: float) -> bool:
        waiting = outbox_head() - sync_state().acked_seq
        damaged = 0
        while (made := make_batch(sync_state().acked_seq, self.batch_records,
                                  placeholders=self.placeholders)) is not None:
            if self.clock() - started > self.time_budget:
                return False
            batch, body = made[0], encode(*made)
            response = self.client.call(
                "POST", "push", data=body, headers={
                    "Content-Type": "application/json", "Content-Encoding": "gzip",
                    "Idempotency-Key": f"{batch['ward_code']}:{batch['first_seq']}-"
                                       f"{batch['last_seq']}"})
            try:
                answer = self.client.answer(response)
            except SyncFailed as e:
                if e.code == "GAP" and isinstance(e.details.get("expected"), int):
                    self.log(logging.INFO, "gap", expected=e.details["expected"])
                    set_acked(e.details["expected"] - 1)  # the hub is authoritative: resend
                    continue
                if e.code == "BAD_PAYLOAD" and damaged < BAD_PAYLOAD_RETRIES:
                    damaged += 1  # truncated or corrupted on the way: send it again
                    self.log(logging.INFO, "resend_damaged", first_seq=batch["first_seq"])
                    continue
                raise
            try:
                summary = record_acknowledgement(answer, batch["first_seq"], batch["last_seq"])
            except ProtocolError as e:
                raise SyncFailed(EXIT_FAILED, e.code, e.message) from None
            self.log(logging.INFO, "pushed", first_seq=batch["first_seq"],
                     last_seq=batch["last_seq"], bytes=len(body), summary=summary)
            self.pushed += batch["count"]
            if self.progress:
                self.progress(self.pushed, waiting)
        return True

    def pull(self, hub_version: int) -> None:
        have = sync_state().refdata_version
        if hub_version and hub_version == have:
            with write_transaction():
                sync_state().last_pull_ok_utc = utcnow()
            return
        response = self.client.call("GET", "refdata", params={"have": have})
        if response.status_code == 304:
            with write_transaction():
                sync_state().last_pull_ok_utc = utcnow()
            return
        apply_refdata(self.client.answer(response))

    def record_failure(self, failure: SyncFailed) -> None:
        """Log the failure and note it for the panel; a database that cannot take even that
        (a disk with no byte left) leaves the log line as the only trace, never a traceback."""
        self.log(logging.WARNING, "failed", code=failure.code, message=failure.message)
        try:
            with write_transaction():
                state = sync_state()
                state.last_error, state.last_error_code = failure.message, failure.code
                state.consecutive_failures += 1
        except sa.exc.OperationalError as e:
            db.session.rollback()
            self.log(logging.ERROR, "failure_not_recorded", error=str(e.orig))

    def record_success(self) -> None:
        with write_transaction():
            state = sync_state()
            state.last_error = state.last_error_code = None
            state.consecutive_failures = 0


def local_reconcile() -> dict:
    """The ward's side of the reconcile checksums, per synced table."""
    tables = {}
    for name, model in SYNCED_MODELS.items():
        rows = db.session.execute(sa.select(model.uuid, model.version).order_by(model.uuid))
        tables[name] = reconcile_digest(rows)
    return tables


def waiting_records() -> tuple[int, dt.datetime | None]:
    """How many outbox rows the hub has not acknowledged, and when the oldest was written."""
    acked = sync_state().acked_seq
    count = db.session.scalar(sa.select(sa.func.count()).where(Outbox.seq > acked))
    oldest = db.session.scalar(sa.select(Outbox.created_utc).where(Outbox.seq > acked)
                               .order_by(Outbox.seq).limit(1))
    return count, oldest


def export_package(out_dir: Path, config: SyncConfig, *,
                   placeholders: bool = False) -> Path | None:
    """Write everything the hub has not acknowledged into a signed USB package (None if none).

    No hello comes before a package, so nothing says what the hub reads: ``placeholders`` is the
    admin's word that it is a hub of protocol 2 (a hub of 1 refuses such a package whole).
    """
    from .package import write_package
    from .protocol import package_key

    batches, after = [], sync_state().acked_seq
    while (made := make_batch(after, LEGACY_BATCH_RECORDS,
                              placeholders=placeholders)) is not None:
        batches.append(made)
        after = made[0]["last_seq"]
    if not batches:
        return None
    node = ward_identity()
    return write_package(out_dir, batches, ward_code=node.ward_code,
                         db_instance_id=node.db_instance_id, key=package_key(config.token))


def import_summary(raw: bytes | str, config: SyncConfig) -> tuple[int, dict | None]:
    """Apply a summary carried back from the hub (the file's bytes, or its text); returns the
    new checkpoint and any hub error."""
    from .package import read_summary
    from .protocol import package_key

    document = read_summary(raw, package_key(config.token))
    node = ward_identity()
    if document.get("ward_code") != node.ward_code or \
            document.get("db_instance_id") != node.db_instance_id:
        raise ProtocolError("WRONG_WARD", "Tệp tổng hợp không phải của cơ sở dữ liệu này.", 403)
    # The hub holding numbers this database never wrote means it went back (a backup put back)
    # since: moving the checkpoint would skip what it writes under them next, as hello refuses.
    hub_acked = document.get("hub_acked_seq") or 0
    held = max([hub_acked, *(item["last_seq"] for item in document["applied"])])
    if held > outbox_head():
        raise ProtocolError(
            "NODE_REGRESSED", f"Thành phố đã nhận đến số {held} nhưng cơ sở dữ liệu này chỉ có "
            f"đến số {outbox_head()} (đã khôi phục từ bản sao lưu cũ). Không dời mốc đồng bộ; "
            f"quản trị chạy `wardapp sync rekey --hub-acked {held}`.", 409)
    for item in document["applied"]:  # typed by read_summary
        record_acknowledgement(item["answer"], item["first_seq"], item["last_seq"])
    if sync_state().acked_seq < hub_acked:
        set_acked(hub_acked)  # as hello does: the hub's signed word on what it holds
    return sync_state().acked_seq, document.get("error")


def rekey(hub_acked_seq: int) -> int:
    """Recover a restored or cloned database: new identity, and every record sent again.

    Returns how many rows were queued (see :func:`queue_everything_again`).
    """
    with write_transaction():
        return queue_everything_again(hub_acked_seq)


def queue_everything_again(hub_acked_seq: int) -> int:
    """In the caller's write transaction: a new database instance id, outbox numbering that
    jumps past everything the hub has acknowledged, and a fresh outbox row for the current
    version of every record, so records written after the backup (whose sequence numbers the
    hub had already seen) arrive, and those the hub holds already come back ``unchanged``.
    """
    from kernel.columns import new_uuid
    from ..outbox import outbox_row

    now = utcnow()
    ward_identity().db_instance_id = new_uuid()
    head = max(outbox_head(), hub_acked_seq)
    db.session.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'outbox'"))
    db.session.execute(sa.text("INSERT INTO sqlite_sequence(name, seq) VALUES ('outbox', :n)"),
                       {"n": head})
    rows = [outbox_row(record, now) for model in SYNCED_MODELS.values()
            for record in db.session.scalars(
                sa.select(model).execution_options(populate_existing=True))]
    if rows:
        db.session.execute(sa.insert(Outbox), rows)
    state = sync_state()
    state.acked_seq = hub_acked_seq
    state.last_error = state.last_error_code = None
    return len(rows)
