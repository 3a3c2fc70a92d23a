"""The transactional outbox: every write of a ward-owned record leaves a row to sync.

A session hook, not each service function, appends the rows: a model marked ``__outbox__ = True``
cannot be inserted or updated without its snapshot landing in ``outbox`` in the same transaction,
so a crash can never leave a record the hub will not hear about. Ward-owned records are never
deleted (a withdrawal or a disabled account is a new version), and the hook refuses deletes.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import PassiveFlag

from kernel.columns import utcnow
from kernel.database import DriverTable

from .models import Outbox
from .sync.protocol import canonical_text, json_value
from .sync.records import NOT_SYNCED


def canonical_payload(payload: str) -> str:
    """An outbox payload in canonical form. Rows written before release 0.2 kept ``json.dumps``'
    default blanks; they are told by the blank after the first key (a column name, which holds
    no quote) and re-encoded."""
    if payload.startswith('{"'):
        end = payload.find('"', 2)
        if payload.startswith(": ", end + 1):
            return canonical_text(json.loads(payload))
    return payload


def snapshot(record) -> dict:
    """The record as a JSON-ready dict of its columns, as sync sends it.

    Loaded values are read from the instance's dict (the attribute machinery costs more than
    the rest of a snapshot); an expired attribute is loaded through ``getattr``."""
    loaded = record.__dict__
    return {
        key: json_value(loaded[key] if key in loaded else getattr(record, key))
        for key in synced_keys(type(record))
    }


@functools.cache
def synced_keys(model) -> tuple[str, ...]:
    """The attributes of a model that sync carries, sorted as canonical JSON orders them."""
    return tuple(
        sorted(attr.key for attr in sa.inspect(model).column_attrs if attr.key not in NOT_SYNCED)
    )


def _is_outboxed(record) -> bool:
    return getattr(type(record), "__outbox__", False)


@event.listens_for(Session, "before_flush")
def _refuse_deletes(session, flush_context, instances):
    for record in session.deleted:
        if _is_outboxed(record):
            raise ValueError(f"{type(record).__tablename__} records are never deleted")


@event.listens_for(Session, "after_flush")
def _append_outbox_rows(session, flush_context):
    changed = [r for r in session.new if _is_outboxed(r)]
    changed += [r for r in session.dirty if _is_outboxed(r) and _is_modified(r)]
    if not changed:
        return
    now = utcnow()
    connection = session.connection()
    writer = _outbox_writer(connection.dialect)
    connection.exec_driver_sql(
        writer.insert_sql, [writer.bind(outbox_values(r, now)) for r in changed]
    )


def _is_modified(record) -> bool:
    """``Session.is_modified(record, include_collections=False)``, asking only the attributes
    the flush had changes of (an attribute without committed state has no history), not all
    of the model's."""
    state = sa.inspect(record)
    if not state.modified:
        return False
    attributes, dict_ = state.manager, state.dict
    for key in state.committed_state:
        impl = attributes[key].impl
        if hasattr(impl, "get_collection") or not hasattr(impl, "get_history"):
            continue
        added, _, deleted = impl.get_history(state, dict_, passive=PassiveFlag.NO_CHANGE)
        if added or deleted:
            return True
    return False


OUTBOX_COLUMNS = [
    "table_name",
    "record_uuid",
    "op",
    "record_version",
    "payload",
    "payload_sha256",
    "created_utc",
]
_writers: dict = {}


def _outbox_writer(dialect) -> DriverTable:
    """The outbox's INSERT for the driver, made once per kind of database: a flush's rows go
    in one ``executemany`` without SQLAlchemy compiling and processing a Core insert each time
    (the values pass the same bind processors)."""
    key = (type(dialect), dialect.paramstyle)
    writer = _writers.get(key)
    if writer is None:
        writer = _writers[key] = DriverTable(
            Outbox.__table__, OUTBOX_COLUMNS, dialect, key="record_uuid"
        )
    return writer


def outbox_values(record, now: dt.datetime) -> list:
    """The values of the outbox row carrying ``record``'s current version, in the order of
    :data:`OUTBOX_COLUMNS`."""
    payload = canonical_text(snapshot(record))
    return [
        type(record).__tablename__,
        record.uuid,
        "upsert",
        record.version,
        payload,
        hashlib.sha256(payload.encode()).hexdigest(),
        now,
    ]


def outbox_row(record, now: dt.datetime) -> dict:
    """The outbox row that carries ``record``'s current version to the hub."""
    return dict(zip(OUTBOX_COLUMNS, outbox_values(record, now)))
