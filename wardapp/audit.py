"""The ward's audit trail: one call per change that is not already a dossier event, and the
screen where the leader and the admin read it."""
from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Blueprint, render_template
from flask_login import current_user

from .auth import roles_required
from .extensions import db
from .models import AuditEntry, DossierEvent, SyncNode

ACTIONS = {
    "user.add": "Thêm tài khoản",
    "user.disable": "Khóa tài khoản",
    "user.reset_password": "Đặt lại mật khẩu",
    "user.set_roles": "Đổi vai trò",
    "user.logout_everywhere": "Đăng xuất mọi máy",
    "token.create": "Tạo mã truy cập API",
    "token.revoke": "Thu hồi mã truy cập API",
    "sync.configure": "Cấu hình đồng bộ",
    "sync.rekey": "Cấp lại mã cơ sở dữ liệu (đồng bộ)",
    "ward.init": "Khởi tạo phường, xã",
    "ward.provision": "Dựng lại máy mới từ máy chủ thành phố",
    "ward.restore": "Khôi phục từ bản sao lưu",
}


def current_actor() -> str:
    """Who is acting: the logged-in account, or the admin at the PC's command line."""
    if current_user and current_user.is_authenticated:
        return current_user.username
    return "dòng lệnh quản trị"


def audit(action: str, target: str, *, actor: str | None = None, **details) -> AuditEntry:
    """Record ``action`` on ``target`` in the caller's transaction (committed with the change).

    :param actor: who did it; by default the logged-in official, or the ward PC's command line.
    """
    node = db.session.get(SyncNode, 1)
    entry = AuditEntry(ward_code=node.ward_code, actor=actor or current_actor(), action=action,
                       target=target[:200], details=details)
    db.session.add(entry)
    return entry


bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/")
@roles_required("leader", "admin")
def trail():
    """The newest changes: accounts, tokens and settings, then the dossier steps and who took
    them (those are the dossiers' own events)."""
    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.at.desc()).limit(200))
    events = db.session.scalars(sa.select(DossierEvent).order_by(DossierEvent.at.desc())
                                .options(so.joinedload(DossierEvent.actor),
                                         so.joinedload(DossierEvent.dossier)).limit(200))
    return render_template("audit.html", entries=list(entries), events=list(events),
                           actions=ACTIONS)
