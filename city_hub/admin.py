"""The hub admin's screens: wards, their sync state and credentials; reference data edited and
published; city staff accounts."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for

from kernel.account_admin import add_account_views
from kernel.columns import utcnow
from kernel.database import write_transaction
from kernel.refdata import ONLINE_LEVELS, ReferenceDataError, snapshot_date
from kernel.text import nfc

from . import accounts
from .auth import admin_required
from .extensions import db
from .models import HUB_ACTIONS, HubAudit, HubUser, Quarantine, Ward, hub_audit
from .refdata import correct_unit, latest_snapshot, publish
from .reports import known_ward
from .wards import WardError, register_ward, revoke_credential, rotate_credential, unit_names

bp = Blueprint("admin", __name__, url_prefix="/admin")
SILENT_AFTER = dt.timedelta(hours=24)

accounts_bp = Blueprint("accounts", __name__, url_prefix="/accounts")
add_account_views(
    accounts_bp,
    admin_required,
    db.session,
    HubUser,
    accounts,
    accounts.HUB_ROLES,
    multiple_roles=False,
)


@bp.route("/wards")
@admin_required
def wards():
    quarantined = dict(
        db.session.execute(
            sa.select(Quarantine.ward_code, sa.func.count()).group_by(Quarantine.ward_code)
        ).all()
    )
    now = utcnow()
    rows = [
        (
            w,
            quarantined.get(w.code, 0),
            w.last_seen_utc is None or now - w.last_seen_utc > SILENT_AFTER,
        )
        for w in db.session.scalars(sa.select(Ward).order_by(Ward.code))
    ]
    trail = db.session.scalars(sa.select(HubAudit).order_by(HubAudit.at.desc()).limit(100))
    registered = {w.code for w, _, _ in rows}
    unregistered = {c: n for c, n in unit_names().items() if c not in registered}
    return render_template(
        "admin/wards.html",
        rows=rows,
        trail=list(trail),
        unregistered=unregistered,
        actions=HUB_ACTIONS,
    )


def _credential_page(record: Ward, token: str, what: str):
    """The new credential, on its own page and never in a flash (the session cookie is signed,
    not secret): the admin copies it into the unit's ``wardapp sync configure`` once."""
    return render_template("admin/credential.html", ward=record, token=token, what=what)


@bp.post("/wards")
@admin_required
def register():
    """Register a unit of the catalogue and show its first credential once."""
    try:
        record, token = register_ward(request.form.get("code", ""))
    except WardError as e:
        flash(str(e), "warning")
        return redirect(url_for("admin.wards"))
    return _credential_page(record, token, "Đã đăng ký đơn vị")


@bp.post("/wards/<code>/credential")
@admin_required
def issue(code):
    """A new credential for a unit, shown once; the old one stops working at once."""
    try:
        record, token = rotate_credential(code)
    except WardError as e:
        flash(str(e), "warning")
        return redirect(url_for("admin.wards"))
    return _credential_page(record, token, "Đã cấp khóa đồng bộ mới")


@bp.post("/wards/<code>/revoke")
@admin_required
def revoke(code):
    try:
        record = revoke_credential(code)
    except WardError as e:
        flash(str(e), "warning")
    else:
        flash(
            f"Đã thu hồi khóa đồng bộ của {record.name} ({record.code}): đơn vị không đồng bộ "
            "được nữa cho tới khi được cấp khóa mới.",
            "success",
        )
    return redirect(url_for("admin.wards"))


