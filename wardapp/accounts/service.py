"""The changes an admin makes to the ward's accounts, one function each, called by the accounts
screen (:func:`kernel.account_admin.add_account_views`) and by ``wardapp user``: each checks what
it is given, writes the account and its audit entry (and, through the session hook, the
account's outbox row) in one write transaction, and ends the account's sessions when what it
may do changes."""

from __future__ import annotations

import sqlalchemy as sa

from kernel.account_admin import AccountError, clean_identity, refuse_losing_admin
from kernel.database import write_transaction

from ..audit import audit
from ..extensions import db
from ..models import SyncNode
from ..roles import ROLES
from ..sync.records import User


def find_account(username: str) -> User:
    found = db.session.scalar(sa.select(User).where(User.username == username.casefold()))
    if found is None:
        raise AccountError(f"Không có tài khoản {username}.")
    return found


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


def disable(target: User, actor: User | None = None) -> None:
    """Lock an account (never deleted: the dossiers' history keeps its name)."""
    with write_transaction(db.session):
        db.session.refresh(target)
        if actor is target:
            raise AccountError("Không thể tự khóa tài khoản đang đăng nhập.")
        refuse_losing_admin(db.session, User, target, actor, "Không thể khóa {who}.")
        target.active = False
        target.end_sessions()
        audit("user.disable", target.username)


def enable(target: User) -> None:
    with write_transaction(db.session):
        db.session.refresh(target)
        target.active = True
        audit("user.enable", target.username)


def reset_password(target: User, password: str | None = None) -> str | None:
    """Give ``target`` a new password and unlock it: ``password`` as the admin typed it at the
    command line, or a temporary one (returned, shown once) it must change at the next login.
    Every session of the account ends."""
    with write_transaction(db.session):
        db.session.refresh(target)
        temporary = target.give_password(password)
        target.active = True
        audit("user.reset_password", target.username)
    return temporary
