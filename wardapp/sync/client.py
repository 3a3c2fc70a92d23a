"""The ward's side of sync over HTTP: hello, push the outbox in contiguous batches (cut by
:mod:`.outgoing`), pull reference data.

Only the ward initiates. The hub's acknowledged sequence is authoritative: a lost ack is healed at
hello, a hub restored from backup gets the retained outbox rows again, and a batch that arrives
out of order is refused (GAP) and resent from where the hub stands.
"""

from __future__ import annotations

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

from kernel.columns import utcnow
from kernel.refdata import ReferenceDataError

from ..database import write_transaction
from ..extensions import db
from ..refdata import apply_snapshot
from .outgoing import (
    holds_record_at,
    make_batch,
    outbox_head,
    record_acknowledgement,
    set_acked,
    sync_state,
    ward_identity,
)
from .protocol import (
    BATCH_RECORDS,
    LEGACY_BATCH_RECORDS,
    OUTCOMES,
    PLACEHOLDER_PROTOCOL,
    PROTOCOL_VERSION,
    WIRE_SCHEMA_VERSION,
    ProtocolError,
    canonical_json,
    encode,
)

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
    def load(cls, instance_path: str) -> SyncConfig | None:
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
        self.exit_code, self.code, self.message, self.details = (
            exit_code,
            code,
            message,
            details or {},
        )


class HubClient:
    """HTTP to the hub with timeouts and retries of transport faults only.

    A 401/403/409 is an answer, not a fault, and is never retried; a 5xx, a timeout or a refused
    connection is retried with exponential backoff and full jitter.
    """

    def __init__(
        self,
        config: SyncConfig,
        *,
        session: requests.Session | None = None,
        retries: int = 4,
        backoff: float = 0.5,
        timeout: float = 30,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.config = config
        self.http = session or requests.Session()
        self.retries, self.backoff, self.timeout, self.sleep = retries, backoff, timeout, sleep

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.config.token}", **kwargs.pop("headers", {})}
        url = f"{self.config.hub_url}/api/sync/v1/{path}"
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(
                    method,
                    url,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                    **kwargs,
                )
            except requests.RequestException as e:
                code, problem = (
                    "UNREACHABLE",
                    f"Không kết nối được máy chủ thành phố ({type(e).__name__}).",
                )
            else:
                if response.status_code < 500:
                    return response
                code, problem = "HUB_ERROR", f"Máy chủ thành phố lỗi {response.status_code}."
            if attempt == self.retries:
                raise SyncFailed(EXIT_FAILED, code, problem)
            self.sleep(random.uniform(0, min(8.0, self.backoff * 2**attempt)))
        raise AssertionError("unreachable")

    def answer(self, response: requests.Response) -> dict:
        """The JSON body of a hub answer, or :class:`SyncFailed` saying what went wrong."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "application/json" not in response.headers.get(
            "Content-Type", ""
        ):
            raise SyncFailed(
                EXIT_FAILED,
                "BAD_ANSWER",
                "Máy chủ trả lời không phải dữ liệu đồng "
                f"bộ (HTTP {response.status_code}); có thể mạng yêu cầu đăng nhập.",
            )
        if response.status_code == 200:
            return body
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        code, message = str(error.get("code", "HTTP")), str(error.get("message", ""))
        if response.status_code == 401:
            raise SyncFailed(EXIT_AUTH, code, message or "Khóa đồng bộ không hợp lệ.")
        if code in STOP_CODES or response.status_code == 403:
            raise SyncFailed(EXIT_STOPPED, code, message, error)
        raise SyncFailed(EXIT_FAILED, code, message or f"HTTP {response.status_code}", error)


def hello_body() -> dict:
    node = ward_identity()
    return {
        "ward_code": node.ward_code,
        "db_instance_id": node.db_instance_id,
        "protocol_version": PROTOCOL_VERSION,
        "schema_version": WIRE_SCHEMA_VERSION,
        "app_version": package_version("longxuyen-onestop"),
        "outbox_head_seq": outbox_head(),
        "local_acked_seq": sync_state().acked_seq,
        "ward_utc": utcnow().isoformat(),
    }


def apply_refdata(document: dict) -> int:
    """Verify a snapshot from the hub and make it this ward's reference data, all or nothing."""
    snapshot, version = document.get("snapshot"), document.get("version")
    if (
        not isinstance(snapshot, dict)
        or not isinstance(version, int)
        or hashlib.sha256(canonical_json(snapshot)).hexdigest() != document.get("sha256")
    ):
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
    return (
        isinstance(accept_protocol, list)
        and len(accept_protocol) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in accept_protocol)
        and accept_protocol[0] <= PLACEHOLDER_PROTOCOL <= accept_protocol[1]
    )


