"""The hub's sync API, ``/api/sync/v1`` (docs/guarantees.md): hello, push, refdata, reconcile,
and records (a ward's own records, to provision a replacement PC or mend a restored one).

Authenticated by the ward's bearer token; the ward is whoever the token belongs to.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, request

from kernel.columns import utcnow
from kernel.database import write_transaction
from wardapp.sync.faults import fault
from wardapp.sync.protocol import (
    DB_INSTANCE_ID,
    MAX_BATCH_BYTES,
    MAX_BATCH_RECORDS,
    ProtocolError,
    decode_with_text,
    json_value,
    parse_object,
    reconcile_digest,
    sequence_number,
)

from ..extensions import db
from ..models import RECORD_TABLES, Ward
from ..refdata import latest_snapshot
from .apply import apply_in_transaction, check_versions
from .openapi import openapi_document

bp = Blueprint("sync", __name__, url_prefix="/api/sync/v1")
SKEW_WARNING_S = 300
MAX_SKEW_S = 2**31 - 1  # the skew column's width: a clock in year 9999 is shown as this
MAX_HELLO_BYTES = 64 * 1024


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@bp.errorhandler(ProtocolError)
def protocol_error(e: ProtocolError):
    return jsonify(e.as_json()), e.status


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.before_request
def authenticate():
    if request.endpoint == "sync.openapi":
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    ward = None
    if scheme.lower() == "bearer" and token.strip():
        ward = db.session.scalar(
            sa.select(Ward).where(Ward.token_sha256 == token_digest(token.strip()), Ward.active)
        )
    if ward is None:
        raise ProtocolError(
            "UNAUTHORIZED",
            "Thông tin xác thực của phường, xã không hợp lệ hoặc đã bị thu hồi.",
            401,
        )
    g.ward = ward


def _record_error(message: str) -> None:
    with write_transaction(db.session):
        ward = db.session.get(Ward, g.ward.code)
        ward.last_error, ward.last_error_utc = message, utcnow()


@bp.post("/hello")
def hello():
    raw = request.get_data(cache=False)
    if len(raw) > MAX_HELLO_BYTES:
        raise ProtocolError("TOO_LARGE", "Lời chào quá lớn.", 413)
    body = parse_object(raw)
    if body.get("ward_code") != g.ward.code:
        raise ProtocolError(
            "WARD_MISMATCH", "Mã phường, xã không khớp với thông tin xác thực.", 403
        )
    now = utcnow()
    try:
        check_versions(body.get("protocol_version"), body.get("schema_version"), current_app.config)
        check_identity(g.ward, body)
    except ProtocolError as e:
        _record_error(f"{e.code}: {e.message}")
        raise
    warnings = []
    skew = _clock_skew(body.get("ward_utc"), now)
    if skew is not None and abs(skew) > SKEW_WARNING_S:
        warnings.append(
            {
                "code": "CLOCK_SKEW",
                "message": f"Đồng hồ máy của phường lệch {skew} giây so với máy chủ thành phố.",
            }
        )
    with write_transaction(db.session):
        ward = db.session.get(Ward, g.ward.code)
        if ward.db_instance_id != body["db_instance_id"]:
            # A new database lineage (first contact, or a rekey the admin allowed): it shares
            # no record history with the old one below the checkpoint.
            ward.db_instance_id, ward.rekey_allowed = body["db_instance_id"], False
            ward.acked_record_sha256 = None
        ward.last_seen_utc = now
        ward.protocol_version, ward.schema_version = (
            body["protocol_version"],
            body["schema_version"],
        )
        app_version = body.get("app_version")
        ward.app_version = (
            app_version.replace("\x00", "")[:40] if isinstance(app_version, str) else ""
        )
        ward.reported_head_seq = body["outbox_head_seq"]
        ward.head_reported_utc = now
        if ward.acked_seq >= ward.reported_head_seq:  # nothing waits: complete as of now
            ward.complete_through_utc = now
        ward.clock_skew_s = skew
        acked, acked_digest = ward.acked_seq, ward.acked_record_sha256
    snapshot = latest_snapshot()
    return jsonify(
        {
            "ok": True,
            "hub_acked_seq": acked,
            "hub_acked_record_sha256": acked_digest,
            "hub_utc": now.isoformat(),
            "accept_protocol": list(current_app.config["SYNC_ACCEPT_PROTOCOL"]),
            "accept_schema": list(current_app.config["SYNC_ACCEPT_SCHEMA"]),
            "refdata_version": snapshot.version if snapshot else 0,
            "max_batch_records": MAX_BATCH_RECORDS,
            "warnings": warnings,
        }
    )


def check_identity(ward: Ward, body: dict) -> None:
    """Refuse a restored or cloned ward database before it can reuse sequence numbers (hello
    and USB packages alike)."""
    instance, head = body.get("db_instance_id"), body.get("outbox_head_seq")
    if (
        not isinstance(instance, str)
        or not DB_INSTANCE_ID.fullmatch(instance)
        or not sequence_number(head)
    ):
        raise ProtocolError("BAD_PAYLOAD", "Thiếu hoặc sai mã cơ sở dữ liệu hay số thứ tự cuối.")
    new_instance = ward.db_instance_id is not None and instance != ward.db_instance_id
    if new_instance and not ward.rekey_allowed:
        raise ProtocolError(
            "NODE_REGRESSED",
            "Máy chủ thành phố không nhận ra cơ sở dữ liệu này (đã khôi phục "
            "hoặc sao chép sang máy khác). Đồng bộ dừng lại để không mất dữ liệu; quản trị chạy "
            "quy trình cấp lại khóa.",
            409,
            hub_acked_seq=ward.acked_seq,
        )
    if not new_instance and head < ward.acked_seq:
        raise ProtocolError(
            "NODE_REGRESSED",
            "Cơ sở dữ liệu của phường có ít bản ghi hơn máy chủ đã nhận "
            "(đã khôi phục từ bản sao lưu cũ). Đồng bộ dừng lại; quản trị chạy quy trình cấp lại "
            "khóa.",
            409,
            hub_acked_seq=ward.acked_seq,
        )


def _clock_skew(ward_utc, now: dt.datetime) -> int | None:
    """The ward's clock minus the hub's in seconds, within what the column holds; None when the
    ward sent no readable aware time."""
    try:
        ward_time = dt.datetime.fromisoformat(ward_utc)
        if ward_time.tzinfo is None:
            return None
        skew = int((ward_time - now).total_seconds())
    except (TypeError, ValueError, OverflowError):
        return None
    return max(-MAX_SKEW_S, min(MAX_SKEW_S, skew))


@bp.post("/push")
def push():
    raw = request.get_data(cache=False)
    if len(raw) > 2 * MAX_BATCH_BYTES:
        raise ProtocolError("TOO_LARGE", "Lô dữ liệu quá lớn.", 413)
    batch, text = decode_with_text(raw)
    try:
        answer = apply_in_transaction(
            g.ward, batch, source="http", config=current_app.config, text=text
        )
    except ProtocolError as e:
        if e.code not in ("GAP",):
            _record_error(f"{e.code}: {e.message}")
        raise
    fault("hub.after_commit_before_response")
    return jsonify(answer)


@bp.get("/refdata")
def refdata():
    snapshot = latest_snapshot()
    if snapshot is None:
        raise ProtocolError("NO_REFDATA", "Máy chủ chưa công bố dữ liệu danh mục.", 404)
    have = request.args.get("have", type=int)
    with write_transaction(db.session):
        db.session.get(Ward, g.ward.code).last_pull_ok_utc = utcnow()
    if have == snapshot.version:
        return "", 304
    return current_app.response_class(
        f'{{"version": {snapshot.version:d}, "sha256": "{snapshot.sha256}", '
        f'"snapshot": {snapshot.body}}}',
        mimetype="application/json",
    )


@bp.get("/reconcile")
def reconcile():
    """Per table: how many records the hub holds for this ward, and a checksum of uuid:version."""
    return jsonify(
        {
            "tables": {
                name: reconcile_digest(
                    db.session.execute(
                        sa.select(t.c.uuid, t.c.version)
                        .where(t.c.ward_code == g.ward.code)
                        .order_by(t.c.uuid)
                    )
                )
                for name, t in RECORD_TABLES.items()
            }
        }
    )


RECORDS_PAGE_MAX = 5000


@bp.get("/records")
def records():
    """One page of this ward's own records of one table, in uuid order (never another ward's).

    With every page come the hub's checkpoint and the digest of the record there, so the ward
    knows where its new numbering must start and whether its own history still matches the hub's.
    """
    table_name = request.args.get("table", "")
    if table_name not in RECORD_TABLES:
        raise ProtocolError("UNKNOWN_TABLE", f"Bảng phải là một trong: {', '.join(RECORD_TABLES)}.")
    limit = request.args.get("limit", 1000, type=int)
    if not 1 <= limit <= RECORDS_PAGE_MAX:
        raise ProtocolError("BAD_PAYLOAD", f"limit phải từ 1 đến {RECORDS_PAGE_MAX}.")
    after = request.args.get("after", "")
    if len(after) > 64 or "\x00" in after:
        raise ProtocolError("BAD_PAYLOAD", "after phải là mã bản ghi (tối đa 64 ký tự).")
    t = RECORD_TABLES[table_name]
    wire = [c for c in t.columns if c.name not in ("sync_sha256", "sync_seq", "synced_utc")]
    rows = db.session.execute(
        sa.select(*wire)
        .where(t.c.ward_code == g.ward.code, t.c.uuid > after)
        .order_by(t.c.uuid)
        .limit(limit)
    ).all()
    ward = db.session.get(Ward, g.ward.code)
    return jsonify(
        {
            "table": table_name,
            "acked_seq": ward.acked_seq,
            "acked_record_sha256": ward.acked_record_sha256,
            "records": [{k: json_value(v) for k, v in row._mapping.items()} for row in rows],
            "next_after": rows[-1].uuid if len(rows) == limit else None,
        }
    )
