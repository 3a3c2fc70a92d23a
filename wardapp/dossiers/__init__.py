"""The desk: intake, dossier pages and steps, work lists, search and printouts."""
from flask import Blueprint

bp = Blueprint("dossiers", __name__)

from . import routes  # noqa: E402,F401
