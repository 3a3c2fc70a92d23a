"""Login and logout for ward officials, and the role check every desk route uses."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort
from flask_login import current_user, login_required

from kernel.accounts import account_for_session
from kernel.login import add_login_views
from kernel.passwords import add_password_views

from ..audit import audit
from ..extensions import db, login_manager
from ..models import LoginFailure
from ..sync.records import User

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


add_login_views(bp, db.session, User, LoginFailure, "dossiers.home", audit)
add_password_views(bp, db.session, "dossiers.home", audit)
