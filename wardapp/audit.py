"""The ward's audit trail: one call per change that is not already a dossier event (the screen
that shows it is :mod:`wardapp.audit_trail`)."""

from __future__ import annotations

from kernel.login import current_actor

from .extensions import db
from .models import SyncNode
from .sync.records import AuditEntry

ACTIONS = {
    "user.add": "Thêm tài khoản",
    "user.disable": "Khóa tài khoản",
    "user.enable": "Mở khóa tài khoản",
    "user.change_password": "Tự đổi mật khẩu",
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


def audit(action: str, target: str, *, actor: str | None = None, **details) -> AuditEntry:
    """Record ``action`` on ``target`` in the caller's transaction (committed with the change).

    :param actor: who did it; by default the logged-in official, or the ward PC's command line.
    """
    node = db.session.get(SyncNode, 1)
    entry = AuditEntry(
        ward_code=node.ward_code,
        actor=actor or current_actor(),
        action=action,
        target=target[:200],
        details=details,
    )
    db.session.add(entry)
    return entry
