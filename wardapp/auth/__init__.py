"""Login and logout for ward officials, and the role check every desk route uses."""
from __future__ import annotations

import datetime as dt
import threading
from functools import wraps

import sqlalchemy as sa
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask import session as flask_session
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db, login_manager
from ..models import User, account_for_session
from ..text import nfc

bp = Blueprint("auth", __name__, url_prefix="/auth")


@login_manager.user_loader
def load_user(session_key: str) -> User | None:
    return account_for_session(db.session, User, session_key)


def roles_required(*roles: str):
    """Let a logged-in user through only if they hold one of ``roles``."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_any_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


class LoginThrottle:
    """Failed logins per account and per address; too many within the window lock that key.

    Checked before the password is, so guessing costs the guesser time, not the desk PC its
    memory (each password check is a 32 MiB scrypt). Kept in memory: one process serves a ward.
    """

    def __init__(self, max_per_account: int = 5, max_per_address: int = 20,
                 window: dt.timedelta = dt.timedelta(minutes=15)):
        self.limits = {"account": max_per_account, "address": max_per_address}
        self.window = window
        self.failures: dict[tuple[str, str], list[dt.datetime]] = {}
        self.lock = threading.Lock()

    def _recent(self, key, now):
        kept = [t for t in self.failures.get(key, []) if now - t < self.window]
        self.failures[key] = kept
        return kept

    def wait(self, username: str, address: str, now: dt.datetime) -> dt.timedelta | None:
        """How long these credentials must wait, or None if they may try."""
        with self.lock:
            waits = []
            for kind, value in (("account", username), ("address", address)):
                recent = self._recent((kind, value), now)
                if len(recent) >= self.limits[kind]:
                    waits.append(recent[0] + self.window - now)
            return max(waits) if waits else None

    def failed(self, username: str, address: str, now: dt.datetime) -> None:
        with self.lock:
            for key in (("account", username), ("address", address)):
                self._recent(key, now).append(now)

    def succeeded(self, username: str) -> None:
        with self.lock:
            self.failures.pop(("account", username), None)


def add_login_views(blueprint: Blueprint, session, model, home_endpoint: str,
                    on_logout_everywhere=None) -> None:
    """Register ``login`` and ``logout`` on ``blueprint`` for accounts of ``model``.

    The ward (officials) and the hub (city staff) log in the same way, so one function serves
    both: a wrong name and a wrong password get the same answer, and ``next`` may only be a path
    of this site, so the form cannot bounce anyone to another one.
    """

    @blueprint.route("/login", methods=["GET", "POST"])
    def login():
        if current_user.is_authenticated:
            return redirect(url_for(home_endpoint))
        error, status = None, 200
        if request.method == "POST":
            throttle = current_app.extensions.setdefault("login_throttle", LoginThrottle())
            username = nfc(request.form.get("username", "")).casefold()[:64]
            address, now = request.remote_addr or "?", dt.datetime.now(dt.timezone.utc)
            wait = throttle.wait(username, address, now)
            if wait is not None:
                minutes = max(1, round(wait.total_seconds() / 60))
                error, status = (f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} "
                                 "phút hoặc nhờ quản trị đặt lại mật khẩu."), 429
            else:
                user = session.scalar(sa.select(model).where(model.username == username))
                if user is None or not user.active or \
                        not user.check_password(request.form.get("password", "")):
                    throttle.failed(username, address, now)
                    error, status = "Tên đăng nhập hoặc mật khẩu không đúng.", 401
                else:
                    throttle.succeeded(username)
                    login_user(user)
                    flask_session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME idle
                    target = request.args.get("next") or ""
                    if not (target.startswith("/") and not target.startswith("//")):
                        target = url_for(home_endpoint)
                    return redirect(target)
        return render_template("auth/login.html", error=error), status

    @blueprint.route("/logout", methods=["POST"])
    def logout():
        logout_user()
        flash("Đã đăng xuất.", "info")
        return redirect(url_for(f"{blueprint.name}.login"))

    @blueprint.route("/logout-everywhere", methods=["POST"])
    @login_required
    def logout_everywhere():
        """End every session of this account, on every PC (a lost or shared computer)."""
        user = current_user._get_current_object()  # loaded from ``session`` by the user loader
        user.session_epoch = (user.session_epoch or 0) + 1
        if on_logout_everywhere:
            on_logout_everywhere(user)
        session.commit()
        logout_user()
        flash("Đã đăng xuất khỏi mọi máy.", "info")
        return redirect(url_for(f"{blueprint.name}.login"))


def _audit_logout_everywhere(user: User) -> None:
    from ..audit import audit

    audit("user.logout_everywhere", user.username)


add_login_views(bp, db.session, User, "dossiers.home", _audit_logout_everywhere)
