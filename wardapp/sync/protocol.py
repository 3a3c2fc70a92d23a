"""The sync wire format, shared by the ward (which writes it) and the hub (which checks it).

A batch is a contiguous run of outbox rows. Its ``sha256`` is taken over the canonical JSON of
its records, so truncation and corruption are caught after decompression, and the same range sent
twice with other bytes is told apart from an honest replay. The record columns are the ward's own
model columns, so a record's shape is defined once, by :mod:`wardapp.sync.records`.

A record is ``{seq, table, uuid, op, version, data}``. A long backlog carries several versions of
the same record (a dossier received, handed over, resolved, returned), and the hub keeps only
the newest, so a ward may send a version that a later record *of the same batch* supersedes as a
placeholder instead: ``{seq, table, uuid, op, version, "superseded": true}``, with no ``data``.
The hub counts a placeholder ``stale`` when a later record of the batch, owned by the same ward,
brings the same record at a higher version, and rejects it otherwise; a batch is thus complete by
itself and its digest covers placeholders as any record. A batch that may hold placeholders says
protocol ``PLACEHOLDER_PROTOCOL`` (2), which a hub that cannot read them refuses whole (it accepts
1 only) instead of rejecting them one by one; hello still says 1, so every hub talks to every
ward, and a ward sends placeholders only to a hub whose ``accept_protocol`` at hello reaches 2.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import json
import re
import zlib

import sqlalchemy as sa

from .records import (
    NOT_SYNCED,
    AuditEntry,
    Dossier,
    DossierEvent,
    Feedback,
    Inspection,
    Letter,
    Rating,
    User,
)

PROTOCOL_VERSION = 1  # what a ward says at hello and in a batch of full records
PLACEHOLDER_PROTOCOL = 2  # a batch that may hold superseded placeholders (see above)
# 2: the reform models' tables and dossier columns. A hub that knows only 1 refuses a ward at 2
# whole (it would quarantine the new tables' records), so the hub is upgraded first.
# 3: the dossier's rating code (the hub stores it from its migration 0011).
WIRE_SCHEMA_VERSION = 3
LEGACY_BATCH_RECORDS = 500  # what every hub accepts (a hub that does not say otherwise at hello)
BATCH_RECORDS = 1000  # what a ward sends when the hub accepts it
MAX_BATCH_RECORDS = 2000  # what this hub accepts, told to wards at hello
MAX_BATCH_BYTES = 1_000_000  # compressed, on the wire
MAX_INFLATED_BYTES = 24 * 1024 * 1024  # a gzip bomb stops here
SYNCED_MODELS = {
    "user": User,
    "dossier": Dossier,
    "dossier_event": DossierEvent,
    "audit_log": AuditEntry,
    "letter": Letter,
    "rating": Rating,
    "feedback": Feedback,
    "inspection": Inspection,
}

# Data ownership (docs/architecture.md): a unit writes only its own records, and a record may name
# only records of the same unit. Per synced table, each column that names another synced record
# and the table of that record; the hub refuses a record naming a record another unit holds.
# tests/test_sync_ownership.py fails when a synced table or a column naming a record is added
# without its line here.
REFERENCES: dict[str, dict[str, str]] = {
    "user": {},
    "dossier": {"received_by_uuid": "user", "assignee_uuid": "user"},
    "dossier_event": {"dossier_uuid": "dossier", "actor_uuid": "user", "to_user_uuid": "user"},
    "audit_log": {},
    "letter": {"dossier_uuid": "dossier", "issued_by_uuid": "user"},
    "rating": {"dossier_uuid": "dossier", "entered_by_uuid": "user"},
    "feedback": {"recorded_by_uuid": "user", "assignee_uuid": "user", "answered_by_uuid": "user"},
    "inspection": {
        "supersedes_uuid": "inspection",
        "created_by_uuid": "user",
        "signed_by_uuid": "user",
    },
}
# The human code a record carries, which must begin with one of its unit's own codes and be
# unique at the hub (the dossier code on every receipt).
OWN_CODE_COLUMNS: dict[str, str] = {"dossier": "code"}
# The codes of a refusal for ownership: such a record is not the pushing unit's to write.
OWNERSHIP_CODES = frozenset(
    {"WRONG_WARD", "UUID_TAKEN", "FOREIGN_REFERENCE", "CODE_NOT_OWNED", "CODE_TAKEN"}
)
# The largest number a sequence number, a head or a version may be: every database the hub runs
# on stores it (a 64-bit column), with room to add one.
MAX_SEQ = 2**62
# A ward database's identity as hello and a USB manifest carry it (a uuid, as the ward makes it).
DB_INSTANCE_ID = re.compile(r"[0-9A-Za-z-]{8,36}")


class ProtocolError(Exception):
    """A request or answer that breaks the protocol; ``code`` is the stable machine code."""

    def __init__(self, code: str, message: str, status: int = 400, **details):
        super().__init__(message)
        self.code, self.message, self.status, self.details = code, message, status, details

    def as_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, **self.details}}


def wire_columns(table_name: str) -> list[sa.Column]:
    """The columns a record of ``table_name`` carries on the wire."""
    return [c for c in SYNCED_MODELS[table_name].__table__.columns if c.name not in NOT_SYNCED]


_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def canonical_text(value) -> str:
    """Canonical JSON (sorted keys, no blanks, Vietnamese kept as UTF-8): the one form a record is
    stored in the outbox, sent in and hashed in, so a batch is made without re-encoding."""
    return _CANONICAL.encode(value)


def json_value(value):
    """A column value as it travels in JSON (aware datetimes as UTC ISO text)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def canonical_json(value) -> bytes:
    return canonical_text(value).encode()


