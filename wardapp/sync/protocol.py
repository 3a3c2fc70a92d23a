"""The sync wire format, shared by the ward (which writes it) and the hub (which checks it).

A batch is a contiguous run of outbox rows. Its ``sha256`` is taken over the canonical JSON of
its records, so truncation and corruption are caught after decompression, and the same range sent
twice with other bytes is told apart from an honest replay. The record columns are the ward's own
model columns, so a record's shape is defined once, by :mod:`wardapp.models`.
"""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import json
import zlib

import sqlalchemy as sa

from ..models import (AuditEntry, Dossier, DossierEvent, Feedback, Inspection, JSONText, Letter,
                      Rating, User, UTCDateTime)
from ..outbox import NOT_SYNCED

PROTOCOL_VERSION = 1
# 2: the reform models' tables and dossier columns. A hub that knows only 1 refuses a ward at 2
# whole (it would quarantine the new tables' records), so the hub is upgraded first.
WIRE_SCHEMA_VERSION = 2
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 1_000_000          # compressed, on the wire
MAX_INFLATED_BYTES = 24 * 1024 * 1024  # a gzip bomb stops here
SYNCED_MODELS = {"user": User, "dossier": Dossier, "dossier_event": DossierEvent,
                 "audit_log": AuditEntry, "letter": Letter, "rating": Rating,
                 "feedback": Feedback, "inspection": Inspection}


class ProtocolError(Exception):
    """A request or answer that breaks the protocol; ``code`` is the stable machine code."""

    def __init__(self, code: str, message: str, status: int = 400, **details):
        super().__init__(message)
        self.code, self.message, self.status, self.details = code, message, status, details

    def as_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, **self.details}}


