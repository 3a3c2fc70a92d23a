"""The accounts screen of the ward's admin (kernel.account_admin's, over this app's service)."""

from __future__ import annotations

from flask import Blueprint

from kernel.account_admin import add_account_views

from ..auth import roles_required
from ..extensions import db
from ..roles import ROLES
from ..sync.records import User
from . import service

bp = Blueprint("accounts", __name__, url_prefix="/accounts")
add_account_views(
    bp, roles_required("admin"), db.session, User, service, ROLES, multiple_roles=True
)
