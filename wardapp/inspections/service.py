"""Self-inspection versions: draft, edit, submit (the leader), correct (a new draft version)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import sqlalchemy as sa

from kernel.columns import utcnow
from wardapp.dossiers.intake import DossierError, clean_text
from wardapp.sync.records import INSPECTION_CONTENTS, INSPECTION_RATINGS, Inspection, User

from ..database import write_transaction
from ..dossiers.service import this_ward
from ..extensions import db

EDIT_ROLES = frozenset({"officer", "leader"})
SIGN_ROLES = frozenset({"leader"})
FINDING_LIMIT = 2000
PLAN_LIMIT = 60
LOCKED = "Bản tự kiểm tra đã nộp thì không sửa được; hãy tạo bản điều chỉnh (phiên bản mới)."


def _require(actor: User, roles: frozenset, what: str) -> None:
    if not (actor.active and actor.role_set & roles):
        raise DossierError(
            f"Tài khoản của bạn không có quyền {what}.", code="forbidden", status=403
        )


def _load(uuid: str, expected_version: int | None) -> Inspection:
    inspection = db.session.scalar(
        sa.select(Inspection)
        .where(Inspection.uuid == uuid)
        .execution_options(populate_existing=True)
    )
    if inspection is None:
        raise DossierError("Không tìm thấy bản tự kiểm tra này.", code="not_found", status=404)
    if expected_version is not None and expected_version != inspection.version:
        raise DossierError(
            "Bản tự kiểm tra vừa được người khác cập nhật; hãy tải lại trang.",
            code="stale",
            status=409,
        )
    return inspection


def _draft(uuid: str, expected_version: int | None) -> Inspection:
    """The inspection to write, refused if its version is submitted (locked)."""
    inspection = _load(uuid, expected_version)
    if inspection.status == "submitted":
        raise DossierError(LOCKED, code="locked", status=409)
    return inspection


def _latest(plan: str) -> Inspection | None:
    return db.session.scalar(
        sa.select(Inspection)
        .where(Inspection.plan == plan)
        .order_by(Inspection.revision.desc())
        .limit(1)
    )


def start_inspection(plan_raw, *, actor: User) -> Inspection:
    """A new draft for a plan (e.g. "Năm 2025"); a plan has one checklist, corrected by versions."""
    _require(actor, EDIT_ROLES, "lập bản tự kiểm tra")
    errors: dict[str, str] = {}
    plan = clean_text(
        {"plan": plan_raw},
        "plan",
        errors,
        required=True,
        label="Kế hoạch kiểm tra",
        limit=PLAN_LIMIT,
    )
    if errors:
        raise DossierError(errors["plan"], code="validation_failed", fields=errors)
    with write_transaction():
        if _latest(plan) is not None:
            raise DossierError(
                "Kế hoạch này đã có bản tự kiểm tra; mở bản đó để tiếp tục hoặc điều chỉnh.",
                code="duplicate",
                status=409,
            )
        inspection = Inspection(
            ward_code=this_ward().ward_code,
            plan=plan,
            revision=1,
            items={},
            status="draft",
            created_by_uuid=actor.uuid,
        )
        db.session.add(inspection)
    return inspection


def clean_items(data: Mapping) -> tuple[dict, dict]:
    """The checklist's findings and ratings from a form (``finding_01``, ``rating_01``, …)."""
    errors: dict[str, str] = {}
    items = {}
    for code, _label in INSPECTION_CONTENTS.items():
        finding = clean_text(
            data, f"finding_{code}", errors, label=f"Nhận xét mục {code}", limit=FINDING_LIMIT
        )
        rating = data.get(f"rating_{code}") or ""
        if rating and rating not in INSPECTION_RATINGS:
            errors[f"rating_{code}"] = f"Mức đánh giá của mục {code} không hợp lệ."
        items[code] = {"finding": finding, "rating": rating}
    return items, errors


def save_inspection(
    uuid: str, data: Mapping, *, actor: User, expected_version: int | None = None
) -> Inspection:
    """Save a draft's findings and ratings; a submitted version is refused, unchanged."""
    _require(actor, EDIT_ROLES, "sửa bản tự kiểm tra")
    items, errors = clean_items(data)
    if errors:
        raise DossierError(
            "Chưa lưu: vui lòng sửa các mục được đánh dấu.", code="validation_failed", fields=errors
        )
    with write_transaction():
        inspection = _draft(uuid, expected_version)
        inspection.items = items
    return inspection


def submit_inspection(
    uuid: str,
    data: Mapping,
    *,
    actor: User,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Inspection:
    """The leader signs off and submits: every content rated, a finding for each "not met";
    from then on the version is locked."""
    now = now or utcnow()
    _require(actor, SIGN_ROLES, "ký duyệt và nộp bản tự kiểm tra")
    items, errors = clean_items(data)
    for code in INSPECTION_CONTENTS:
        if not items[code]["rating"]:
            errors[f"rating_{code}"] = f"Mục {code} chưa có mức đánh giá."
        elif items[code]["rating"] == "fail" and not items[code]["finding"]:
            errors[f"finding_{code}"] = f"Mục {code} chưa đạt: cần ghi nhận xét, tồn tại."
    if errors:
        raise DossierError(
            "Chưa nộp: vui lòng đánh giá đủ 13 nội dung.", code="validation_failed", fields=errors
        )
    with write_transaction():
        inspection = _draft(uuid, expected_version)
        inspection.items = items
        inspection.status, inspection.submitted_at = "submitted", now
        inspection.signed_by_uuid = actor.uuid
    return inspection


def correct_inspection(uuid: str, *, actor: User) -> Inspection:
    """A new draft version of a submitted checklist, starting from its findings."""
    _require(actor, EDIT_ROLES, "điều chỉnh bản tự kiểm tra")
    with write_transaction():
        submitted = _load(uuid, None)
        latest = _latest(submitted.plan)
        if submitted.status != "submitted" or latest.uuid != submitted.uuid:
            raise DossierError(
                "Chỉ điều chỉnh được bản đã nộp mới nhất của kế hoạch.",
                code="illegal_transition",
                status=409,
            )
        inspection = Inspection(
            ward_code=submitted.ward_code,
            plan=submitted.plan,
            revision=submitted.revision + 1,
            supersedes_uuid=submitted.uuid,
            items=dict(submitted.items),
            status="draft",
            created_by_uuid=actor.uuid,
        )
        db.session.add(inspection)
    return inspection
