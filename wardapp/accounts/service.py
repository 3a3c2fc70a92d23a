"""The changes an admin makes to the ward's accounts, one function each, called by the accounts
screen (:func:`kernel.account_admin.add_account_views`) and by ``wardapp user``: each checks what
it is given, writes the account and its audit entry (and, through the session hook, the
account's outbox row) in one write transaction, and ends the account's sessions when what it
may do changes."""

from __future__ import annotations

import sqlalchemy as sa

from kernel.account_admin import (
    AccountChanges,
    AccountError,
    clean_identity,
    refuse_losing_admin,
)
from kernel.database import write_transaction

from ..audit import audit
from ..extensions import db
from ..models import SyncNode
from ..roles import ROLES
from ..sync.records import User

_changes = AccountChanges(db, User, audit)
find_account, disable, enable = _changes.find, _changes.disable, _changes.enable
reset_password = _changes.reset_password


def _roles(roles) -> str:
    """The roles chosen, as the account stores them; one at least, each one of ``ROLES``."""
    chosen = set(roles)
    if not chosen or not chosen <= set(ROLES):
        raise AccountError("Cần chọn ít nhất một vai trò trong danh sách.")
    return " ".join(r for r in ROLES if r in chosen)


def add_account(
    username: str, full_name: str, roles, password: str | None = None
) -> tuple[User, str | None]:
    """A new account, and its temporary password when ``password`` is None (the screen: the
    admin reads it to the owner, who must replace it at the first login)."""
    username, full_name = clean_identity(username, full_name)
    joined = _roles(roles)
    with write_transaction(db.session):
        if db.session.scalar(sa.select(User).where(User.username == username)):
            raise AccountError(f"Đã có tài khoản {username}.")
        account = User(
            ward_code=db.session.get(SyncNode, 1).ward_code,
            username=username,
            full_name=full_name,
            roles=joined,
        )
        temporary = account.give_password(password)
        db.session.add(account)
        audit("user.add", account.username, roles=account.roles)
    return account, temporary


def set_roles(target: User, roles, actor: User | None = None) -> None:
    joined = _roles(roles)
    with write_transaction(db.session):
        db.session.refresh(target)
        if "admin" not in joined.split():
            refuse_losing_admin(
                db.session, User, target, actor, "Không thể bỏ vai trò quản trị của {who}."
            )
        before, target.roles = target.roles, joined
        target.end_sessions()
        audit("user.set_roles", target.username, before=before, roles=target.roles)
