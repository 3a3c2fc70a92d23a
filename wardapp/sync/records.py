"""The record schema: the ward-owned tables that sync carries to the hub, with their vocabularies.

A record's shape is defined once, here: the ward writes these models, the wire carries their
columns (:func:`wardapp.sync.protocol.wire_columns`) and the hub builds its copy of each table
from the same columns. Part of the shared layer: the hub imports this module and never the
ward's other tables (``wardapp.models``), pages or services.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from kernel.accounts import AccountMixin, session_id
from kernel.columns import JSONText, UTCDateTime, new_uuid, utcnow
from kernel.regimes import Regime, regime_at
from kernel.statuses import HELD_STATUSES, RUNNING_STATUSES

from ..extensions import db
from ..roles import ROLES

# Columns the outbox leaves out of a record: derived (search), secret (hashes) or local.
NOT_SYNCED = {"search_text", "password_hash", "session_epoch", "must_change_password"}


class User(AccountMixin, db.Model):
    """A ward official's local account; works offline, so it lives in the ward database."""

    __tablename__ = "user"
    __outbox__ = True
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), primary_key=True, default=new_uuid)
    ward_code: so.Mapped[str] = so.mapped_column(sa.String(10))
    username: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    full_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    roles: so.Mapped[str] = so.mapped_column(sa.String(120))  # space-separated keys of ROLES
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    active: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # Part of every session's id: raising it ends all of this account's sessions at once.
    session_epoch: so.Mapped[int] = so.mapped_column(sa.Integer, default=0, server_default="0")
    # Set while the account holds a temporary password an admin gave (kernel.passwords).
    must_change_password: so.Mapped[bool] = so.mapped_column(
        sa.Boolean, default=False, server_default=sa.false()
    )
    version: so.Mapped[int] = so.mapped_column(sa.Integer)

    __mapper_args__ = {"version_id_col": version}

    def get_id(self) -> str:
        return session_id(self.uuid, self.session_epoch)

    @property
    def role_set(self) -> set[str]:
        return set(self.roles.split())

    def has_any_role(self, *roles: str) -> bool:
        return bool(self.role_set.intersection(roles))

    @property
    def role_labels(self) -> str:
        return ", ".join(ROLES[r] for r in self.roles.split() if r in ROLES)


