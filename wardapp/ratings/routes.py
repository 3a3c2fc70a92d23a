"""The kiosk (no login; a page of its own that links nowhere else and shows no citizen's data)
and the paper-form entry for officials."""

from __future__ import annotations

import datetime as dt
import math
import threading

import segno
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from kernel.columns import utcnow
from kernel.errors import MESSAGES
from wardapp.dossiers.intake import DossierError

from ..auth import roles_required
from ..rating_codes import grouped
from .service import PAPER_ROLES, WRONG_CODE, clean_code, record_rating

kiosk_bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")
bp = Blueprint("ratings", __name__, url_prefix="/ratings")


class KioskLock:
    """Wrong rating codes typed at the kiosk, per address: too many within the window and that
    address may not try again until the oldest leaves it.

    No number of tries a lock lets through finds a rating code by guessing (see
    :mod:`wardapp.rating_codes`); the lock keeps a script from trying and a tablet from being
    used to try. Kept in memory: one process serves a ward, and a restart forgets only the count.
    """

    def __init__(self, limit: int = 10, window: dt.timedelta = dt.timedelta(minutes=15)):
        self.limit, self.window = limit, window
        self.failures: dict[str, list[dt.datetime]] = {}
        self.lock = threading.Lock()

    def _recent(self, address: str, now: dt.datetime) -> list[dt.datetime]:
        kept = [t for t in self.failures.pop(address, []) if now - t < self.window]
        if kept:
            self.failures[address] = kept
        return kept

    def wait(self, address: str, now: dt.datetime) -> dt.timedelta | None:
        """How long ``address`` must wait before it may type a code again, or None."""
        with self.lock:
            recent = self._recent(address, now)
            return recent[0] + self.window - now if len(recent) >= self.limit else None

    def failed(self, address: str, now: dt.datetime) -> None:
        with self.lock:
            self.failures[address] = [*self._recent(address, now), now]


def kiosk_url(code: str) -> str:
    """Where a tablet opens the kiosk for ``code``: under ``KIOSK_URL`` when set (the address the
    tablets reach the ward PC at), else under the address this request came in on."""
    base = current_app.config.get("KIOSK_URL")
    if base:
        return f"{base.rstrip('/')}/?code={code}"
    return url_for("kiosk.start", code=code, _external=True)


@bp.app_template_global()
def kiosk_qr(code: str) -> str:
    """A QR code of the kiosk address for a rating code, as a data URI drawn here (nothing
    fetched)."""
    return segno.make(kiosk_url(code), error="m").svg_data_uri(scale=2, border=2)


@bp.app_template_filter("rating_code")
def rating_code_filter(code: str) -> str:
    return grouped(code)


def render_kiosk(values: dict, errors: dict, message: str | None = None, status: int = 200):
    response = current_app.make_response(
        (
            render_template("ratings/kiosk.html", values=values, errors=errors, message=message),
            status,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@kiosk_bp.route("/")
def start():
    return render_kiosk({"code": clean_code(request.args.get("code"))}, {})


@kiosk_bp.route("/", methods=["POST"])
def rate():
    lock = current_app.extensions.setdefault("kiosk_lock", KioskLock())
    address, now = request.remote_addr or "?", utcnow()
    wait = lock.wait(address, now)
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        return render_kiosk(
            request.form.to_dict(),
            {},
            "Đã nhập sai mã đánh giá quá nhiều lần. "
            f"Vui lòng thử lại sau {minutes} phút hoặc nhờ cán bộ tại quầy hỗ "
            "trợ.",
            429,
        )
    try:
        record_rating(request.form, channel="kiosk")
    except DossierError as e:
        if e.code in WRONG_CODE:
            lock.failed(address, now)
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
    message = (
        "Phiên đánh giá đã hết hạn, vui lòng đánh giá lại."
        if isinstance(e, CSRFError)
        else MESSAGES.get(e.code or 500, "Lỗi.")
    )
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
        return render_template(
            "ratings/paper.html", values=request.form.to_dict(), errors=e.fields, message=e.message
        ), e.status

    flash("Đã ghi nhận phiếu đánh giá.", "success")
    return redirect(url_for("ratings.paper"))
