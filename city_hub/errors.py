"""Hub error pages: Vietnamese pages for people, JSON for the sync API."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from wardapp.errors import MESSAGES

from .extensions import db


def _respond(status: int, message: str | None = None):
    message = message or MESSAGES.get(status, "Lỗi.")
    if request.path.startswith("/api/"):
        return jsonify({"error": {"code": f"HTTP_{status}", "message": message}}), status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return _respond(400, "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. "
                             "Vui lòng tải lại trang.")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        return _respond(e.code or 500)

    @app.errorhandler(InternalServerError)
    def internal_error(e):
        db.session.rollback()
        return _respond(500)
