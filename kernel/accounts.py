"""The account core both apps share: password hashing, session ids that a logout ends everywhere,
the login manager's loader and the failed-login table's columns; the password rule is
:mod:`.password_rule`'s.

The ward's officials (:class:`wardapp.sync.records.User`) and the city's staff (the hub's
``HubUser``) are separate tables with the same behaviour, which lives here once.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from .columns import UTCDateTime

# scrypt takes 32 MiB per hash: one at a time keeps a burst of logins within the ward PC's
# memory budget (five at once reached 234 MB) at the cost of a short queue.
_HASHING = threading.Lock()


def session_id(key, epoch: int) -> str:
    """The id a login session carries: the account and its session epoch."""
    return f"{key}:{epoch}"


def account_for_session(session, model, session_key: str):
    """The active account a session id names, if its epoch is still current.

    The login manager's loader for both apps: asked on every request, from the database, so a
    logout, a new password, a change of roles or a lock ends a session at its next request."""
    key, _, epoch = session_key.rpartition(":")
    column = model.__mapper__.primary_key[0]
    try:
        account = session.get(model, column.type.python_type(key))
    except (TypeError, ValueError):
        return None
    if account is None or not account.active or str(account.session_epoch) != epoch:
        return None
    return account


class AccountMixin(UserMixin):
    """What an account model (with ``active``, ``password_hash`` and ``session_epoch`` columns)
    does: log in only while active, check its password, end all its sessions at once."""

    if TYPE_CHECKING:  # the columns each account model declares
        active: bool
        password_hash: str
        session_epoch: int
        must_change_password: bool

    @property
    def is_active(self) -> bool:
        return self.active

    def end_sessions(self) -> None:
        """End every session of this account at once, on every PC: each carries the epoch in its
        id (:func:`session_id`), and :func:`account_for_session` checks it on every request.

        Called on logout, a new password, a change of roles and a lock, so a session cookie
        copied before any of them opens nothing after."""
        self.session_epoch = (self.session_epoch or 0) + 1

    def set_password(self, password: str) -> None:
        with _HASHING:
            self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        with _HASHING:
            return check_password_hash(self.password_hash, password)

    def give_password(self, password: str | None = None) -> str | None:
        """Set the password an admin gives: ``password`` as typed at the command line, or, when
        None, a temporary one (returned, to be shown once) that the account must replace at its
        next login (:mod:`kernel.passwords` sends it to the change screen until it does)."""
        temporary = None
        if password is None:
            password = temporary = temporary_password()
        self.set_password(password)
        self.must_change_password = temporary is not None
        return temporary

    def change_password(self, password: str) -> None:
        """The owner's own new password: it ends the forced change and every session."""
        self.set_password(password)
        self.must_change_password = False


class LoginFailureColumns:
    """A failed login against one key: the account name tried, or the address it came from.

    Kept in the database, not in memory, so that a lock holds across a restart of the server and
    for every process and thread serving it. The ward's and the hub's tables share these columns;
    rows older than the throttle's window are pruned (:class:`kernel.login.LoginThrottle`).
    """

    __tablename__ = "login_failure"
    id: so.Mapped[int] = so.mapped_column(sa.Integer, primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(10))  # account | address
    name: so.Mapped[str] = so.mapped_column(sa.String(64))
    at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, index=True)  # for pruning

    @so.declared_attr.directive
    def __table_args__(cls):
        # the throttle's one question: the newest failures of a key within the window
        return (sa.Index("ix_login_failure_key_at", "kind", "name", "at"),)


# Letters and digits nobody misreads when copying from the admin's screen (no 0/o, 1/l/i).
_TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def temporary_password() -> str:
    """A one-time password an admin reads to the account's owner: three groups of four (about
    59 bits of chance), longer than the rule asks."""
    return "-".join(
        "".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(4)) for _ in range(3)
    )
