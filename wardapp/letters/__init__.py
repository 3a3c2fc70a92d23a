"""Congratulation and condolence letters ("Thư chúc mừng, thư chia buồn"), offered when a birth,
marriage or death registration is resolved, printed on A5 and signed by the ward chairman."""
from flask import Blueprint

bp = Blueprint("letters", __name__)

from . import routes  # noqa: E402,F401