class Dossier(db.Model):
    """A citizen's dossier (hồ sơ): the header; its history is the list of events.

    Status, assignee and the due times are derived from the events and cached here in the same
    transaction, so work lists are simple indexed queries.
    """

    __tablename__ = "dossier"
    __outbox__ = True
    __table_args__ = (
        sa.Index("ix_dossier_status_due", "status", "due_at"),
        sa.Index("ix_dossier_received_logbook", "received_at", "logbook_number"),
        sa.Index("ix_dossier_resolved_timeliness", "resolved_at", "timeliness"),
        sa.Index("ix_dossier_assignee_status", "assignee_uuid", "status"),
    )
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), primary_key=True, default=new_uuid)
    ward_code: so.Mapped[str] = so.mapped_column(sa.String(10))
    code: so.Mapped[str] = so.mapped_column(sa.String(60), unique=True)
    request_key: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    # Typed here, not taken from the catalogue table: the hub reads these columns without the
    # ward's reference tables.
    procedure_code: so.Mapped[str] = so.mapped_column(
        sa.String(40), sa.ForeignKey("procedure.code")
    )
    procedure_name: so.Mapped[str] = so.mapped_column(sa.String(300))
    regime: so.Mapped[str] = so.mapped_column(sa.String(10))
    applicant_kind: so.Mapped[str] = so.mapped_column(sa.String(20))  # person | organisation
    applicant_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    citizen_id: so.Mapped[str] = so.mapped_column(sa.String(20), default="", index=True)
    phone: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    email: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    address: so.Mapped[str] = so.mapped_column(sa.String(300))
    channel: so.Mapped[str] = so.mapped_column(sa.String(20))
    return_method: so.Mapped[str] = so.mapped_column(sa.String(20))
    return_address: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    documents: so.Mapped[list] = so.mapped_column(JSONText, default=list)
    sets_count: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    received_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime)
    received_by_uuid: so.Mapped[str] = so.mapped_column(sa.ForeignKey("user.uuid"))
    due_at_original: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime)
    due_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime)
    due_at_revised: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    calendar_version: so.Mapped[str] = so.mapped_column(sa.String(60))
    status: so.Mapped[int] = so.mapped_column(sa.Integer)
    assignee_uuid: so.Mapped[str | None] = so.mapped_column(sa.ForeignKey("user.uuid"))
    paused_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    resolved_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    timeliness: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    # Working days from the clock's start to the resolution, pauses excluded (for the report's
    # "average working days used against the statutory time").
    working_days_used: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    returned_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    closed_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    logbook_number: so.Mapped[int] = so.mapped_column(sa.Integer)
    # The city's reform models (docs/glossary.md). Columns added to a synced table after the first
    # release carry a server default, which is also what the hub assumes when a ward still on an
    # older version does not send them.
    # "Ngày không hẹn": a same-day procedure received and returned on the same day, set at return.
    same_day: so.Mapped[bool] = so.mapped_column(
        sa.Boolean, default=False, server_default=sa.false()
    )
    # "Bàn viết hộ": the official filled in the application form for the citizen.
    writing_assist: so.Mapped[bool] = so.mapped_column(
        sa.Boolean, default=False, server_default=sa.false()
    )
    # The citizen agreed that the form be prefilled from their earlier dossiers at this ward.
    prefill_consent: so.Mapped[bool] = so.mapped_column(
        sa.Boolean, default=False, server_default=sa.false()
    )
    # What the citizen types at the kiosk to rate the dossier (wardapp.rating_codes), printed
    # on the receipt only. None for a dossier received before migration 0010 (rated on paper).
    rating_code: so.Mapped[str | None] = so.mapped_column(sa.String(9), unique=True, index=True)
    search_text: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )
    version: so.Mapped[int] = so.mapped_column(sa.Integer)

    __mapper_args__ = {"version_id_col": version}

    assignee: so.Mapped[User | None] = so.relationship(foreign_keys=[assignee_uuid])
    received_by: so.Mapped[User] = so.relationship(foreign_keys=[received_by_uuid])
    events: so.Mapped[list[DossierEvent]] = so.relationship(
        back_populates="dossier", order_by="DossierEvent.position"
    )

    def overdue_at(self, now: dt.datetime) -> bool:
        """Whether the dossier is late at ``now``: its clock running and its due time past, as
        :func:`kernel.statuses.overdue` counts it at the present moment."""
        return self.status in RUNNING_STATUSES and self.due_at < now

    @property
    def holder(self) -> User | None:
        """The official who has the dossier now ("Đang giữ"): its assignee while it is with the
        ward; nobody once it is returned, refused or withdrawn (the assignee stays on record)."""
        return self.assignee if self.status in HELD_STATUSES else None

    @property
    def received_under(self) -> Regime:
        """The rules the dossier is handled under: those in force when it was received (its
        stamp, since ``received_at`` never changes; the ``regime`` column is the catalogue's)."""
        return regime_at(self.received_at)


class DossierEvent(db.Model):
    """One step in a dossier's life; append-only, never updated or deleted."""

    __tablename__ = "dossier_event"
    __outbox__ = True
    __table_args__ = (sa.UniqueConstraint("dossier_uuid", "position"),)
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), primary_key=True, default=new_uuid)
    ward_code: so.Mapped[str] = so.mapped_column(sa.String(10))
    dossier_uuid: so.Mapped[str] = so.mapped_column(sa.ForeignKey("dossier.uuid"))
    position: so.Mapped[int] = so.mapped_column(sa.Integer)
    kind: so.Mapped[str] = so.mapped_column(sa.String(30))
    at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime)
    actor_uuid: so.Mapped[str] = so.mapped_column(sa.ForeignKey("user.uuid"))
    to_user_uuid: so.Mapped[str | None] = so.mapped_column(sa.ForeignKey("user.uuid"))
    status_after: so.Mapped[int] = so.mapped_column(sa.Integer)
    step_timeliness: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    data: so.Mapped[dict] = so.mapped_column(JSONText, default=dict)
    version: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)

    dossier: so.Mapped[Dossier] = so.relationship(back_populates="events")
    actor: so.Mapped[User] = so.relationship(foreign_keys=[actor_uuid])
    to_user: so.Mapped[User | None] = so.relationship(foreign_keys=[to_user_uuid])


