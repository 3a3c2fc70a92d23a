"""The ward's tables, as typed SQLAlchemy 2 models.

Two kinds of data live here. Reference data (units, the procedure catalogue, calendar overrides)
is owned by the city hub and only read at the ward. Ward-owned records (accounts, dossiers and
their events) are written only here; each write of one appends its JSON snapshot to the outbox in
the same transaction (:mod:`wardapp.outbox`), which is what sync carries to the hub.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db


def new_uuid() -> str:
    return str(uuid.uuid4())


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC text by SQLite.

    Refuses naive values so that no local wall-clock time is ever stored as if it were UTC.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)

    def fused_bind_processor(self, dialect):
        """For bulk writers (:class:`~wardapp.database.DriverTable`): on SQLite, the text
        SQLAlchemy would store (this type's naive UTC value in its DATETIME format) made in one
        step, at half the cost of the two processors; elsewhere None."""
        if dialect.name != "sqlite":
            return None

        def sqlite_text(value: dt.datetime) -> str:
            if value.tzinfo is None:
                raise ValueError("naive datetime given where an aware one is required")
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(
                " ", "microseconds")
        return sqlite_text


class JSONText(sa.types.TypeDecorator):
    """A JSON value kept as readable UTF-8 text (Vietnamese stays legible in sqlite3 and exports)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


# --- Reference data (owned by the hub) -------------------------------------------------------

class Unit(db.Model):
    """An administrative unit (ward, commune, or the city) with its GSO code."""

    __tablename__ = "unit"
    code: so.Mapped[str] = so.mapped_column(sa.String(10), primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))  # phuong | xa | thanh_pho
    parent_code: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    agency_code: so.Mapped[str] = so.mapped_column(sa.String(40))
    valid_from: so.Mapped[dt.date | None] = so.mapped_column(sa.Date)
    valid_to: so.Mapped[dt.date | None] = so.mapped_column(sa.Date)


class Procedure(db.Model):
    """An administrative procedure (thủ tục hành chính) of the ward-level catalogue."""

    __tablename__ = "procedure"
    code: so.Mapped[str] = so.mapped_column(sa.String(40), primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(300))
    field: so.Mapped[str] = so.mapped_column(sa.String(120))
    duration_value: so.Mapped[int] = so.mapped_column(sa.Integer)
    duration_unit: so.Mapped[str] = so.mapped_column(sa.String(20))  # same_day | working_days
    cutoff_15h: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)
    fee_amount: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    fee_text: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    online_level: so.Mapped[str] = so.mapped_column(sa.String(10))  # none | partial | full
    postal_allowed: so.Mapped[bool] = so.mapped_column(sa.Boolean)
    result: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    legal_basis: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    letter: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    documents: so.Mapped[list] = so.mapped_column(JSONText, default=list)
    regime: so.Mapped[str] = so.mapped_column(sa.String(10), default="2018")
    search_text: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    active: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)

    @property
    def duration_label(self) -> str:
        if self.duration_unit == "same_day":
            return "Trong ngày" + (" (nhận sau 15 giờ trả ngày làm việc kế tiếp)" if self.cutoff_15h else "")
        return f"{self.duration_value} ngày làm việc"


class CalendarOverride(db.Model):
    """A day whose working status differs from the statutory calendar (swap, local day off)."""

    __tablename__ = "calendar_override"
    day: so.Mapped[dt.date] = so.mapped_column(sa.Date, primary_key=True)
    is_working_day: so.Mapped[bool] = so.mapped_column(sa.Boolean)
    reason: so.Mapped[str] = so.mapped_column(sa.String(300), default="")


# --- This installation ------------------------------------------------------------------------

class SyncNode(db.Model):
    """Who this database is: the ward it serves and the identity of this database file's lineage."""

    __tablename__ = "sync_node"
    id: so.Mapped[int] = so.mapped_column(sa.Integer, sa.CheckConstraint("id = 1"), primary_key=True)
    ward_code: so.Mapped[str] = so.mapped_column(sa.ForeignKey("unit.code"))
    db_instance_id: so.Mapped[str] = so.mapped_column(sa.String(36), default=new_uuid)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    unit: so.Mapped[Unit] = so.relationship()


class Outbox(db.Model):
    """One row per write of a ward-owned record, in ward sequence order; sync pushes these."""

    __tablename__ = "outbox"
    __table_args__ = {"sqlite_autoincrement": True}  # never reuse a sequence number
    seq: so.Mapped[int] = so.mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    table_name: so.Mapped[str] = so.mapped_column(sa.String(40))
    record_uuid: so.Mapped[str] = so.mapped_column(sa.String(36), index=True)
    op: so.Mapped[str] = so.mapped_column(sa.String(10))
    record_version: so.Mapped[int] = so.mapped_column(sa.Integer)
    payload: so.Mapped[str] = so.mapped_column(sa.Text)
    payload_sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_utc: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    acked_at_utc: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)


