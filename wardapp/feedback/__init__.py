"""Feedback and petitions on administrative regulations (phản ánh, kiến nghị): the register,
assignment, answers, and the open and overdue lists."""
from flask import Blueprint

bp = Blueprint("feedback", __name__, url_prefix="/feedback")

from . import routes  # noqa: E402,F401
