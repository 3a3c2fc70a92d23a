"""Logging in, the same way at the ward and at the hub: the login and logout views, the failed-login
throttle, the check of where ``next`` may send a browser, and who is acting."""

from __future__ import annotations

import datetime as dt
import unicodedata
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_login import current_user, login_user, logout_user

from .text import nfc


def current_actor() -> str:
    """Who is acting: the logged-in account, or the admin at the PC's command line."""
    if current_user and current_user.is_authenticated:
        return current_user.username
    return "dòng lệnh quản trị"


class LoginThrottle:
    """Failed logins per account and per address; too many within the window lock that key.

    Checked before the password is, so guessing costs the guesser time, not the desk PC its
    memory (each password check is a 32 MiB scrypt). Kept in the database (``model``, a table of
    :class:`~kernel.accounts.LoginFailureColumns`), not in memory: a lock holds across a restart
    of the server and for every process and thread serving the app.
    """

    def __init__(
        self,
        session,
        model,
        max_per_account: int = 5,
        max_per_address: int = 20,
        window: dt.timedelta = dt.timedelta(minutes=15),
    ):
        self.session, self.model = session, model
        self.limits = {"account": max_per_account, "address": max_per_address}
        self.window = window

    @staticmethod
    def _keys(username: str, address: str) -> tuple[tuple[str, str], ...]:
        return ("account", username[:64]), ("address", address[:64])

    def wait(self, username: str, address: str, now: dt.datetime) -> dt.timedelta | None:
        """How long these credentials must wait, or None if they may try."""
        failure, waits = self.model, []
        for kind, name in self._keys(username, address):
            # The key stays locked until its limit-th newest failure leaves the window; one
            # look-up in the (kind, name, at) index, whatever the number of failures.
            counted = self.session.scalar(
                sa.select(failure.at)
                .where(failure.kind == kind, failure.name == name, failure.at > now - self.window)
                .order_by(failure.at.desc())
                .offset(self.limits[kind] - 1)
                .limit(1)
            )
            if counted is not None:
                waits.append(counted + self.window - now)
        return max(waits) if waits else None

    def failed(self, username: str, address: str, now: dt.datetime) -> None:
        """Keep this failure (committed: the request itself fails) and forget the expired ones."""
        failure = self.model
        self.session.execute(
            sa.delete(failure).where(failure.at <= now - self.window),
            execution_options={"synchronize_session": False},
        )
        self.session.add_all(
            failure(kind=kind, name=name, at=now) for kind, name in self._keys(username, address)
        )
        self.session.commit()

    def succeeded(self, username: str) -> None:
        """The right password clears the account's count (not the address's: one good account
        does not license an address to go on guessing others)."""
        failure = self.model
        kind, name = self._keys(username, "")[0]
        self.session.execute(
            sa.delete(failure).where(failure.kind == kind, failure.name == name),
            execution_options={"synchronize_session": False},
        )
        self.session.commit()


def local_path(target: str | None) -> str | None:
    r"""``target`` if it is a path of this site, else None: where ``next`` may send a browser.

    Only a path with a single leading slash is followed. Browsers drop tabs and line breaks from
    an address and read a backslash as a slash, so ``/\t/evil.example`` or ``/\evil.example``
    would reach another site as ``//evil.example``; any whitespace, control or format character
    or backslash refuses the value, and so does anything ``urlsplit`` reads a scheme or a host
    in. A line break would also fail the Location header (a 500); refused here, it cannot.
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def add_login_views(
    blueprint: Blueprint, session, model, failure_model, home_endpoint: str, audit
) -> None:
    """Register ``login`` and ``logout`` on ``blueprint`` for accounts of ``model``.

    The ward (officials) and the hub (city staff) log in the same way, so one function serves
    both: a wrong name and a wrong password get the same answer, failures are counted in
    ``failure_model`` (:class:`LoginThrottle`), ``next`` may only be a path of this site
    (:func:`local_path`), and logging out ends every session of the account, on every PC, so a
    session cookie copied before cannot be replayed. ``audit(action, target)`` records the
    logout where the app records its account changes.
    """

    @blueprint.route("/login", methods=["GET", "POST"])
    def login():
        if current_user.is_authenticated:
            return redirect(url_for(home_endpoint))
        error, status = None, 200
        if request.method == "POST":
            throttle = LoginThrottle(session, failure_model)
            username = nfc(request.form.get("username", "")).casefold()[:64]
            address, now = request.remote_addr or "?", dt.datetime.now(dt.UTC)
            wait = throttle.wait(username, address, now)
            if wait is not None:
                minutes = max(1, round(wait.total_seconds() / 60))
                error, status = (
                    (
                        f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} "
                        "phút hoặc nhờ quản trị đặt lại mật khẩu."
                    ),
                    429,
                )
            else:
                user = session.scalar(sa.select(model).where(model.username == username))
                if (
                    user is None
                    or not user.active
                    or not user.check_password(request.form.get("password", ""))
                ):
                    throttle.failed(username, address, now)
                    error, status = "Tên đăng nhập hoặc mật khẩu không đúng.", 401
                else:
                    throttle.succeeded(username)
                    login_user(user)
                    flask_session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME idle
                    return redirect(local_path(request.args.get("next")) or url_for(home_endpoint))
        return render_template("auth/login.html", error=error), status

    @blueprint.route("/logout", methods=["POST"])
    def logout():
        """End every session of this account, on this PC and every other one (a lost or shared
        computer, a copied cookie): the sessions' ids carry the epoch this raises."""
        if current_user.is_authenticated:
            user = current_user._get_current_object()  # loaded from ``session`` by the loader
            user.end_sessions()
            audit("user.logout_everywhere", user.username)
            session.commit()
        logout_user()
        flash("Đã đăng xuất khỏi mọi máy.", "info")
        return redirect(url_for(f"{blueprint.name}.login"))

    # The address of the former "log out everywhere" button, for pages still open from before:
    # every logout is one now.
    blueprint.add_url_rule("/logout-everywhere", "logout_everywhere", logout, methods=["POST"])
