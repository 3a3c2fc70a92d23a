"""City staff accounts: one function per change an admin makes, called by the accounts screen
(:func:`kernel.account_admin.add_account_views`, in :mod:`city_hub.admin`) and by ``city-hub
user``. Each
checks what it is given, writes the account and its ``HubAudit`` entry in one transaction, and
ends the account's sessions when what it may do changes."""

from __future__ import annotations

import sqlalchemy as sa

from kernel.account_admin import (
    AccountChanges,
    AccountError,
    clean_identity,
    refuse_losing_admin,
)
from kernel.database import write_transaction

from .extensions import db
from .models import HubUser, hub_audit
from .roles import HUB_ROLES

_changes = AccountChanges(db, HubUser, hub_audit)
find_account, disable, enable = _changes.find, _changes.disable, _changes.enable
reset_password = _changes.reset_password


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
