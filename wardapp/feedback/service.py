"""Receiving, assigning and answering feedback. The time limit (``FEEDBACK_ANSWER_DAYS``
working days) is applied on receipt and kept with the record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import sqlalchemy as sa
from flask import current_app

from kernel.columns import utcnow
from wardapp.dossiers.intake import DossierError, clean_text
from wardapp.sync.records import FEEDBACK_CHANNELS, Feedback, User

from ..database import write_transaction
from ..dossiers.service import load_calendar, this_ward
from ..extensions import db
from ..models import Procedure

RECORD_ROLES = frozenset({"receptionist", "officer", "leader"})
ASSIGN_ROLES = frozenset({"leader"})
ANSWER_ROLES = frozenset({"officer", "leader"})
LIMITS = {
    "sender_name": 200,
    "sender_contact": 300,
    "subject": 300,
    "regulation": 300,
    "content": 5000,
    "answer": 5000,
}
LISTS = {"open": "Chưa trả lời", "overdue": "Quá hạn trả lời", "answered": "Đã trả lời"}


def _require(actor: User, roles: frozenset, what: str) -> None:
    if not (actor.active and actor.role_set & roles):
        raise DossierError(
            f"Tài khoản của bạn không có quyền {what}.", code="forbidden", status=403
        )


def answer_days() -> int:
    days = current_app.config.get("FEEDBACK_ANSWER_DAYS", 10)
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= 90:
        raise DossierError(
            "Thiết lập FEEDBACK_ANSWER_DAYS phải là số ngày làm việc từ 1 đến 90.",
            code="not_configured",
            status=409,
        )
    return days


def receive_feedback(data: Mapping, *, actor: User, now: dt.datetime | None = None) -> Feedback:
    """Record a feedback or petition, with its answer due time; or raise :class:`DossierError`."""
    now = now or utcnow()
    _require(actor, RECORD_ROLES, "ghi nhận phản ánh, kiến nghị")
    errors: dict[str, str] = {}
    labels = {
        "sender_name": "Họ tên người phản ánh",
        "sender_contact": "Địa chỉ, điện thoại",
        "subject": "Tiêu đề",
        "content": "Nội dung",
        "regulation": "Quy định, thủ tục",
    }
    values = {
        name: clean_text(
            data, name, errors, required=name != "sender_contact", label=label, limit=LIMITS[name]
        )
        for name, label in labels.items()
    }
    channel = clean_text(data, "channel", errors, label="Kênh tiếp nhận")
    if channel not in FEEDBACK_CHANNELS:
        errors["channel"] = (
            "Vui lòng chọn kênh tiếp nhận (trực tiếp, điện thoại, đường dây nóng, thư)."
        )
    procedure_code = clean_text(data, "procedure_code", errors, label="Thủ tục") or None
    if procedure_code and db.session.get(Procedure, procedure_code) is None:
        errors["procedure_code"] = "Không có thủ tục này trong danh mục."
    if errors:
        raise DossierError(
            "Chưa ghi nhận phản ánh: vui lòng sửa các mục được đánh dấu.",
            code="validation_failed",
            fields=errors,
        )
    due = load_calendar().due_at(now, answer_days(), "working_days", False)
    with write_transaction():
        feedback = Feedback(
            ward_code=this_ward().ward_code,
            received_at=now,
            channel=channel,
            procedure_code=procedure_code,
            recorded_by_uuid=actor.uuid,
            due_at=due,
            **values,
        )
        db.session.add(feedback)
    return feedback


def _load(uuid: str, expected_version: int | None) -> Feedback:
    feedback = db.session.scalar(
        sa.select(Feedback).where(Feedback.uuid == uuid).execution_options(populate_existing=True)
    )
    if feedback is None:
        raise DossierError("Không tìm thấy phản ánh, kiến nghị này.", code="not_found", status=404)
    if expected_version is not None and expected_version != feedback.version:
        raise DossierError(
            "Phản ánh vừa được người khác cập nhật; hãy tải lại trang.", code="stale", status=409
        )
    if feedback.answered_at is not None:
        raise DossierError(
            "Phản ánh, kiến nghị này đã được trả lời.", code="illegal_transition", status=409
        )
    return feedback


def assign_feedback(
    uuid: str, assignee_uuid: str | None, *, actor: User, expected_version: int | None = None
) -> Feedback:
    _require(actor, ASSIGN_ROLES, "phân công xử lý phản ánh")
    with write_transaction():
        feedback = _load(uuid, expected_version)
        assignee = db.session.get(User, assignee_uuid) if assignee_uuid else None
        if assignee is None or not assignee.active or not assignee.role_set & ANSWER_ROLES:
            raise DossierError(
                "Vui lòng chọn cán bộ xử lý (chuyên viên hoặc lãnh đạo).",
                code="validation_failed",
                fields={"assignee_uuid": "Cán bộ không hợp lệ."},
            )
        feedback.assignee_uuid = assignee.uuid
    return feedback


def answer_feedback(
    uuid: str,
    answer,
    *,
    actor: User,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Feedback:
    now = now or utcnow()
    _require(actor, ANSWER_ROLES, "trả lời phản ánh, kiến nghị")
    errors: dict[str, str] = {}
    text = clean_text(
        {"answer": answer},
        "answer",
        errors,
        required=True,
        label="Nội dung trả lời",
        limit=LIMITS["answer"],
    )
    if errors:
        raise DossierError(errors["answer"], code="validation_failed", fields=errors)
    with write_transaction():
        feedback = _load(uuid, expected_version)
        if now < feedback.received_at:
            raise DossierError(
                "Thời điểm trả lời sớm hơn thời điểm tiếp nhận.", code="invalid_time", status=409
            )
        feedback.answer, feedback.answered_at, feedback.answered_by_uuid = text, now, actor.uuid
    return feedback


def feedback_list(name: str, now: dt.datetime) -> sa.Select:
    """Open ones by due time, overdue ones, or the answered ones newest first."""
    query = sa.select(Feedback)
    if name == "open":
        return query.where(Feedback.answered_at.is_(None)).order_by(Feedback.due_at)
    if name == "overdue":
        return query.where(Feedback.answered_at.is_(None), Feedback.due_at < now).order_by(
            Feedback.due_at
        )
    if name == "answered":
        return query.where(Feedback.answered_at.is_not(None)).order_by(Feedback.answered_at.desc())
    raise KeyError(name)