class SyncRun:
    """One run of ``wardapp sync``: hello, push until caught up or out of time, then pull.

    :param time_budget: seconds after which no new batch is started (the run ends partial).
    :param progress: called with (records acknowledged so far, records waiting at the start).
    :param phase: called with "hello", "push" and "pull" as the run reaches each, for a screen
        that shows where a run stands.

    After a run, ``pushed`` is how many records were sent, ``outcomes`` the hub's summaries of
    them added up (inserted, updated, …, conflicts) and ``refdata_received`` the version of a
    new catalogue taken, or None.
    """

    def __init__(
        self,
        client: HubClient,
        *,
        time_budget: float = 600,
        progress: Callable[[int, int], None] | None = None,
        phase: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.client, self.time_budget, self.progress, self.clock = (
            client,
            time_budget,
            progress,
            clock,
        )
        self.phase = phase or (lambda name: None)
        self.pushed = 0
        self.outcomes = dict.fromkeys(OUTCOMES, 0)
        self.refdata_received: int | None = None
        self.batch_records = LEGACY_BATCH_RECORDS  # until the hub says it takes more
        self.placeholders = False  # until the hub says at hello that it reads them
        self.run_id = uuid.uuid4().hex[:12]

    def log(self, level: int, event: str, **fields) -> None:
        """One structured log line (JSON, with this run's id); quiet unless INFO is enabled."""
        log.log(
            level,
            json.dumps(
                {"run_id": self.run_id, "event": event, **fields}, ensure_ascii=False, default=str
            ),
        )

    def run(self) -> int:
        started = self.clock()
        try:
            with write_transaction():
                sync_state().last_attempt_utc = utcnow()
            self.phase("hello")
            hello = self.hello()
            self.phase("push")
            caught_up = self.push_all(started)
            self.phase("pull")
            self.pull(hello.get("refdata_version", 0))
        except SyncFailed as e:
            self.record_failure(e)
            return e.exit_code
        except sa.exc.OperationalError as e:  # the ward's own database: disk full, locked
            db.session.rollback()
            full = "full" in str(e.orig)
            self.record_failure(
                SyncFailed(
                    EXIT_FAILED,
                    "LOCAL_DB_ERROR",
                    (
                        "Ổ đĩa của máy phường đã đầy: giải phóng dung lượng rồi đồng bộ lại."
                        if full
                        else f"Lỗi cơ sở dữ liệu của phường: {e.orig}"
                    ),
                )
            )
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
            self.log(logging.INFO, "checkpoint_healed", local=sync_state().acked_seq, hub=hub_acked)
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
            raise SyncFailed(
                EXIT_STOPPED,
                "NODE_REGRESSED",
                "Dữ liệu của phường khác với dữ "
                "liệu thành phố đã nhận ở cùng số thứ tự (cơ sở dữ liệu đã được khôi "
                "phục). Đồng bộ dừng lại; quản trị chạy quy trình cấp lại khóa.",
                {"hub_acked_seq": hub_acked},
            )

    def push_all(self, started: float) -> bool:
        waiting = outbox_head() - sync_state().acked_seq
        damaged = 0
        while (
            made := make_batch(
                sync_state().acked_seq, self.batch_records, placeholders=self.placeholders
            )
        ) is not None:
            if self.clock() - started > self.time_budget:
                return False
            batch, body = made[0], encode(*made)
            response = self.client.call(
                "POST",
                "push",
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                    "Idempotency-Key": f"{batch['ward_code']}:{batch['first_seq']}-"
                    f"{batch['last_seq']}",
                },
            )
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
            self.log(
                logging.INFO,
                "pushed",
                first_seq=batch["first_seq"],
                last_seq=batch["last_seq"],
                bytes=len(body),
                summary=summary,
            )
            self.pushed += batch["count"]
            for outcome in OUTCOMES:
                self.outcomes[outcome] += summary[outcome]
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
        self.refdata_received = apply_refdata(self.client.answer(response))

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
