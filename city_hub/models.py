"""The hub's tables: the ward registry and sync bookkeeping, the reference-data snapshots it
publishes, and the canonical copies of every ward's records.

Record tables are built from the ward's own model columns (:func:`wardapp.sync.protocol.
wire_columns`), so a column added at the ward and to the wire is the same column here.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from kernel.accounts import AccountMixin, LoginFailureColumns, session_id
from kernel.columns import JSONText, UTCDateTime, utcnow
from wardapp.sync.protocol import SYNCED_MODELS, wire_columns

from .extensions import db


class Ward(db.Model):
    """A ward (or the city desk) that syncs, with its credential and where its sync stands."""

    __tablename__ = "ward"
    code: so.Mapped[str] = so.mapped_column(sa.String(10), primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    token_sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True)
    package_key: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    active: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)
    credential_issued_utc: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    db_instance_id: so.Mapped[str | None] = so.mapped_column(sa.String(36))
    rekey_allowed: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    acked_seq: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    # Digest of the record at acked_seq: a ward restored from a backup that then wrote new
    # records under the same numbers has another record there, which hello reveals.
    acked_record_sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    reported_head_seq: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    last_seen_utc: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    last_push_ok_utc: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    last_pull_ok_utc: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    last_error_utc: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    protocol_version: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    schema_version: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    app_version: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    refdata_version: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    clock_skew_s: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    # When the ward last reported its outbox head, and the newest such moment by which the hub
    # had everything the ward held: the ward's data is complete through that time.
    head_reported_utc: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    complete_through_utc: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)

    @property
    def backlog(self) -> int:
        return max(self.reported_head_seq - self.acked_seq, 0)


class ImportBatch(db.Model):
    """One applied batch: the idempotency record (a replay gets this summary) and the audit
    trail."""

    __tablename__ = "import_batch"
    ward_code: so.Mapped[str] = so.mapped_column(sa.ForeignKey("ward.code"), primary_key=True)
    first_seq: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True)
    last_seq: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True)
    payload_sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    count: so.Mapped[int] = so.mapped_column(sa.Integer)
    source: so.Mapped[str] = so.mapped_column(sa.String(10))  # http | usb
    received_utc: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    answer: so.Mapped[dict] = so.mapped_column(JSONText)


class Quarantine(db.Model):
    """A record the hub would not apply (rejected or conflicting), kept whole for inspection."""

    __tablename__ = "quarantine"
    id: so.Mapped[int] = so.mapped_column(sa.Integer, primary_key=True)
    ward_code: so.Mapped[str] = so.mapped_column(sa.ForeignKey("ward.code"), index=True)
    seq: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    table_name: so.Mapped[str] = so.mapped_column(sa.String(40))
    record_uuid: so.Mapped[str] = so.mapped_column(sa.String(64))
    record_version: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    code: so.Mapped[str] = so.mapped_column(sa.String(40))
    message: so.Mapped[str] = so.mapped_column(sa.Text)
    payload: so.Mapped[str] = so.mapped_column(sa.Text)
    received_utc: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class RefdataSnapshot(db.Model):
    """A published, numbered reference-data snapshot; wards jump to the newest whole."""

    __tablename__ = "refdata_snapshot"
    version: so.Mapped[int] = so.mapped_column(sa.Integer, primary_key=True)
    created_utc: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    body: so.Mapped[str] = so.mapped_column(sa.Text)


class HubUser(AccountMixin, db.Model):
    """A city official's account at the hub: a viewer reads reports, an admin manages wards and
    reference data."""

    __tablename__ = "hub_user"
    id: so.Mapped[int] = so.mapped_column(sa.Integer, primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    full_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    role: so.Mapped[str] = so.mapped_column(sa.String(20))  # viewer | admin
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    active: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)
    created_utc: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    session_epoch: so.Mapped[int] = so.mapped_column(sa.Integer, default=0, server_default="0")
    # Set while the account holds a temporary password an admin gave (kernel.passwords).
    must_change_password: so.Mapped[bool] = so.mapped_column(
        sa.Boolean, default=False, server_default=sa.false()
    )

    def get_id(self) -> str:
        return session_id(self.id, self.session_epoch)

    @property
    def role_set(self) -> set[str]:
        """The account's one role as a set, as the ward's accounts hold theirs."""
        return {self.role}


class HubLoginFailure(LoginFailureColumns, db.Model):
    """A failed login at the hub, kept as the ward's are
    (:class:`kernel.accounts.LoginFailureColumns`)."""


class HubAudit(db.Model):
    """Who changed a ward credential, a city account or the reference data at the hub, and when."""

    __tablename__ = "hub_audit"
    id: so.Mapped[int] = so.mapped_column(sa.Integer, primary_key=True)
    at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: so.Mapped[str] = so.mapped_column(sa.String(120))
    action: so.Mapped[str] = so.mapped_column(sa.String(40))
    target: so.Mapped[str] = so.mapped_column(sa.String(200))
    details: so.Mapped[dict] = so.mapped_column(JSONText, default=dict)


# What each action of the hub's audit trail is called on the screen.
HUB_ACTIONS = {
    "user.add": "Thêm tài khoản",
    "user.disable": "Khóa tài khoản",
    "user.enable": "Mở khóa tài khoản",
    "user.reset_password": "Đặt lại mật khẩu",
    "user.set_role": "Đổi vai trò",
    "user.change_password": "Tự đổi mật khẩu",
    "user.logout_everywhere": "Đăng xuất mọi máy",
    "ward.add": "Đăng ký đơn vị, cấp khóa đồng bộ",
    "ward.rotate": "Cấp khóa đồng bộ mới",
    "ward.revoke": "Thu hồi khóa đồng bộ",
    "ward.allow_rekey": "Cho phép đổi cơ sở dữ liệu",
    "refdata.publish": "Công bố danh mục",
    "refdata.unit": "Sửa mã, tên đơn vị và công bố danh mục",
    "inspection.record": "Ghi kết quả kiểm tra trực tiếp",
}


def hub_audit(action: str, target: str, actor: str | None = None, **details) -> None:
    """Record a change at the hub in the caller's transaction (the admin's CLI by default)."""
    from kernel.login import current_actor

    db.session.add(
        HubAudit(
            actor=actor or current_actor(), action=action, target=target[:200], details=details
        )
    )


class CityInspection(db.Model):
    """The result of the city's direct inspection of a ward on the 13 contents (kiểm tra trực
    tiếp), recorded at the hub beside the wards' own self-inspections."""

    __tablename__ = "city_inspection"
    id: so.Mapped[int] = so.mapped_column(sa.Integer, primary_key=True)
    ward_code: so.Mapped[str] = so.mapped_column(sa.ForeignKey("ward.code"), index=True)
    plan: so.Mapped[str] = so.mapped_column(sa.String(60))
    inspected_on: so.Mapped[dt.date] = so.mapped_column(sa.Date)
    rating: so.Mapped[str] = so.mapped_column(sa.String(10))  # keys of INSPECTION_RATINGS
    findings: so.Mapped[str] = so.mapped_column(sa.Text)
    recorded_by: so.Mapped[str] = so.mapped_column(sa.String(120))
    recorded_utc: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class RefProcedure(db.Model):
    """The procedure catalogue of the newest published snapshot, as rows the reports join to
    (a procedure's online level decides which dossiers an online rate counts)."""

    __tablename__ = "ref_procedure"
    code: so.Mapped[str] = so.mapped_column(sa.String(40), primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(300))
    field: so.Mapped[str] = so.mapped_column(sa.String(120))
    online_level: so.Mapped[str] = so.mapped_column(sa.String(10))
    postal_allowed: so.Mapped[bool] = so.mapped_column(sa.Boolean)
    duration_value: so.Mapped[int] = so.mapped_column(sa.Integer)
    duration_unit: so.Mapped[str] = so.mapped_column(sa.String(20))


