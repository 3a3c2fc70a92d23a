"""The ward's sync panel: what waits, what last succeeded, what the hub refused, and how the
backups, the integrity check and the disks stand.

"Last successful" push and pull are shown, never the last attempt, so a failing link cannot look
healthy; the panel refreshes itself by htmx every 30 seconds. A leader or admin can start a run
from it ("Đồng bộ ngay", :mod:`.now`) and watch it end; and every page's footer says when the
last sync succeeded and how many records wait.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import login_required

from kernel.columns import utcnow
from kernel.formatting import vn_date_time, vn_number
from wardapp.sync.outgoing import at_a_glance, sync_state, waiting_records

from ..auth import roles_required
from ..backup import disk_warnings, read_state
from ..database import database_path
from ..extensions import db, htmx
from ..models import SyncReject
from . import now
from .client import SyncConfig

bp = Blueprint("sync", __name__, url_prefix="/sync")
PANEL_ROLES = ("admin", "leader")
BADGES = {
    "VERSION_UNSUPPORTED": (
        "upgrade",
        "Cần nâng cấp phần mềm: máy chủ thành phố không nhận "
        "phiên bản này. Hồ sơ vẫn được lưu và chờ gửi.",
    ),
    "NODE_REGRESSED": (
        "stopped",
        "Đã dừng: cơ sở dữ liệu đã được khôi phục hoặc sao chép. "
        "Quản trị chạy quy trình cấp lại khóa (wardapp sync rekey).",
    ),
    "SEQ_REUSED": (
        "stopped",
        "Đã dừng: số thứ tự bản ghi bị trùng với dữ liệu thành phố đã "
        "nhận. Quản trị chạy quy trình cấp lại khóa.",
    ),
    "WARD_MISMATCH": ("stopped", "Đã dừng: khóa đồng bộ thuộc đơn vị khác."),
    "UNAUTHORIZED": ("error", "Khóa đồng bộ không hợp lệ hoặc đã bị thu hồi."),
    "UNREACHABLE": ("offline", "Mất kết nối với máy chủ thành phố; hồ sơ chờ gửi lần sau."),
    "HUB_ERROR": ("error", "Máy chủ thành phố đang gặp lỗi; hồ sơ chờ gửi lần sau."),
    "LOCAL_DB_ERROR": (
        "error",
        "Lỗi cơ sở dữ liệu của máy phường (ổ đĩa đầy?); xem chi tiết bên dưới.",
    ),
}


@bp.app_context_processor
def footer() -> dict:
    """Every page's footer says how fresh the city's copy is (see :func:`sync_footer`)."""
    return {"sync_footer": sync_footer}


def sync_footer() -> str:
    """The footer's line, such as "Đồng bộ lần cuối: 04/12/2026 14:05 · Chờ gửi: 12 bản ghi",
    from one cheap query (:func:`.outgoing.at_a_glance`)."""
    last, waiting = at_a_glance()
    when = f"Đồng bộ lần cuối: {vn_date_time(last)}" if last else "Chưa đồng bộ lần nào"
    return f"{when} · Chờ gửi: {vn_number(waiting)} bản ghi"


def panel_context() -> dict:
    state = sync_state()
    waiting, oldest = waiting_records()
    if SyncConfig.load(current_app.instance_path) is None:
        badge = ("unconfigured", "Chưa cấu hình đồng bộ với máy chủ thành phố.")
    elif state.last_error_code:
        badge = BADGES.get(state.last_error_code, ("error", state.last_error or "Lỗi đồng bộ."))
    elif waiting:
        badge = ("pending", f"Còn {waiting} bản ghi chờ gửi.")
    else:
        badge = ("synced", "Đã đồng bộ đầy đủ.")
    rejects = db.session.scalars(sa.select(SyncReject).order_by(SyncReject.id.desc()).limit(50))
    return {
        "state": state,
        "waiting": waiting,
        "oldest": oldest,
        "badge": badge,
        "rejects": list(rejects),
        "now": utcnow(),
        "health": health(),
        **run_context(),
    }


def run_context(refusal: str | None = None) -> dict:
    """What the "Đồng bộ ngay" part of the panel shows: the run started from it, or why not."""
    run = now.current_run()
    failure = None
    if run is not None and run.phase == "failed":
        failure = BADGES.get(run.error_code or "", (None, run.message or now.UNEXPECTED))[1]
    return {"run": run, "refusal": refusal, "failure": failure}


BACKUP_OVERDUE = dt.timedelta(days=2)
CHECK_OVERDUE = dt.timedelta(days=8)


def _when(entry: dict | None) -> dt.datetime | None:
    value = (entry or {}).get("at_utc") or (entry or {}).get("taken_utc")
    return dt.datetime.fromisoformat(value) if value else None


def health() -> dict:
    """Backups, the last integrity check and free disk, with what the admin must do about them."""
    instance = current_app.instance_path
    state = read_state(instance)
    last, check = state.get("last_backup"), state.get("last_integrity_check")
    last_at, check_at, now = _when(last), _when(check), utcnow()
    warnings = disk_warnings(instance, database_path())
    if state.get("last_failure"):
        warnings.append(
            f"Lần sao lưu gần nhất không thành công: {state['last_failure']['message']}"
        )
    if last_at is None or now - last_at > BACKUP_OVERDUE:
        warnings.append(
            "Chưa sao lưu trong 2 ngày qua: chạy wardapp backup (nên lên lịch hằng ngày)."
        )
    if check and not check.get("ok"):
        warnings.append(
            "Kiểm tra toàn vẹn phát hiện lỗi: "
            + "; ".join(check.get("problems", []))
            + ". Khôi phục bản sao lưu gần nhất."
        )
    elif check_at is None or now - check_at > CHECK_OVERDUE:
        warnings.append("Chưa kiểm tra toàn vẹn cơ sở dữ liệu trong tuần qua: chạy wardapp check.")
    return {
        "backup": last,
        "backup_at": last_at,
        "backup_dir": state.get("backup_dir"),
        "check": check,
        "check_at": check_at,
        "warnings": warnings,
    }


@bp.route("/")
@roles_required(*PANEL_ROLES)
def panel():
    template = "sync/_panel.html" if htmx else "sync/panel.html"
    return render_template(template, **panel_context())


@bp.route("/run", methods=["POST"])
@roles_required(*PANEL_ROLES)
def run_now():
    """Start a run in the server's background, or say why not; the answer polls its progress."""
    refusal = now.start_run()
    if not htmx:
        if refusal:
            flash(refusal, "warning")
        return redirect(url_for("sync.panel"))
    return render_template("sync/_run.html", **run_context(refusal))


@bp.route("/run")
@roles_required(*PANEL_ROLES)
def run_status():
    """The run's progress, polled every second while it runs; its end refreshes the panel."""
    context = run_context()
    response = current_app.make_response(render_template("sync/_run.html", **context))
    if context["run"] is not None and not context["run"].running:
        response.headers["HX-Trigger"] = "sync-finished"
    return response


@bp.route("/footer")
@login_required
def footer_line():
    """The footer again, after a run started from the panel ends."""
    return render_template("sync/_footer.html")
