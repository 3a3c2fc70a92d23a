"""Login for city staff, and the role check of the hub's screens (viewer, admin)."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort
from flask_login import current_user, login_required

from kernel.accounts import account_for_session
from kernel.login import add_login_views
from kernel.passwords import add_password_views

from .extensions import db, login_manager
from .models import HubLoginFailure, HubUser, hub_audit

bp = Blueprint("auth", __name__, url_prefix="/auth")


@login_manager.user_loader
def load_user(session_key: str) -> HubUser | None:
    return account_for_session(db.session, HubUser, session_key)


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return wrapped


add_login_views(bp, db.session, HubUser, HubLoginFailure, "reports.overview", hub_audit)
add_password_views(bp, db.session, "reports.overview", hub_audit)