class AuditEntry(db.Model):
    """Who changed an account, a token, a setting or the sync credential, and when.

    Dossier changes need no entry here: each is an event with its actor and time. Append-only
    and ward-owned, so it syncs to the hub with the records.
    """

    __tablename__ = "audit_log"
    __outbox__ = True
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), primary_key=True, default=new_uuid)
    ward_code: so.Mapped[str] = so.mapped_column(sa.String(10))
    at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: so.Mapped[str] = so.mapped_column(sa.String(120))  # an account, or the admin's CLI
    action: so.Mapped[str] = so.mapped_column(sa.String(40))
    target: so.Mapped[str] = so.mapped_column(sa.String(200))
    details: so.Mapped[dict] = so.mapped_column(JSONText, default=dict)
    version: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)


# --- The city's reform models (docs/glossary.md) ---------------------------------------------

LETTER_KINDS = {"congratulation": "Thư chúc mừng", "condolence": "Thư chia buồn"}


class Letter(db.Model):
    """A congratulation or condolence letter given with a dossier's result ("Thư chúc mừng, thư
    chia buồn"): at most one per dossier. The signer's name is kept so a reprint reads the same
    after the chairman changes."""

    __tablename__ = "letter"
    __outbox__ = True
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), primary_key=True, default=new_uuid)
    ward_code: so.Mapped[str] = so.mapped_column(sa.String(10))
    dossier_uuid: so.Mapped[str] = so.mapped_column(sa.ForeignKey("dossier.uuid"), unique=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))  # keys of LETTER_KINDS
    recipient_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    signer_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    issued_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, index=True)
    issued_by_uuid: so.Mapped[str] = so.mapped_column(sa.ForeignKey("user.uuid"))
    version: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)

    dossier: so.Mapped[Dossier] = so.relationship(
        backref=so.backref("letter", uselist=False, lazy="select")
    )


RATING_LEVELS = {
    "very_satisfied": "Rất hài lòng",
    "satisfied": "Hài lòng",
    "not_satisfied": "Không hài lòng",
}
RATING_CRITERIA = {
    "overall": "Mức độ hài lòng chung",
    "attitude": "Thái độ phục vụ của công chức",
    "timeliness": "Thời gian giải quyết hồ sơ",
    "guidance": "Hướng dẫn, giải thích của công chức",
}
RATING_CHANNELS = {"kiosk": "Máy đánh giá tại Bộ phận một cửa", "paper": "Phiếu khảo sát giấy"}


class Rating(db.Model):
    """A citizen's rating of the service (docs/glossary.md): one per dossier, on three levels per
    criterion. Anonymous towards the officer: it names the desk (the procedure's field), never
    who served."""

    __tablename__ = "rating"
    __outbox__ = True
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), primary_key=True, default=new_uuid)
    ward_code: so.Mapped[str] = so.mapped_column(sa.String(10))
    # A paper form may carry no dossier code; a rating never counts twice for one dossier.
    dossier_uuid: so.Mapped[str | None] = so.mapped_column(
        sa.ForeignKey("dossier.uuid"), unique=True
    )
    desk: so.Mapped[str] = so.mapped_column(sa.String(120))
    channel: so.Mapped[str] = so.mapped_column(sa.String(10))  # keys of RATING_CHANNELS
    overall: so.Mapped[str] = so.mapped_column(sa.String(20))
    attitude: so.Mapped[str] = so.mapped_column(sa.String(20))
    timeliness: so.Mapped[str] = so.mapped_column(sa.String(20))
    guidance: so.Mapped[str] = so.mapped_column(sa.String(20))
    comment: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    rated_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, index=True)
    entered_by_uuid: so.Mapped[str | None] = so.mapped_column(sa.ForeignKey("user.uuid"))
    version: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)

    dossier: so.Mapped[Dossier | None] = so.relationship(
        backref=so.backref("rating", uselist=False, lazy="select")
    )


FEEDBACK_CHANNELS = {
    "desk": "Trực tiếp tại Bộ phận một cửa",
    "phone": "Điện thoại",
    "hotline": "Đường dây nóng",
    "letter": "Thư, văn bản",
}


