"""Error pages and JSON errors: a page for browsers, a fragment for htmx, JSON under /api."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .queryargs import QueryError

MESSAGES = {
    400: "Yêu cầu không hợp lệ.",
    401: "Cần đăng nhập hoặc mã truy cập hợp lệ.",
    403: "Bạn không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy trang hoặc hồ sơ yêu cầu.",
    405: "Phương thức không được hỗ trợ.",
    409: "Thao tác xung đột với trạng thái hiện tại.",
    413: "Dữ liệu gửi lên quá lớn.",
    422: "Dữ liệu không hợp lệ.",
    500: "Hệ thống gặp lỗi, thao tác chưa được ghi. Vui lòng thử lại hoặc báo quản trị.",
}
DISK_FULL = (
    "Ổ đĩa của máy đã đầy: thao tác chưa được ghi, dữ liệu cũ vẫn nguyên vẹn. "
    "Báo quản trị giải phóng chỗ trống rồi thử lại."
)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(
    status: int, message: str | None = None, *, code: str | None = None, fields: dict | None = None
):
    """One error in the form the caller expects; JSON is ``{"error": {code, message, fields}}``."""
    message = message or MESSAGES.get(status, "Lỗi.")
    if wants_json():
        body: dict[str, dict] = {"error": {"code": code or f"http_{status}", "message": message}}
        if fields:
            body["error"]["fields"] = fields
        return jsonify(body), status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask, session) -> None:
    """Register the handlers; ``session`` is the app's database session, rolled back on a 500."""

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return error_response(
            400,
            "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. "
            "Vui lòng tải lại trang và thử lại.",
            code="csrf",
        )

    @app.errorhandler(QueryError)
    def query_error(e: QueryError):
        return error_response(400, str(e), code="bad_query")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        return error_response(e.code or 500)

    @app.errorhandler(InternalServerError)
    def internal_error(e):
        session.rollback()
        if "database or disk is full" in str(getattr(e, "original_exception", "")):
            return error_response(507, DISK_FULL, code="disk_full")
        return error_response(500)
