"""Recording a rating: the criteria of domain.md §3 on three levels, once per dossier, and only
for a dossier of this ward. Shared by the kiosk and the paper-form entry."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from ..database import write_transaction
from ..extensions import db
from ..dossiers.service import DossierError, clean_text, this_ward
from ..models import (RATING_CHANNELS, RATING_CRITERIA, RATING_LEVELS, Dossier, Rating, User,
                      new_uuid, utcnow)

COMMENT_LIMIT = 1000
PAPER_ROLES = frozenset({"receptionist", "officer", "leader"})
NO_DESK = "Không rõ quầy"


def clean_code(raw) -> str:
    return raw.strip().upper()[:60] if isinstance(raw, str) else ""


def record_rating(data: Mapping, *, channel: str, actor: User | None = None,
                  now: dt.datetime | None = None) -> Rating:
    """Record one rating, or raise :class:`DossierError` naming every problem and write nothing.

    :param channel: ``kiosk`` (anonymous, a dossier code required) or ``paper`` (keyed in by
        ``actor``; the form may carry no dossier code).
    """
    now = now or utcnow()
    form = clean_rating(data, channel=channel, actor=actor)
    with write_transaction():
        ward = this_ward()
        dossier = _dossier_to_rate(form.code, ward) if form.code else None
        rating = new_rating(form, ward_code=ward.ward_code, dossier=dossier, now=now)
        db.session.add(rating)
    return rating


@dataclass
class RatingForm:
    """A rating's fields after cleaning; built by :func:`clean_rating`."""

    channel: str
    levels: dict[str, str]
    comment: str
    code: str
    actor: User | None


def clean_rating(data: Mapping, *, channel: str, actor: User | None) -> RatingForm:
    """Validate a rating form (the kiosk's or a keyed-in paper form); raise
    :class:`DossierError` naming every problem."""
    assert channel in RATING_CHANNELS
    errors: dict[str, str] = {}
    levels = {}
    for criterion, label in RATING_CRITERIA.items():
        levels[criterion] = data.get(criterion)
        if levels[criterion] not in RATING_LEVELS:
            errors[criterion] = f"Vui lòng chọn mức đánh giá cho mục «{label}»."
    comment = clean_text(data, "comment", errors, label="Góp ý", limit=COMMENT_LIMIT)
    code = clean_code(data.get("code"))
    if channel == "kiosk" and not code:
        errors["code"] = "Vui lòng nhập mã hồ sơ in trên giấy hẹn."
    if channel == "paper" and not (actor and actor.active and actor.role_set & PAPER_ROLES):
        raise DossierError("Tài khoản của bạn không có quyền nhập phiếu đánh giá.",
                           code="forbidden", status=403)
    if errors:
        raise DossierError("Chưa ghi nhận đánh giá: vui lòng sửa các mục được đánh dấu.",
                           code="validation_failed", fields=errors)
    return RatingForm(channel, levels, comment, code, actor)


def new_rating(form: RatingForm, *, ward_code: str, dossier: Dossier | None,
               now: dt.datetime) -> Rating:
    """The rating a cleaned form makes, of ``dossier`` (checked by the caller), not yet stored.
    The dossier is linked to it without being marked changed (a rating is no dossier version)."""
    rating = Rating(uuid=new_uuid(), ward_code=ward_code,
                    dossier_uuid=dossier.uuid if dossier else None,
                    desk=dossier.procedure.field if dossier else NO_DESK, channel=form.channel,
                    comment=form.comment, rated_at=now,
                    entered_by_uuid=form.actor.uuid if form.actor else None, **form.levels)
    if dossier is not None:
        set_committed_value(dossier, "rating", rating)
    return rating


def _dossier_to_rate(code: str, ward) -> Dossier:
    dossier = db.session.scalar(sa.select(Dossier).where(Dossier.code == code))
    if dossier is None or dossier.ward_code != ward.ward_code:
        if not code.startswith(f"{ward.unit.agency_code}-"):
            raise DossierError("Mã hồ sơ này không phải của phường, xã nơi đặt máy đánh giá; "
                               "vui lòng đánh giá tại đơn vị đã tiếp nhận hồ sơ.",
                               code="other_ward", fields={"code": "Hồ sơ của đơn vị khác."},
                               status=422)
        raise DossierError("Không tìm thấy hồ sơ có mã này; vui lòng kiểm tra lại mã trên giấy "
                           "hẹn.", code="not_found", fields={"code": "Không có hồ sơ này."},
                           status=422)
    refuse_second_rating(dossier)
    return dossier


def refuse_second_rating(dossier: Dossier) -> None:
    """Each dossier is rated once."""
    if dossier.rating is not None:
        raise DossierError("Hồ sơ này đã được đánh giá; mỗi hồ sơ chỉ đánh giá một lần. Xin "
                           "cảm ơn!", code="duplicate", fields={"code": "Đã đánh giá."},
                           status=409)
