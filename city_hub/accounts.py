"""City staff accounts: one function per change an admin makes, called by the accounts screen
(:func:`kernel.account_admin.add_account_views`, in :mod:`city_hub.admin`) and by ``city-hub
user``. Each
checks what it is given, writes the account and its ``HubAudit`` entry in one transaction, and
ends the account's sessions when what it may do changes."""

from __future__ import annotations

import sqlalchemy as sa

from kernel.account_admin import AccountError, clean_identity, refuse_losing_admin
from kernel.database import write_transaction

from .extensions import db
from .models import HubUser, hub_audit
from .roles import HUB_ROLES


def find_account(username: str) -> HubUser:
    found = db.session.scalar(sa.select(HubUser).where(HubUser.username == username.casefold()))
    if found is None:
        raise AccountError(f"Không có tài khoản {username}.")
    return found


def _role(roles) -> str:
    """The one role chosen (a city account holds exactly one)."""
    chosen = set(roles)
    if len(chosen) != 1 or not chosen <= set(HUB_ROLES):
        raise AccountError("Cần chọn một vai trò: xem báo cáo hoặc quản trị.")
    return chosen.pop()


def add_account(
    username: str, full_name: str, roles, password: str | None = None
) -> tuple[HubUser, str | None]:
    """A new account, and its temporary password when ``password`` is None (the screen)."""
    username, full_name = clean_identity(username, full_name)
    role = _role(roles)
    with write_transaction(db.session):
        if db.session.scalar(sa.select(HubUser).where(HubUser.username == username)):
            raise AccountError(f"Đã có tài khoản {username}.")
        account = HubUser(username=username, full_name=full_name, role=role)
        temporary = account.give_password(password)
        db.session.add(account)
        hub_audit("user.add", account.username, role=role)
    return account, temporary


def set_roles(target: HubUser, roles, actor: HubUser | None = None) -> None:
    role = _role(roles)
    with write_transaction(db.session):
        db.session.refresh(target)
        if role != "admin":
            refuse_losing_admin(
                db.session, HubUser, target, actor, "Không thể bỏ vai trò quản trị của {who}."
            )
        before, target.role = target.role, role
        target.end_sessions()
        hub_audit("user.set_role", target.username, before=before, role=role)


def disable(target: HubUser, actor: HubUser | None = None) -> None:
    with write_transaction(db.session):
        db.session.refresh(target)
        if actor is target:
            raise AccountError("Không thể tự khóa tài khoản đang đăng nhập.")
        refuse_losing_admin(db.session, HubUser, target, actor, "Không thể khóa {who}.")
        target.active = False
        target.end_sessions()
        hub_audit("user.disable", target.username)


def enable(target: HubUser) -> None:
    with write_transaction(db.session):
        db.session.refresh(target)
        target.active = True
        hub_audit("user.enable", target.username)


def reset_password(target: HubUser, password: str | None = None) -> str | None:
    """A new password, and the account unlocked: ``password`` as typed at the command line, or
    a temporary one (returned, shown once) to be changed at the next login."""
    with write_transaction(db.session):
        db.session.refresh(target)
        temporary = target.give_password(password)
        target.active = True
        hub_audit("user.reset_password", target.username)
    return temporary
