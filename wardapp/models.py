"""The ward's own tables, as typed SQLAlchemy 2 models: the reference data it reads, who this
installation is, the outbox, API tokens and the sync bookkeeping.

The ward-owned records that sync to the hub (accounts, dossiers and their events, letters,
ratings, feedback, inspections) are the record schema, :mod:`wardapp.sync.records`, shared with
the hub. Each write of one appends its JSON snapshot to the outbox in the same transaction
(:mod:`wardapp.outbox`), which is what sync carries to the hub.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from kernel.accounts import LoginFailureColumns
from kernel.columns import JSONText, UTCDateTime, new_uuid, utcnow

from .extensions import db
from .sync.records import Dossier, User

# --- Reference data (owned by the hub) -------------------------------------------------------


class Unit(db.Model):
    """An administrative unit (ward, commune, the old city, the province) with its GSO code and
    its history: when it existed and what it became."""

    __tablename__ = "unit"
    code: so.Mapped[str] = so.mapped_column(sa.String(10), primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))  # phuong | xa | thanh_pho
    parent_code: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    agency_code: so.Mapped[str] = so.mapped_column(sa.String(40))
    valid_from: so.Mapped[dt.date | None] = so.mapped_column(sa.Date)
    valid_to: so.Mapped[dt.date | None] = so.mapped_column(sa.Date)
    # The units it became the day after ``valid_to`` (a merger's successor), and whether its
    # code is the official one yet (a new unit's may be provisional until the hub corrects it).
    successor_codes: so.Mapped[list] = so.mapped_column(JSONText, default=list, server_default="[]")
    code_confirmed: so.Mapped[bool] = so.mapped_column(
        sa.Boolean, default=True, server_default=sa.true()
    )


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
            return "Trong ngày" + (
                " (nhận sau 15 giờ trả ngày làm việc kế tiếp)" if self.cutoff_15h else ""
            )
        return f"{self.duration_value} ngày làm việc"


# The catalogue row of a dossier's procedure, for the ward's pages and forms. The hub keeps no
# ward catalogue, so the record schema leaves this link to the ward (declarative allows adding
# a relationship to a mapped class after it is made).
Dossier.procedure = so.relationship(Procedure)


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
    id: so.Mapped[int] = so.mapped_column(
        sa.Integer, sa.CheckConstraint("id = 1"), primary_key=True
    )
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


class LoginFailure(LoginFailureColumns, db.Model):
    """A failed login at this ward (not synced: it says nothing the hub needs)."""


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
    scopes: so.Mapped[str] = so.mapped_column(
        sa.String(120), default="read intake steps", server_default="read intake steps"
    )

    user: so.Mapped[User] = so.relationship()


# --- Sync bookkeeping (wardapp.sync) ---------------------------------------------------------


class SyncState(db.Model):
    """Where this ward stands with the hub. "Last OK" times move only on success."""

    __tablename__ = "sync_state"
    id: so.Mapped[int] = so.mapped_column(
        sa.Integer, sa.CheckConstraint("id = 1"), primary_key=True
    )
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
