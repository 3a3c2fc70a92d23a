"""The kiosk (no login; a page of its own that links nowhere else and shows no citizen's data)
and the paper-form entry for officials."""
from __future__ import annotations

import segno
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..auth import roles_required
from ..dossiers.service import DossierError
from ..errors import MESSAGES
from . import bp, kiosk_bp
from .service import PAPER_ROLES, clean_code, record_rating


def kiosk_url(code: str) -> str:
    """Where a tablet opens the kiosk for ``code``: under ``KIOSK_URL`` when set (the address the
    tablets reach the ward PC at), else under the address this request came in on."""
    base = current_app.config.get("KIOSK_URL")
    if base:
        return f"{base.rstrip('/')}/?code={code}"
    return url_for("kiosk.start", code=code, _external=True)


@bp.app_template_global()
def kiosk_qr(code: str) -> str:
    """A QR code of the kiosk address for a dossier, as a data URI drawn here (nothing fetched)."""
    return segno.make(kiosk_url(code), error="m").svg_data_uri(scale=2, border=2)


def render_kiosk(values: dict, errors: dict, message: str | None = None, status: int = 200):
    response = current_app.make_response((render_template(
        "ratings/kiosk.html", values=values, errors=errors, message=message), status))
    response.headers["Cache-Control"] = "no-store"
    return response


@kiosk_bp.route("/")
def start():
    return render_kiosk({"code": clean_code(request.args.get("code"))}, {})


@kiosk_bp.route("/", methods=["POST"])
def rate():
    try:
        record_rating(request.form, channel="kiosk")
    except DossierError as e:
        return render_kiosk(request.form.to_dict(), e.fields, e.message, e.status)
    response = current_app.make_response(render_template("ratings/thanks.html"))
    response.headers["Cache-Control"] = "no-store"
    return response


@kiosk_bp.route("/<path:rest>", methods=["GET", "POST"])
def elsewhere(rest: str):
    """Any other address under the kiosk: its own "not found", so the tablet stays in the kiosk
    (an unmatched address would otherwise get the desk's error page)."""
    abort(404)


@kiosk_bp.errorhandler(CSRFError)
@kiosk_bp.errorhandler(HTTPException)
def kiosk_error(e: HTTPException):
    """Errors under the kiosk stay on the kiosk page: no way out to the desk's pages."""
    message = "Phiên đánh giá đã hết hạn, vui lòng đánh giá lại." if isinstance(e, CSRFError) \
        else MESSAGES.get(e.code or 500, "Lỗi.")
    return render_kiosk({}, {}, message, e.code or 500)


@bp.route("/paper", methods=["GET", "POST"])
@roles_required(*PAPER_ROLES)
def paper():
    """Key in a paper survey form's results."""
    if request.method == "GET":
        return render_template("ratings/paper.html", values={}, errors={}, message=None)
    try:
        record_rating(request.form, channel="paper", actor=current_user)
    except DossierError as e:
        return render_template("ratings/paper.html", values=request.form.to_dict(),
                               errors=e.fields, message=e.message), e.status
    flash("Đã ghi nhận phiếu đánh giá.", "success")
    return redirect(url_for("ratings.paper"))
