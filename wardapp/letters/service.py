"""Issuing a letter: only for a procedure that has one, once per dossier, once it is resolved."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from kernel.columns import new_uuid, utcnow
from wardapp.dossiers.intake import DossierError
from wardapp.sync.records import LETTER_KINDS, Dossier, Letter, User

from ..database import write_transaction
from ..dossiers.service import this_ward
from ..extensions import db

ISSUER_ROLES = frozenset({"receptionist", "officer", "leader"})
RESULT_STATUSES = (9, 10)  # resolved, returned


def chairman_name() -> str:
    """The ward chairman's name from the settings (``CHAIRMAN_NAME``), who signs the letters."""
    return (current_app.config.get("CHAIRMAN_NAME") or "").strip()


def letter_offered(dossier: Dossier) -> str | None:
    """The kind of letter the desk offers for ``dossier`` now, or None."""
    if (
        dossier.procedure.letter in LETTER_KINDS
        and dossier.status in RESULT_STATUSES
        and dossier.letter is None
    ):
        return dossier.procedure.letter
    return None


def issue_letter(dossier_code: str, *, actor: User, now: dt.datetime | None = None) -> Letter:
    """Record the letter for a resolved dossier whose procedure calls for one, or raise
    :class:`DossierError` and write nothing."""
    now = now or utcnow()
    signer = letter_signer(actor)
    with write_transaction():
        dossier = db.session.scalar(sa.select(Dossier).where(Dossier.code == dossier_code))
        if dossier is None or dossier.ward_code != this_ward().ward_code:
            raise DossierError(
                "Không tìm thấy hồ sơ này tại phường, xã.", code="not_found", status=404
            )
        letter = new_letter(dossier, actor=actor, signer=signer, now=now)
        db.session.add(letter)
    return letter


def letter_signer(actor: User) -> str:
    """The chairman who signs a letter ``actor`` issues, or :class:`DossierError` when the
    actor may not issue letters or no chairman is named."""
    if not (actor.active and actor.role_set & ISSUER_ROLES):
        raise DossierError(
            "Tài khoản của bạn không có quyền gửi thư.", code="forbidden", status=403
        )
    signer = chairman_name()
    if not signer:
        raise DossierError(
            "Chưa khai báo tên Chủ tịch UBND ký thư (thiết lập CHAIRMAN_NAME); "
            "nhờ quản trị khai báo.",
            code="not_configured",
            status=409,
        )
    return signer


def new_letter(dossier: Dossier, *, actor: User, signer: str, now: dt.datetime) -> Letter:
    """The rules of a letter on a loaded dossier: the letter, not yet stored, or
    :class:`DossierError`. The dossier is linked to it without being marked changed: a letter is
    not a new dossier version, so it must not send the dossier to the outbox again."""
    kind = dossier.procedure.letter
    if kind not in LETTER_KINDS:
        raise DossierError(
            f"Thủ tục «{dossier.procedure_name}» không có thư chúc mừng hay "
            "thư chia buồn: thư chúc mừng dành cho đăng ký khai sinh, kết "
            "hôn; thư chia buồn cho đăng ký khai tử.",
            code="letter_not_fitting",
            status=409,
        )
    if dossier.status not in RESULT_STATUSES:
        raise DossierError(
            "Chỉ gửi thư khi hồ sơ đã có kết quả.", code="illegal_transition", status=409
        )
    if dossier.letter is not None:
        raise DossierError(
            "Hồ sơ này đã có thư; in lại thư đã gửi thay vì tạo thư mới.",
            code="duplicate",
            status=409,
        )
    letter = Letter(
        uuid=new_uuid(),
        ward_code=dossier.ward_code,
        dossier_uuid=dossier.uuid,
        kind=kind,
        recipient_name=dossier.applicant_name,
        signer_name=signer,
        issued_at=now,
        issued_by_uuid=actor.uuid,
    )
    set_committed_value(dossier, "letter", letter)
    return letter