# What the reports read: a covering index holds every column the report's aggregate touches,
# so the report scans the index, not the table; plus resolution and closing times.
REPORT_COLUMNS = (
    "ward_code",
    "received_at",
    "resolved_at",
    "closed_at",
    "channel",
    "return_method",
    "timeliness",
    "status",
    "due_at",
    "due_at_revised",
    "procedure_code",
    "working_days_used",
    "same_day",
    "writing_assist",
    "paused_at",
)
_REPORT_INDEXES = {
    "dossier": (
        sa.Index("ix_dossier_report", *REPORT_COLUMNS),
        sa.Index("ix_dossier_code", "code"),  # a push looks up the codes it brings (apply.py)
        sa.Index("ix_dossier_resolved", "resolved_at"),
        sa.Index("ix_dossier_closed", "closed_at"),
    )
}


def _record_table(name: str) -> sa.Table:
    columns = [
        sa.Column(
            c.name,
            c.type,
            primary_key=c.primary_key,
            nullable=c.nullable,
            server_default=c.server_default.arg if c.server_default else None,
        )
        for c in wire_columns(name)
    ]
    return sa.Table(
        name,
        db.metadata,
        *columns,
        sa.Column("sync_sha256", sa.String(64), nullable=False),
        sa.Column("sync_seq", sa.BigInteger, nullable=False),
        sa.Column("synced_utc", UTCDateTime, nullable=False),
        sa.Index(f"ix_{name}_ward", "ward_code"),
        *_REPORT_INDEXES.get(name, ()),
    )


RECORD_TABLES = {name: _record_table(name) for name in SYNCED_MODELS}
