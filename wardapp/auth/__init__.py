"""Login and logout for ward officials, and the role check every desk route uses."""
from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db, login_manager
from ..models import User
from ..text import nfc

bp = Blueprint("auth", __name__, url_prefix="/auth")


@login_manager.user_loader
def load_user(user_uuid: str) -> User | None:
    user = db.session.get(User, user_uuid)
    return user if user is not None and user.active else None


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


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot bounce a user to another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("dossiers.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dossiers.home"))
    error = None
    if request.method == "POST":
        username = nfc(request.form.get("username", "")).casefold()
        password = request.form.get("password", "")
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None or not user.active or not user.check_password(password):
            error = "Tên đăng nhập hoặc mật khẩu không đúng."
        else:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", error=error), 401 if error else 200


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash("Đã đăng xuất.", "info")
    return redirect(url_for("auth.login"))