def quarantined_records(ward_code: str, *, limit: int, offset: int = 0) -> tuple[int, list]:
    """How many records of a ward the hub quarantined, and a page of them, newest first."""
    where = Quarantine.ward_code == ward_code
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Quarantine).where(where))
    page = db.session.scalars(
        sa.select(Quarantine)
        .where(where)
        .order_by(Quarantine.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return total, list(page)


QUARANTINE_PAGE = 100


@bp.route("/wards/<code>/quarantine")
@admin_required
def quarantine(code):
    """A ward's quarantined records, each with its refusal and the record as it came, so the
    admin can see what a ward (or someone with its credential) tried to write."""
    from kernel.queryargs import page as page_number

    ward = db.session.get(Ward, known_ward(code))
    page = page_number(request.args)
    total, records = quarantined_records(
        code, limit=QUARANTINE_PAGE, offset=(page - 1) * QUARANTINE_PAGE
    )
    return render_template(
        "admin/quarantine.html",
        ward=ward,
        records=records,
        total=total,
        page=page,
        pages=max(1, -(-total // QUARANTINE_PAGE)),
    )


@bp.route("/refdata", methods=["GET", "POST"])
@admin_required
def refdata():
    current = latest_snapshot()
    snapshot = json.loads(current.body) if current else None
    if request.method == "POST" and snapshot is not None:
        try:
            changed = edit_snapshot(snapshot, request.form)
            with write_transaction(db.session):
                published = publish(snapshot)
                what = "refdata.unit" if request.form.get("action") == "unit" else "refdata.publish"
                hub_audit(what, f"phiên bản {published.version}", change=changed)
        except (ReferenceDataError, ValueError) as e:
            flash(f"Chưa công bố: {e}", "warning")
        else:
            flash(
                f"Đã công bố danh mục phiên bản {published.version} ({changed}). Các phường, "
                "xã nhận ở lần đồng bộ tới.",
                "success",
            )
        return redirect(url_for("admin.refdata"))
    return render_template(
        "admin/refdata.html",
        snapshot=snapshot,
        current=current,
        levels=sorted(ONLINE_LEVELS),
        units=unit_rows(snapshot["units"]) if snapshot else [],
    )


UNIT_KINDS = {"tinh": "Tỉnh", "thanh_pho": "Thành phố", "phuong": "Phường", "xa": "Xã"}


def unit_rows(units: list[dict]) -> list[dict]:
    """The units as the reference-data screen lists them: validity in words, each successor by
    name and code with the day it took over."""
    names = {u["code"]: u["name"] for u in units}

    def day(value: str | None, open_end: str) -> str:
        return f"{snapshot_date(value):%d/%m/%Y}" if value else open_end

    rows = []
    for u in units:
        end = snapshot_date(u["valid_to"])
        since = f"{end + dt.timedelta(days=1):%d/%m/%Y}" if end else ""
        rows.append(
            {
                **u,
                "kind_label": UNIT_KINDS.get(u["kind"], u["kind"]),
                "validity": f"{day(u['valid_from'], 'trước đây')} – {day(u['valid_to'], 'nay')}",
                "successors": [
                    f"{names.get(s, s)} ({s}) từ {since}" for s in u.get("successor_codes", [])
                ],
                "confirmed": u.get("code_confirmed", True),
            }
        )
    return rows


def edit_snapshot(snapshot: dict, form) -> str:
    """Apply one admin edit to ``snapshot``; returns what changed, in Vietnamese."""
    action = form.get("action")
    if action == "procedure":
        code = form.get("code", "")
        entry = next((p for p in snapshot["procedures"] if p["code"] == code), None)
        if entry is None:
            raise ValueError("không có thủ tục này")
        if form.get("online_level") not in ONLINE_LEVELS:
            raise ValueError("mức độ trực tuyến không hợp lệ")
        entry["online_level"] = form["online_level"]
        entry["postal_allowed"] = form.get("postal_allowed") == "on"
        return f"thủ tục {code}"
    if action == "unit":
        return correct_unit(
            snapshot,
            form.get("code", ""),
            form.get("new_code", ""),
            form.get("name", ""),
            form.get("code_confirmed") == "on",
        )
    if action == "add_override":
        try:
            day = dt.date.fromisoformat(form.get("day", ""))
        except ValueError:
            raise ValueError("ngày không hợp lệ") from None
        reason = nfc(form.get("reason", ""))[:300]
        if not reason:
            raise ValueError("cần ghi lý do (văn bản quyết định)")
        overrides = [o for o in snapshot["calendar_overrides"] if o["day"] != day.isoformat()]
        overrides.append(
            {"day": day.isoformat(), "is_working_day": form.get("kind") == "work", "reason": reason}
        )
        snapshot["calendar_overrides"] = sorted(overrides, key=lambda o: o["day"])
        return f"ngày {day:%d/%m/%Y}"
    if action == "remove_override":
        day = form.get("day", "")
        before = len(snapshot["calendar_overrides"])
        snapshot["calendar_overrides"] = [
            o for o in snapshot["calendar_overrides"] if o["day"] != day
        ]
        if len(snapshot["calendar_overrides"]) == before:
            raise ValueError("không có ngày này")
        return f"bỏ ngày {day}"
    raise ValueError("thao tác không hợp lệ")
