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


def add_login_views(blueprint: Blueprint, session, model, home_endpoint: str) -> None:
    """Register ``login`` and ``logout`` on ``blueprint`` for accounts of ``model``.

    The ward (officials) and the hub (city staff) log in the same way, so one function serves
    both: a wrong name and a wrong password get the same answer, and ``next`` may only be a path
    of this site, so the form cannot bounce anyone to another one.
    """

    @blueprint.route("/login", methods=["GET", "POST"])
    def login():
        if current_user.is_authenticated:
            return redirect(url_for(home_endpoint))
        error = None
        if request.method == "POST":
            username = nfc(request.form.get("username", "")).casefold()
            user = session.scalar(sa.select(model).where(model.username == username))
            if user is None or not user.active or \
                    not user.check_password(request.form.get("password", "")):
                error = "Tên đăng nhập hoặc mật khẩu không đúng."
            else:
                login_user(user)
                target = request.args.get("next") or ""
                if not (target.startswith("/") and not target.startswith("//")):
                    target = url_for(home_endpoint)
                return redirect(target)
        return render_template("auth/login.html", error=error), 401 if error else 200

    @blueprint.route("/logout", methods=["POST"])
    def logout():
        logout_user()
        flash("Đã đăng xuất.", "info")
        return redirect(url_for(f"{blueprint.name}.login"))


add_login_views(bp, db.session, User, "dossiers.home")
