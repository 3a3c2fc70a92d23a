"""Inspection of public duty at the hub: which wards have submitted their self-inspection on the
13 contents (and how they rated themselves), and the results of the city's direct inspections,
which the admin records here."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from kernel.database import write_transaction
from kernel.text import nfc
from wardapp.sync.records import INSPECTION_CONTENTS, INSPECTION_RATINGS

from .auth import admin_required
from .extensions import db
from .models import RECORD_TABLES, CityInspection, Ward, hub_audit

bp = Blueprint("inspections", __name__, url_prefix="/inspections")
INSPECTION = RECORD_TABLES["inspection"]


def latest_submitted() -> dict[str, list]:
    """Per ward, the newest submitted version of each plan, newest plan first, with the number of
    contents rated at each level."""
    t = INSPECTION.c
    rows = db.session.execute(
        sa.select(t.ward_code, t.plan, t.revision, t.submitted_at, t["items"].label("checklist"))
        .where(t.status == "submitted")
        .order_by(t.ward_code, t.plan.desc(), t.revision.desc())
    )
    by_ward: dict[str, list] = {}
    seen = set()
    for row in rows:
        if (row.ward_code, row.plan) in seen:
            continue
        seen.add((row.ward_code, row.plan))
        tally = dict.fromkeys(INSPECTION_RATINGS, 0)
        for item in (row.checklist or {}).values():
            if isinstance(item, dict) and item.get("rating") in tally:
                tally[item["rating"]] += 1
        by_ward.setdefault(row.ward_code, []).append((row, tally))
    return by_ward


@bp.route("/")
@login_required
def index():
    wards = list(db.session.scalars(sa.select(Ward).order_by(Ward.code)))
    direct = db.session.scalars(
        sa.select(CityInspection).order_by(CityInspection.inspected_on.desc())
    )
    return render_template(
        "inspections.html",
        wards=wards,
        submitted=latest_submitted(),
        direct=list(direct),
        ratings=INSPECTION_RATINGS,
        contents=len(INSPECTION_CONTENTS),
        is_admin=current_user.role == "admin",
    )


@bp.route("/", methods=["POST"])
@admin_required
def record():
    """Record the result of a direct inspection of a ward by the city."""
    form = request.form
    ward = db.session.get(Ward, form.get("ward_code", ""))
    plan, findings = nfc(form.get("plan", "")).strip(), nfc(form.get("findings", "")).strip()
    problems = []
    if ward is None:
        problems.append("chọn đơn vị được kiểm tra")
    if not plan or len(plan) > 60:
        problems.append("ghi kế hoạch kiểm tra (tối đa 60 ký tự)")
    try:
        day = dt.date.fromisoformat(form.get("inspected_on", ""))
    except ValueError:
        day = None
        problems.append("nhập ngày kiểm tra hợp lệ")
    if form.get("rating") not in INSPECTION_RATINGS:
        problems.append("chọn kết quả đánh giá")
    if not findings or len(findings) > 5000:
        problems.append("ghi kết luận kiểm tra (tối đa 5.000 ký tự)")
    if problems:
        flash("Chưa ghi kết quả kiểm tra: " + "; ".join(problems) + ".", "warning")
        return redirect(url_for("inspections.index"))
    with write_transaction(db.session):
        db.session.add(
            CityInspection(
                ward_code=ward.code,
                plan=plan,
                inspected_on=day,
                rating=form["rating"],
                findings=findings,
                recorded_by=current_user.username,
            )
        )
        hub_audit("inspection.record", f"{ward.code} {plan}", rating=form["rating"])
    flash(f"Đã ghi kết quả kiểm tra trực tiếp {ward.name}.", "success")
    return redirect(url_for("inspections.index"))