class Feedback(db.Model):
    """A feedback or petition on administrative regulations (phản ánh, kiến nghị; Decree
    20/2008): received, assigned, answered. Its due time is fixed on receipt from the ward's
    time limit, so the hub judges "answered on time" exactly as the ward did."""

    __tablename__ = "feedback"
    __outbox__ = True
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), primary_key=True, default=new_uuid)
    ward_code: so.Mapped[str] = so.mapped_column(sa.String(10))
    received_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, index=True)
    channel: so.Mapped[str] = so.mapped_column(sa.String(20))  # keys of FEEDBACK_CHANNELS
    sender_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    sender_contact: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    subject: so.Mapped[str] = so.mapped_column(sa.String(300))
    content: so.Mapped[str] = so.mapped_column(sa.Text)
    regulation: so.Mapped[str] = so.mapped_column(sa.String(300))
    procedure_code: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    recorded_by_uuid: so.Mapped[str] = so.mapped_column(sa.ForeignKey("user.uuid"))
    assignee_uuid: so.Mapped[str | None] = so.mapped_column(sa.ForeignKey("user.uuid"))
    due_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime)
    answer: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    answered_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    answered_by_uuid: so.Mapped[str | None] = so.mapped_column(sa.ForeignKey("user.uuid"))
    version: so.Mapped[int] = so.mapped_column(sa.Integer)

    __mapper_args__ = {"version_id_col": version}

    assignee: so.Mapped[User | None] = so.relationship(foreign_keys=[assignee_uuid])
    answered_by: so.Mapped[User | None] = so.relationship(foreign_keys=[answered_by_uuid])


# The 13 contents of the city's inspection of public duty (the article; docs/glossary.md).
INSPECTION_CONTENTS = {
    "01": "Ý thức trách nhiệm của cán bộ, công chức trong thực thi nhiệm vụ",
    "02": "Tính gương mẫu của người đứng đầu và cán bộ, công chức",
    "03": "Chấp hành kỷ luật, kỷ cương hành chính (giờ giấc làm việc, nội quy cơ quan)",
    "04": "Đạo đức công vụ, thái độ phục vụ người dân và doanh nghiệp",
    "05": "Văn hóa công sở (trang phục, thẻ công chức, giao tiếp, ứng xử)",
    "06": "Chất lượng giải quyết thủ tục hành chính (đúng hạn, không yêu cầu thêm giấy tờ)",
    "07": "Niêm yết, công khai thủ tục hành chính và địa chỉ tiếp nhận phản ánh, kiến nghị",
    "08": "Thực hiện cơ chế một cửa, một cửa liên thông tại Bộ phận Tiếp nhận và Trả kết quả",
    "09": "Xin lỗi người dân khi giải quyết hồ sơ trễ hạn",
    "10": "Tiếp nhận, xử lý phản ánh, kiến nghị về quy định hành chính",
    "11": "Ứng dụng công nghệ thông tin, dịch vụ công trực tuyến và bưu chính công ích",
    "12": "Duy trì các mô hình cải cách hành chính (ngày không hẹn, bàn viết hộ, thư chúc mừng)",
    "13": "Công tác tuyên truyền, kiểm tra cải cách hành chính của đơn vị",
}
INSPECTION_RATINGS = {"good": "Tốt", "pass": "Đạt", "fail": "Chưa đạt"}


class Inspection(db.Model):
    """One version of a ward's self-inspection on the 13 contents for a plan (usually a year).

    A draft may be edited; once the leader submits it, it is locked (enforced below, whatever
    the caller) and a correction is a new version that names the one it supersedes.
    """

    __tablename__ = "inspection"
    __outbox__ = True
    __table_args__ = (sa.UniqueConstraint("plan", "revision"),)
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), primary_key=True, default=new_uuid)
    ward_code: so.Mapped[str] = so.mapped_column(sa.String(10))
    plan: so.Mapped[str] = so.mapped_column(sa.String(60))
    revision: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)
    supersedes_uuid: so.Mapped[str | None] = so.mapped_column(sa.String(36))
    items: so.Mapped[dict] = so.mapped_column(JSONText, default=dict)  # code -> finding, rating
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="draft")  # draft|submitted
    created_by_uuid: so.Mapped[str] = so.mapped_column(sa.ForeignKey("user.uuid"))
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )
    submitted_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    signed_by_uuid: so.Mapped[str | None] = so.mapped_column(sa.ForeignKey("user.uuid"))
    version: so.Mapped[int] = so.mapped_column(sa.Integer)

    __mapper_args__ = {"version_id_col": version}

    signed_by: so.Mapped[User | None] = so.relationship(foreign_keys=[signed_by_uuid])


class InspectionLocked(ValueError):
    """A write to an inspection version that was already submitted."""


@sa.event.listens_for(Inspection, "before_update")
def _refuse_edit_after_submission(mapper, connection, target: Inspection) -> None:
    """Asks the database, not the object (whose loaded state may be stale or expired)."""
    table = Inspection.__table__
    stored = connection.scalar(sa.select(table.c.status).where(table.c.uuid == target.uuid))
    if stored == "submitted":
        raise InspectionLocked("a submitted inspection is locked; a correction is a new version")