class RecordRejected(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def wire_columns(table_name: str) -> list[sa.Column]:
    """The columns a record of ``table_name`` carries on the wire."""
    return [c for c in SYNCED_MODELS[table_name].__table__.columns if c.name not in NOT_SYNCED]


def canonical_json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def records_digest(records: list[dict]) -> str:
    return hashlib.sha256(canonical_json(records)).hexdigest()


def record_digest(data) -> str:
    """The digest of one record's data, the same on both sides (canonical JSON)."""
    return hashlib.sha256(canonical_json(data)).hexdigest()


def encode(body: dict) -> bytes:
    return gzip.compress(canonical_json(body), compresslevel=6, mtime=0)


def decode(raw: bytes, limit: int = MAX_INFLATED_BYTES) -> dict:
    """Inflate and parse a gzip JSON body, refusing more than ``limit`` bytes inflated."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, limit + 1)
        if len(data) > limit or inflater.unconsumed_tail:
            raise ProtocolError("TOO_LARGE", "Dữ liệu giải nén vượt quá giới hạn.", 413)
        if not inflater.eof:
            raise ProtocolError("BAD_PAYLOAD", "Dữ liệu nén bị cắt cụt.")
        body = json.loads(data)
    except (zlib.error, ValueError, UnicodeDecodeError):
        raise ProtocolError("BAD_PAYLOAD", "Dữ liệu nén hoặc JSON không hợp lệ.") from None
    if not isinstance(body, dict):
        raise ProtocolError("BAD_PAYLOAD", "Nội dung phải là một đối tượng JSON.")
    return body


def _int(body: dict, name: str, minimum: int = 0) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ProtocolError("BAD_PAYLOAD", f"Trường {name} phải là số nguyên ≥ {minimum}.")
    return value


def check_batch(batch: dict) -> None:
    """Check a batch's envelope: contiguous sequence numbers, count and digest.

    Records themselves are checked one by one when applied, so that one bad record is rejected
    without blocking the rest.
    """
    first, last, count = _int(batch, "first_seq", 1), _int(batch, "last_seq", 1), \
        _int(batch, "count", 1)
    records = batch.get("records")
    if not isinstance(records, list) or not records:
        raise ProtocolError("BAD_PAYLOAD", "Lô dữ liệu không có bản ghi.")
    if len(records) != count or count != last - first + 1 or count > MAX_BATCH_RECORDS:
        raise ProtocolError("BAD_PAYLOAD", "Số bản ghi không khớp với khoảng số thứ tự.")
    for offset, record in enumerate(records):
        if not isinstance(record, dict) or record.get("seq") != first + offset:
            raise ProtocolError("BAD_PAYLOAD", "Số thứ tự các bản ghi không liên tục.")
    if batch.get("sha256") != records_digest(records):
        raise ProtocolError("BAD_PAYLOAD", "Mã băm của lô không khớp (dữ liệu hỏng hoặc bị cắt).")


OUTCOMES = ("inserted", "updated", "unchanged", "stale", "rejected", "conflicts")


def check_summary(answer: dict, first_seq: int, last_seq: int) -> dict:
    """Verify the hub's answer to a push before the ward trusts it; returns its summary.

    Only a well-formed answer whose counts add up and whose acknowledged sequence is exactly the
    batch's last counts as success (a captive portal's 200 page never does).
    """
    if not isinstance(answer, dict):
        raise ProtocolError("BAD_ANSWER", "Máy chủ trả lời không đúng định dạng.")
    summary = answer.get("summary")
    if answer.get("acked_seq") != last_seq or not isinstance(summary, dict):
        raise ProtocolError("BAD_ANSWER", "Máy chủ không xác nhận đúng lô vừa gửi.")
    counts = [summary.get(k) for k in ("received", *OUTCOMES)]
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
        raise ProtocolError("BAD_ANSWER", "Bản tổng hợp của máy chủ thiếu số liệu.")
    if counts[0] != sum(counts[1:]) or counts[0] != last_seq - first_seq + 1:
        raise ProtocolError("BAD_ANSWER", "Bản tổng hợp của máy chủ không cân đối.")
    rejects = answer.get("rejects", [])
    if not isinstance(rejects, list) or not all(isinstance(r, dict) for r in rejects):
        raise ProtocolError("BAD_ANSWER", "Danh sách bản ghi bị từ chối không hợp lệ.")
    return summary


def _check_value(column: sa.Column, value):
    kind = column.type
    if isinstance(kind, JSONText):
        if not isinstance(value, (list, dict)):
            raise TypeError
        return value
    if isinstance(kind, UTCDateTime):
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise TypeError
        return parsed
    if isinstance(kind, sa.Boolean):
        if not isinstance(value, bool):
            raise TypeError
        return value
    if isinstance(kind, sa.Integer):
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 2**62:
            raise TypeError
        return value
    if isinstance(kind, sa.Date):
        return dt.date.fromisoformat(value)
    if isinstance(kind, (sa.String, sa.Text)):
        if not isinstance(value, str) or (getattr(kind, "length", None) or 10**6) < len(value):
            raise TypeError
        return value
    raise TypeError


def clean_record(table_name: str, data) -> dict:
    """The record's column values, typed, or :class:`RecordRejected` naming the first problem.

    Unknown fields are ignored, so a newer ward may send columns an older hub does not know; a
    column added later (it has a server default) that an older ward does not send yet takes its
    default.
    """
    if table_name not in SYNCED_MODELS:
        raise RecordRejected("UNKNOWN_TABLE", f"Bảng {table_name!r} không được đồng bộ.")
    if not isinstance(data, dict):
        raise RecordRejected("INVALID", "Bản ghi phải là một đối tượng JSON.")
    clean = {}
    for column in wire_columns(table_name):
        value = data.get(column.name)
        if value is None and column.name not in data and column.server_default is not None:
            value = column.default.arg
        if value is None:
            if column.primary_key or not column.nullable:
                raise RecordRejected("INVALID", f"Thiếu trường bắt buộc {column.name}.")
            clean[column.name] = None
            continue
        try:
            clean[column.name] = _check_value(column, value)
        except (TypeError, ValueError):
            raise RecordRejected("INVALID", f"Trường {column.name} không hợp lệ.") from None
    return clean


def reconcile_digest(rows) -> dict:
    """Count and checksum of ``(uuid, version)`` rows sorted by uuid: equal on both sides when
    the hub holds exactly the ward's records."""
    digest = hashlib.sha256()
    count = 0
    for uuid, version in rows:
        digest.update(f"{uuid}:{version}\n".encode())
        count += 1
    return {"count": count, "sha256": digest.hexdigest()}


def package_key(token: str) -> str:
    """The key that signs USB packages and their summaries, derived from the ward's token.

    The hub keeps this derived key (and only a hash of the token itself), so a USB package can be
    checked offline while a copy of the hub database still cannot log in as the ward.
    """
    return hmac.new(token.encode(), b"wardapp-usb-package-v1", hashlib.sha256).hexdigest()


def sign(key: str, document: dict) -> str:
    return hmac.new(key.encode(), canonical_json(document), hashlib.sha256).hexdigest()


def verify(key: str, document: dict, signature) -> bool:
    return isinstance(signature, str) and hmac.compare_digest(sign(key, document), signature)