# --- Ward-owned records -----------------------------------------------------------------------

ROLES = {
    "receptionist": "Tiếp nhận và trả kết quả",
    "officer": "Chuyên viên xử lý",
    "leader": "Lãnh đạo phường, xã",
    "admin": "Quản trị",
}


# scrypt takes 32 MiB per hash: one at a time keeps a burst of logins within the ward PC's
# memory budget (five at once reached 234 MB) at the cost of a short queue.
_HASHING = threading.Lock()


def session_id(key, epoch: int) -> str:
    """The id a login session carries: the account and its session epoch."""
    return f"{key}:{epoch}"


def account_for_session(session, model, session_key: str):
    """The active account a session id names, if its epoch is still current.

    The login manager's loader for both apps: asked on every request, from the database, so a
    logout, a new password, a change of roles or a lock ends a session at its next request."""
    key, _, epoch = session_key.rpartition(":")
    column = model.__mapper__.primary_key[0]
    try:
        account = session.get(model, column.type.python_type(key))
    except (TypeError, ValueError):
        return None
    if account is None or not account.active or str(account.session_epoch) != epoch:
        return None
    return account


class User(UserMixin, db.Model):
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
    session_epoch: so.Mapped[int] = so.mapped_column(sa.Integer, default=0,
                                                     server_default="0")
    version: so.Mapped[int] = so.mapped_column(sa.Integer)

    __mapper_args__ = {"version_id_col": version}

    def get_id(self) -> str:
        return session_id(self.uuid, self.session_epoch)

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def role_set(self) -> set[str]:
        return set(self.roles.split())

    def has_any_role(self, *roles: str) -> bool:
        return bool(self.role_set.intersection(roles))

    @property
    def role_labels(self) -> str:
        return ", ".join(ROLES[r] for r in self.roles.split() if r in ROLES)

    def end_sessions(self) -> None:
        """End every session of this account at once, on every PC: each carries the epoch in its
        id (:func:`session_id`), and :func:`account_for_session` checks it on every request.

        Called on logout, a new password, a change of roles and a lock, so a session cookie
        copied before any of them opens nothing after."""
        self.session_epoch = (self.session_epoch or 0) + 1

    def set_password(self, password: str) -> None:
        with _HASHING:
            self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        with _HASHING:
            return check_password_hash(self.password_hash, password)


class LoginFailureColumns:
    """A failed login against one key: the account name tried, or the address it came from.

    Kept in the database, not in memory, so that a lock holds across a restart of the server and
    for every process and thread serving it. The ward's and the hub's tables share these columns;
    rows older than the throttle's window are pruned (:class:`wardapp.auth.LoginThrottle`).
    """

    __tablename__ = "login_failure"
    id: so.Mapped[int] = so.mapped_column(sa.Integer, primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(10))  # account | address
    name: so.Mapped[str] = so.mapped_column(sa.String(64))
    at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, index=True)  # for pruning

    @so.declared_attr.directive
    def __table_args__(cls):
        # the throttle's one question: the newest failures of a key within the window
        return (sa.Index("ix_login_failure_key_at", "kind", "name", "at"),)


class LoginFailure(LoginFailureColumns, db.Model):
    """A failed login at this ward (not synced: it says nothing the hub needs)."""


API_SCOPES = {
    "read": "Đọc danh mục và hồ sơ",
    "intake": "Tiếp nhận hồ sơ",
    "steps": "Thực hiện bước xử lý",
}


class ApiToken(db.Model):
    """A bearer token for the JSON API, stored as a SHA-256 digest, scoped and revocable.

    A token can do only what its scopes name, and never more than its account's roles allow.
    """

    __tablename__ = "api_token"
    id: so.Mapped[int] = so.mapped_column(sa.Integer, primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    token_sha256: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    user_uuid: so.Mapped[str] = so.mapped_column(sa.ForeignKey("user.uuid"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    revoked_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    scopes: so.Mapped[str] = so.mapped_column(sa.String(120), default="read intake steps",
                                              server_default="read intake steps")

    user: so.Mapped[User] = so.relationship()


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
    procedure_code: so.Mapped[str] = so.mapped_column(sa.ForeignKey("procedure.code"))
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
    # The city's reform models (domain.md §8.2). Columns added to a synced table after the first
    # release carry a server default, which is also what the hub assumes when a ward still on an
    # older version does not send them.
    # "Ngày không hẹn": a same-day procedure received and returned on the same day, set at return.
    same_day: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False,
                                                 server_default=sa.false())
    # "Bàn viết hộ": the official filled in the application form for the citizen.
    writing_assist: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False,
                                                       server_default=sa.false())
    # The citizen agreed that the form be prefilled from their earlier dossiers at this ward.
    prefill_consent: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False,
                                                        server_default=sa.false())
    # What the citizen types at the kiosk to rate the dossier (wardapp.rating_codes), printed
    # on the receipt only. None for a dossier received before migration 0010 (rated on paper).
    rating_code: so.Mapped[str | None] = so.mapped_column(sa.String(9), unique=True, index=True)
    search_text: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: so.Mapped[int] = so.mapped_column(sa.Integer)

    __mapper_args__ = {"version_id_col": version}

    procedure: so.Mapped[Procedure] = so.relationship()
    assignee: so.Mapped[User | None] = so.relationship(foreign_keys=[assignee_uuid])
    received_by: so.Mapped[User] = so.relationship(foreign_keys=[received_by_uuid])
    events: so.Mapped[list[DossierEvent]] = so.relationship(
        back_populates="dossier", order_by="DossierEvent.position")


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