def records_digest(records: list[dict]) -> str:
    return hashlib.sha256(canonical_json(records)).hexdigest()


def record_digest(data) -> str:
    """The digest of one record's data, the same on both sides (canonical JSON)."""
    return hashlib.sha256(canonical_json(data)).hexdigest()


_string = json.encoder.encode_basestring  # what the canonical encoder writes for a str


def record_text(
    data_text: str | None, op: str, seq: int, table: str, uuid: str, version: int
) -> str:
    """The canonical JSON of one record of a batch, around its data's canonical JSON; with
    ``data_text`` None, of its superseded placeholder (no ``data``)."""
    if data_text is None:
        return (
            f'{{"op":{_string(op)},"seq":{seq},"superseded":true,"table":{_string(table)},'
            f'"uuid":{_string(uuid)},"version":{version}}}'
        )
    return (
        f'{{"data":{data_text},"op":{_string(op)},"seq":{seq},"table":{_string(table)},'
        f'"uuid":{_string(uuid)},"version":{version}}}'
    )


def superseded(entries: list[tuple[tuple, int, bool] | None]) -> list[bool]:
    """For each entry ``(key, version, succeeds)`` of a batch, in sequence order, whether a later
    entry with the same key and ``succeeds`` brings a higher version (None entries take no part).

    The one rule of both sides: the ward sends a placeholder where this holds over all its rows,
    and the hub counts a placeholder stale where it holds over the full records it accepted from
    the ward, so the two cannot drift apart. Nothing past the batch is looked at.
    """
    newest: dict[tuple, int] = {}
    flags = [False] * len(entries)
    for at in range(len(entries) - 1, -1, -1):
        if entries[at] is None:
            continue
        key, version, succeeds = entries[at]
        later = newest.get(key)
        flags[at] = later is not None and later > version
        if succeeds and (later is None or version > later):
            newest[key] = version
    return flags


def _frame(body: dict) -> tuple[str, str]:
    """The canonical JSON of ``body`` before and after its records' value (whatever ``body``
    holds under ``records`` is left out): how a ward frames a batch and what the hub expects."""

    def member(key: str) -> str:
        return canonical_text(key) + ":" + canonical_text(body[key])

    keys = sorted(k for k in body if k != "records")
    head = "{" + "".join(member(k) + "," for k in keys if k < "records") + '"records":'
    return head, "".join("," + member(k) for k in keys if k > "records") + "}"


def encode(body: dict, records_json: str | None = None) -> bytes:
    """Gzip the canonical JSON of ``body``; with ``records_json`` (the canonical JSON of the
    records, already made), that is the body's ``records``."""
    if records_json is None:
        text = canonical_text(body)
    else:
        head, tail = _frame(body)
        text = head + records_json + tail
    return gzip.compress(text.encode(), compresslevel=6, mtime=0)


def decode(raw: bytes, limit: int = MAX_INFLATED_BYTES) -> dict:
    """Inflate and parse a gzip JSON body, refusing more than ``limit`` bytes inflated."""
    return decode_with_text(raw, limit)[0]


