"""The ward's sync panel: what waits, what last succeeded, what the hub refused.

"Last successful" push and pull are shown, never the last attempt, so a failing link cannot look
healthy; the panel refreshes itself by htmx every 30 seconds.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template

from ..auth import roles_required
from ..extensions import db, htmx
from ..models import SyncReject, utcnow
from .client import SyncConfig, sync_state, waiting_records

bp = Blueprint("sync", __name__, url_prefix="/sync")
PANEL_ROLES = ("admin", "leader")
BADGES = {
    "VERSION_UNSUPPORTED": ("upgrade", "Cần nâng cấp phần mềm: máy chủ thành phố không nhận "
                                       "phiên bản này. Hồ sơ vẫn được lưu và chờ gửi."),
    "NODE_REGRESSED": ("stopped", "Đã dừng: cơ sở dữ liệu đã được khôi phục hoặc sao chép. "
                                  "Quản trị chạy quy trình cấp lại khóa (wardapp sync rekey)."),
    "SEQ_REUSED": ("stopped", "Đã dừng: số thứ tự bản ghi bị trùng với dữ liệu thành phố đã "
                              "nhận. Quản trị chạy quy trình cấp lại khóa."),
    "WARD_MISMATCH": ("stopped", "Đã dừng: khóa đồng bộ thuộc đơn vị khác."),
    "UNAUTHORIZED": ("error", "Khóa đồng bộ không hợp lệ hoặc đã bị thu hồi."),
    "UNREACHABLE": ("offline", "Mất kết nối với máy chủ thành phố; hồ sơ chờ gửi lần sau."),
    "HUB_ERROR": ("error", "Máy chủ thành phố đang gặp lỗi; hồ sơ chờ gửi lần sau."),
    "LOCAL_DB_ERROR": ("error", "Lỗi cơ sở dữ liệu của máy phường (ổ đĩa đầy?); xem chi tiết "
                                "bên dưới."),
}


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
    return {"state": state, "waiting": waiting, "oldest": oldest, "badge": badge,
            "rejects": list(rejects), "now": utcnow()}


@bp.route("/")
@roles_required(*PANEL_ROLES)
def panel():
    template = "sync/_panel.html" if htmx else "sync/panel.html"
    return render_template(template, **panel_context())