# --- The city's reform models (domain.md §3, §8.2) --------------------------------------------

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
        backref=so.backref("letter", uselist=False, lazy="select"))


RATING_LEVELS = {"very_satisfied": "Rất hài lòng", "satisfied": "Hài lòng",
                 "not_satisfied": "Không hài lòng"}
RATING_CRITERIA = {
    "overall": "Mức độ hài lòng chung",
    "attitude": "Thái độ phục vụ của công chức",
    "timeliness": "Thời gian giải quyết hồ sơ",
    "guidance": "Hướng dẫn, giải thích của công chức",
}
RATING_CHANNELS = {"kiosk": "Máy đánh giá tại Bộ phận một cửa", "paper": "Phiếu khảo sát giấy"}


class Rating(db.Model):
    """A citizen's rating of the service (domain.md §3): one per dossier, on three levels per
    criterion. Anonymous towards the officer: it names the desk (the procedure's field), never
    who served."""

    __tablename__ = "rating"
    __outbox__ = True
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), primary_key=True, default=new_uuid)
    ward_code: so.Mapped[str] = so.mapped_column(sa.String(10))
    # A paper form may carry no dossier code; a rating never counts twice for one dossier.
    dossier_uuid: so.Mapped[str | None] = so.mapped_column(sa.ForeignKey("dossier.uuid"),
                                                           unique=True)
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
        backref=so.backref("rating", uselist=False, lazy="select"))


FEEDBACK_CHANNELS = {"desk": "Trực tiếp tại Bộ phận một cửa", "phone": "Điện thoại",
                     "hotline": "Đường dây nóng", "letter": "Thư, văn bản"}


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


# The 13 contents of the city's inspection of public duty (the article; domain.md §8.2).
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
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow,
                                                          onupdate=utcnow)
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


# --- Sync bookkeeping (wardapp.sync) ---------------------------------------------------------

class SyncState(db.Model):
    """Where this ward stands with the hub. "Last OK" times move only on success."""

    __tablename__ = "sync_state"
    id: so.Mapped[int] = so.mapped_column(sa.Integer, sa.CheckConstraint("id = 1"), primary_key=True)
    acked_seq: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    refdata_version: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    last_push_ok_utc: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    last_pull_ok_utc: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    last_attempt_utc: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    last_error_code: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    consecutive_failures: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    last_summary: so.Mapped[dict | None] = so.mapped_column(JSONText)
    hub_warnings: so.Mapped[list | None] = so.mapped_column(JSONText)


class CodeFloor(db.Model):
    """A day's dossier numbers that may already be on citizens' receipts though this database
    never held their dossiers: the lost PC's, received after its last sync. A replacement or
    restored database numbers that day's new dossiers past ``number``, so no code printed on a
    receipt is given to a second citizen. Stays at the ward; the admin's reason is audited."""

    __tablename__ = "code_floor"
    prefix: so.Mapped[str] = so.mapped_column(sa.String(60), primary_key=True)  # code_prefix()
    number: so.Mapped[int] = so.mapped_column(sa.Integer)
    confirmed: so.Mapped[bool] = so.mapped_column(sa.Boolean)  # the admin saw that receipt
    set_utc: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class SyncReject(db.Model):
    """A record the hub refused (rejected or in conflict), with its reason, for the admin to fix."""

    __tablename__ = "sync_reject"
    id: so.Mapped[int] = so.mapped_column(sa.Integer, primary_key=True)
    seq: so.Mapped[int] = so.mapped_column(sa.Integer)
    table_name: so.Mapped[str] = so.mapped_column(sa.String(40))
    record_uuid: so.Mapped[str] = so.mapped_column(sa.String(36))
    record_version: so.Mapped[int] = so.mapped_column(sa.Integer)
    code: so.Mapped[str] = so.mapped_column(sa.String(40))
    message: so.Mapped[str] = so.mapped_column(sa.Text)
    seen_utc: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