def decode_with_text(raw: bytes, limit: int = MAX_INFLATED_BYTES) -> tuple[dict, bytes]:
    """:func:`decode`, and the inflated JSON text (a batch's digest is checked over it)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, limit + 1)
        if len(data) > limit or inflater.unconsumed_tail:
            raise ProtocolError("TOO_LARGE", "Dữ liệu giải nén vượt quá giới hạn.", 413)
        if not inflater.eof:
            raise ProtocolError("BAD_PAYLOAD", "Dữ liệu nén bị cắt cụt.")
    except zlib.error:
        raise ProtocolError("BAD_PAYLOAD", "Dữ liệu nén hoặc JSON không hợp lệ.") from None
    return parse_object(data), data


# Where a JSON text may hold a lone surrogate: a \uD800–\uDFFF escape, or such a code point
# written in UTF-8 (which ``json.loads`` lets through from bytes).
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def parse_object(data: bytes) -> dict:
    """The JSON object in ``data``, or :class:`ProtocolError` (400 BAD_PAYLOAD).

    Every body the hub takes from a ward (a hello, a batch pushed or in a USB package) passes
    here, so what the rest of the code meets is text it can encode and store: nesting too deep
    for the parser, invalid UTF-8 and strings holding a lone surrogate (no database and no UTF-8
    encoder takes one) are refused whole, as a damaged body. A well-formed pair of surrogate
    escapes is one character and passes; the scan for lone ones runs only where the text could
    hold one.
    """
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ProtocolError("BAD_PAYLOAD", "Dữ liệu nén hoặc JSON không hợp lệ.") from None
    if not isinstance(body, dict):
        raise ProtocolError("BAD_PAYLOAD", "Nội dung phải là một đối tượng JSON.")
    if _MAYBE_SURROGATE.search(data) and _holds_lone_surrogate(body):
        raise ProtocolError(
            "BAD_PAYLOAD", "Dữ liệu chứa ký tự Unicode không hợp lệ (surrogate đơn lẻ)."
        )
    return body


def _holds_lone_surrogate(value) -> bool:
    """Whether any string in ``value`` (keys included) holds a lone surrogate; iterative, so
    nesting the parser accepted cannot overflow the stack here."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode()
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def sequence_number(value) -> bool:
    """Whether ``value`` may be a sequence number, a head or a version: an int (never a bool)
    from 0 to :data:`MAX_SEQ`."""
    return type(value) is int and 0 <= value <= MAX_SEQ


def _int(body: dict, name: str, minimum: int = 0) -> int:
    value = body.get(name)
    if not sequence_number(value) or value < minimum:
        raise ProtocolError(
            "BAD_PAYLOAD", f"Trường {name} phải là số nguyên từ {minimum} đến {MAX_SEQ}."
        )
    return value


def check_batch(batch: dict, text: bytes | None = None) -> None:
    """Check a batch's envelope: contiguous sequence numbers, count and digest.

    ``text`` is the JSON the batch was parsed from. A ward writes it canonical, so the records'
    canonical JSON is a slice of it and the digest is checked over those bytes without encoding
    the records again; any other text is checked by encoding them. Records themselves are checked
    one by one when applied, so that one bad record is rejected without blocking the rest.
    """
    first, last, count = (
        _int(batch, "first_seq", 1),
        _int(batch, "last_seq", 1),
        _int(batch, "count", 1),
    )
    records = batch.get("records")
    if not isinstance(records, list) or not records:
        raise ProtocolError("BAD_PAYLOAD", "Lô dữ liệu không có bản ghi.")
    if len(records) != count or count != last - first + 1 or count > MAX_BATCH_RECORDS:
        raise ProtocolError("BAD_PAYLOAD", "Số bản ghi không khớp với khoảng số thứ tự.")
    for offset, record in enumerate(records):
        if not isinstance(record, dict) or record.get("seq") != first + offset:
            raise ProtocolError("BAD_PAYLOAD", "Số thứ tự các bản ghi không liên tục.")
    claimed = batch.get("sha256")
    try:
        records_json = text and _records_slice(batch, text)
        if records_json and hashlib.sha256(records_json).hexdigest() == claimed:
            return
        matches = claimed == records_digest(records)
    except (RecursionError, ValueError):  # nesting the encoder will not take; NaN keys
        matches = False
    if not matches:
        raise ProtocolError("BAD_PAYLOAD", "Mã băm của lô không khớp (dữ liệu hỏng hoặc bị cắt).")


def _records_slice(batch: dict, text: bytes) -> bytes | None:
    """The bytes of ``text`` that begin with the records, if ``text`` is the canonical JSON of
    ``batch`` around them (None otherwise).

    Every other member is encoded again and must frame the slice exactly, and ``"records":``
    (only ever a key: a quote inside a string is escaped) must occur once, so the records were
    parsed from the start of the slice and the slice decides them: bytes that hash to the claimed
    digest prove the same records a ward hashed, as encoding them again would.
    """
    head, tail = (part.encode() for part in _frame(batch))
    if text.startswith(head) and text.endswith(tail) and text.count(b'"records":') == 1:
        return text[len(head) : len(text) - len(tail)]
    return None


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
