"""Citizens' satisfaction ratings: the kiosk at the desk (no login, this ward's dossiers only)
and the paper survey forms an official keys in."""
from flask import Blueprint

kiosk_bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")
bp = Blueprint("ratings", __name__, url_prefix="/ratings")

from . import routes  # noqa: E402,F401
