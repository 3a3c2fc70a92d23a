""" "Đồng bộ ngay": a sync run started from the panel, in a thread of the ward's server, watched
by the panel while it runs.

The run holds the ward's one sync lock (:func:`.lock.sync_lock`) from the press to its end, so a
press while the scheduled run pushes is refused, and the scheduled run started during a press
skips its turn, as two scheduled runs do. What the run has reached lives in memory, one entry per
ward instance: the server is one process, and a run's progress matters only while someone looks.
"""

from __future__ import annotations

import dataclasses
import logging
import threading

from flask import Flask, current_app

from ..extensions import db
from .client import EXIT_OK, EXIT_PARTIAL, HubClient, SyncConfig, SyncRun
from .lock import sync_lock
from .outgoing import sync_state

log = logging.getLogger("wardapp.sync")

PHASES = {
    "starting": "Đang bắt đầu",
    "hello": "Đang kết nối máy chủ thành phố",
    "push": "Đang gửi hồ sơ",
    "pull": "Đang nhận danh mục",
    "done": "Đã đồng bộ xong",
    "partial": "Đã gửi một phần; phần còn lại gửi ở lượt sau",
    "failed": "Đồng bộ không thành công",
}
LOCK_HELD = "Đang có một lượt đồng bộ chạy theo lịch; thử lại sau ít phút."
UNCONFIGURED = "Chưa cấu hình đồng bộ với máy chủ thành phố; quản trị chạy wardapp sync configure."
UNEXPECTED = (
    "Đồng bộ gặp lỗi ngoài dự kiến; hồ sơ vẫn được lưu và chờ gửi. Báo quản trị xem nhật ký."
)
RETRIES = 2  # someone is watching: say the link is down after a few seconds, not half a minute


@dataclasses.dataclass
class RunNow:
    """Where a started run stands, as the panel shows it."""

    phase: str = "starting"
    sent: int = 0
    total: int = 0
    outcomes: dict | None = None
    refdata_received: int | None = None
    error_code: str | None = None
    message: str | None = None

    @property
    def running(self) -> bool:
        return self.phase not in ("done", "partial", "failed")

    @property
    def label(self) -> str:
        return PHASES[self.phase]


_runs: dict[str, RunNow] = {}
_guard = threading.Lock()


def current_run() -> RunNow | None:
    """The run last started from this ward's panel (running or finished), if any."""
    return _runs.get(current_app.instance_path)


def start_run() -> str | None:
    """Start a run in the background (or leave the one already running from the panel); None,
    or why not: another run holds the lock, or sync is not configured."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _guard:
        running = _runs.get(app.instance_path)
        if running is not None and running.running:
            return None
        config = SyncConfig.load(app.instance_path)
        if config is None:
            return UNCONFIGURED
        lock = sync_lock(app.instance_path)
        if not lock.__enter__():
            return LOCK_HELD
        run = _runs[app.instance_path] = RunNow()
    threading.Thread(
        target=_run, args=(app, config, lock, run), name="sync-now", daemon=True
    ).start()
    return None


def _run(app: Flask, config: SyncConfig, lock, state: RunNow) -> None:
    """The thread: one :class:`SyncRun`, its progress and outcome noted in ``state``; the lock
    is released however it ends."""

    def progress(sent: int, total: int) -> None:
        state.sent, state.total = sent, total

    def phase(name: str) -> None:
        state.phase = name

    try:
        with app.app_context():
            try:
                run = SyncRun(HubClient(config, retries=RETRIES), progress=progress, phase=phase)
                code = run.run()
                state.outcomes, state.refdata_received = run.outcomes, run.refdata_received
                if code in (EXIT_OK, EXIT_PARTIAL):
                    state.phase = "done" if code == EXIT_OK else "partial"
                else:
                    failure = sync_state()
                    state.error_code, state.message = failure.last_error_code, failure.last_error
                    state.phase = "failed"
            finally:
                db.session.remove()
    except Exception:  # never a trace on the screen; the log keeps it for the admin
        log.exception("sync started from the panel failed")
        state.message, state.phase = UNEXPECTED, "failed"
    finally:
        lock.__exit__(None, None, None)
