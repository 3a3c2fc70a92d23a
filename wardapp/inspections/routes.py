"""The self-inspection screens: the list of plans and versions, and one checklist."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from wardapp.dossiers.intake import DossierError
from wardapp.sync.records import Inspection

from ..auth import roles_required
from ..extensions import db
from .service import (
    EDIT_ROLES,
    SIGN_ROLES,
    correct_inspection,
    save_inspection,
    start_inspection,
    submit_inspection,
)

bp = Blueprint("inspections", __name__, url_prefix="/inspections")


@bp.route("/")
@roles_required(*EDIT_ROLES)
def index(error: str | None = None, status: int = 200):
    inspections = db.session.scalars(
        sa.select(Inspection).order_by(Inspection.plan.desc(), Inspection.revision.desc())
    )
    return render_template(
        "inspections/index.html", inspections=list(inspections), error=error
    ), status


@bp.route("/", methods=["POST"])
@roles_required(*EDIT_ROLES)
def create():
    try:
        inspection = start_inspection(request.form.get("plan"), actor=current_user)
    except DossierError as e:
        return index(e.message, e.status)
    return redirect(url_for("inspections.show", uuid=inspection.uuid))


def get_inspection_or_404(uuid: str) -> Inspection:
    inspection = db.session.get(Inspection, uuid)
    if inspection is None:
        abort(404)
    return inspection


def render_inspection(
    inspection: Inspection,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    error: str | None = None,
    status: int = 200,
):
    items = (
        values
        if values is not None
        else {
            **{f"finding_{c}": v.get("finding", "") for c, v in inspection.items.items()},
            **{f"rating_{c}": v.get("rating", "") for c, v in inspection.items.items()},
        }
    )
    return render_template(
        "inspections/show.html",
        inspection=inspection,
        values=items,
        errors=errors or {},
        error=error,
        can_sign=current_user.has_any_role(*SIGN_ROLES),
    ), status


@bp.route("/<uuid>")
@roles_required(*EDIT_ROLES)
def show(uuid: str):
    return render_inspection(get_inspection_or_404(uuid))


@bp.route("/<uuid>", methods=["POST"])
@roles_required(*EDIT_ROLES)
def save(uuid: str):
    """Save the draft, or (the leader's button) sign off and submit it."""
    submit = request.form.get("action") == "submit"
    version = request.form.get("version", type=int)
    try:
        if submit:
            if not current_user.has_any_role(*SIGN_ROLES):
                abort(403)
            submit_inspection(uuid, request.form, actor=current_user, expected_version=version)
        else:
            save_inspection(uuid, request.form, actor=current_user, expected_version=version)
    except DossierError as e:
        return render_inspection(
            get_inspection_or_404(uuid),
            values=request.form.to_dict(),
            errors=e.fields,
            error=e.message,
            status=e.status,
        )

    flash("Đã ký duyệt và nộp bản tự kiểm tra." if submit else "Đã lưu bản nháp.", "success")
    return redirect(url_for("inspections.show", uuid=uuid))


@bp.route("/<uuid>/correct", methods=["POST"])
@roles_required(*EDIT_ROLES)
def correct(uuid: str):
    try:
        inspection = correct_inspection(uuid, actor=current_user)
    except DossierError as e:
        return render_inspection(get_inspection_or_404(uuid), error=e.message, status=e.status)
    flash(f"Đã tạo bản điều chỉnh (phiên bản {inspection.revision}).", "success")
    return redirect(url_for("inspections.show", uuid=inspection.uuid))
