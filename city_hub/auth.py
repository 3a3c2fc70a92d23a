"""Login for city staff, and the role check of the hub's screens (viewer, admin)."""
from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from wardapp.text import nfc

from .extensions import db, login_manager
from .models import HubUser

bp = Blueprint("auth", __name__, url_prefix="/auth")
ROLES = {"viewer": "Xem báo cáo", "admin": "Quản trị thành phố"}


@login_manager.user_loader
def load_user(user_id: str) -> HubUser | None:
    user = db.session.get(HubUser, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = nfc(request.form.get("username", "")).casefold()
        user = db.session.scalar(sa.select(HubUser).where(HubUser.username == username))
        if user is None or not user.active or \
                not user.check_password(request.form.get("password", "")):
            error = "Tên đăng nhập hoặc mật khẩu không đúng."
        else:
            login_user(user)
            target = request.args.get("next", "")
            if not (target.startswith("/") and not target.startswith("//")):
                target = url_for("reports.overview")
            return redirect(target)
    return render_template("auth/login.html", error=error), 401 if error else 200


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash("Đã đăng xuất.", "info")
    return redirect(url_for("auth.login"))
