"""Login for city staff, and the role check of the hub's screens (viewer, admin)."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort
from flask_login import current_user, login_required

from wardapp.auth import add_login_views

from .extensions import db, login_manager
from .models import HubUser

bp = Blueprint("auth", __name__, url_prefix="/auth")


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


add_login_views(bp, db.session, HubUser, "reports.overview")
