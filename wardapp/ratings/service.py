"""Recording a rating: four criteria on three levels, once per dossier, only for a
dossier of this ward whose result was returned. Shared by the kiosk and the paper-form entry.

The kiosk, open to anyone, finds the dossier by the rating code printed on the receipt
(:mod:`wardapp.rating_codes`), never by its sequential dossier code; the desk keys in a paper
form by the dossier code written on it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from kernel.columns import new_uuid, utcnow
from wardapp.dossiers.intake import DossierError, clean_text
from wardapp.sync.records import (
    RATING_CHANNELS,
    RATING_CRITERIA,
    RATING_LEVELS,
    Dossier,
    Rating,
    User,
)

from ..database import write_transaction
from ..dossiers.lifecycle import STEPS
from ..dossiers.service import this_ward
from ..extensions import db
from ..rating_codes import normalised, well_formed

COMMENT_LIMIT = 1000
RETURNED = STEPS["returned"].status_after
PAPER_ROLES = frozenset({"receptionist", "officer", "leader"})
NO_DESK = "Không rõ quầy"
# A dossier code typed where the rating code belongs (an old receipt has no rating code).
DOSSIER_CODE = re.compile(r"-\d{6}-\d{4}$")
# What a kiosk user typed that found no rating to take: counted towards the kiosk's lock.
WRONG_CODE = frozenset({"mistyped", "dossier_code", "not_found"})


def clean_code(raw) -> str:
    return raw.strip().upper()[:60] if isinstance(raw, str) else ""


def rating_key(dossier: Dossier, channel: str) -> str | None:
    """What a rating form names ``dossier`` by on ``channel``: the rating code at the kiosk,
    the dossier code on paper."""
    return dossier.rating_code if channel == "kiosk" else dossier.code


def record_rating(
    data: Mapping, *, channel: str, actor: User | None = None, now: dt.datetime | None = None
) -> Rating:
    """Record one rating, or raise :class:`DossierError` naming every problem and write nothing.

    :param channel: ``kiosk`` (anonymous, a dossier code required) or ``paper`` (keyed in by
        ``actor``; the form may carry no dossier code).
    """
    now = now or utcnow()
    form = clean_rating(data, channel=channel, actor=actor)
    with write_transaction():
        ward = this_ward()
        dossier = _dossier_to_rate(form, ward) if form.code else None
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
    if channel == "paper" and not (actor and actor.active and actor.role_set & PAPER_ROLES):
        raise DossierError(
            "Tài khoản của bạn không có quyền nhập phiếu đánh giá.", code="forbidden", status=403
        )
    if channel == "kiosk":
        typed, code = code, normalised(code)
        problem = _kiosk_code_problem(typed, code)
        if problem:  # the kiosk's own message, so the citizen knows what to do
            message, kind = problem
            raise DossierError(message, code=kind, fields={**errors, "code": message})
    if errors:
        raise DossierError(
            "Chưa ghi nhận đánh giá: vui lòng sửa các mục được đánh dấu.",
            code="validation_failed",
            fields=errors,
        )
    return RatingForm(channel, levels, comment, code, actor)


def _kiosk_code_problem(typed: str, code: str) -> tuple[str, str] | None:
    """What is wrong with a code typed at the kiosk (``code`` is it normalised), as a message
    and an error code of its own for each kind of mistake, or None."""
    if not code:
        return "Vui lòng nhập mã đánh giá in trên giấy hẹn, cạnh mã QR.", "missing"
    if DOSSIER_CODE.search(typed):
        return (
            "Máy đánh giá nhận mã đánh giá (9 ký tự, in cạnh mã QR trên giấy hẹn), không "
            "nhận mã hồ sơ. Giấy hẹn không có mã đánh giá: vui lòng đánh giá bằng phiếu giấy "
            "tại quầy.",
            "dossier_code",
        )
    if not well_formed(code):
        return (
            "Mã đánh giá gõ sai: vui lòng kiểm tra lại từng ký tự với giấy hẹn (mã gồm 9 chữ "
            "và số; không có chữ O, I, L và số 0, 1).",
            "mistyped",
        )
    return None


def new_rating(
    form: RatingForm, *, ward_code: str, dossier: Dossier | None, now: dt.datetime
) -> Rating:
    """The rating a cleaned form makes, of ``dossier`` (checked by the caller), not yet stored.
    The dossier is linked to it without being marked changed (a rating is no dossier version)."""
    rating = Rating(
        uuid=new_uuid(),
        ward_code=ward_code,
        dossier_uuid=dossier.uuid if dossier else None,
        desk=dossier.procedure.field if dossier else NO_DESK,
        channel=form.channel,
        comment=form.comment,
        rated_at=now,
        entered_by_uuid=form.actor.uuid if form.actor else None,
        **form.levels,
    )
    if dossier is not None:
        set_committed_value(dossier, "rating", rating)
    return rating


def _dossier_to_rate(form: RatingForm, ward) -> Dossier:
    """The dossier a form rates: found by its rating code at the kiosk, by its dossier code on a
    paper form; then checked by :func:`refuse_unratable`."""
    column = Dossier.rating_code if form.channel == "kiosk" else Dossier.code
    dossier = db.session.scalar(sa.select(Dossier).where(column == form.code))
    if dossier is None or dossier.ward_code != ward.ward_code:
        if form.channel == "kiosk":
            raise DossierError(
                "Không tìm thấy mã đánh giá này tại phường, xã; vui lòng kiểm tra "
                "lại mã trên giấy hẹn, hoặc đánh giá tại đơn vị đã tiếp nhận hồ sơ.",
                code="not_found",
                fields={"code": "Không có mã đánh giá này."},
                status=422,
            )
        if not form.code.startswith(f"{ward.unit.agency_code}-"):
            raise DossierError(
                "Mã hồ sơ này không phải của phường, xã này.",
                code="other_ward",
                fields={"code": "Hồ sơ của đơn vị khác."},
                status=422,
            )
        raise DossierError(
            "Không tìm thấy hồ sơ có mã này; vui lòng kiểm tra lại mã trên phiếu.",
            code="not_found",
            fields={"code": "Không có hồ sơ này."},
            status=422,
        )
    refuse_unratable(dossier)
    return dossier


def refuse_unratable(dossier: Dossier) -> None:
    """A dossier is rated once its result is returned (the rating judges the whole service,
    timeliness included), and only once."""
    if dossier.status != RETURNED:
        raise DossierError(
            "Hồ sơ này chưa trả kết quả; vui lòng đánh giá sau khi nhận kết quả.",
            code="not_returned",
            fields={"code": "Hồ sơ chưa trả kết quả."},
            status=409,
        )
    if dossier.rating is not None:
        raise DossierError(
            "Hồ sơ này đã được đánh giá; mỗi hồ sơ chỉ đánh giá một lần. Xin cảm ơn!",
            code="duplicate",
            fields={"code": "Đã đánh giá."},
            status=409,
        )
