"""The ward's outgoing records as sync sees them: the outbox cut into contiguous batches, the
checkpoint the hub's acknowledgements move, what still waits, and the outbox numbered again for
a restored or cloned database. Used by the HTTP run (:mod:`.client`), the USB package
(:mod:`.usb`) and the recovery of a replacement PC (:mod:`.recovery`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import sqlalchemy as sa

from kernel.columns import new_uuid, utcnow

from ..database import write_transaction
from ..extensions import db
from ..models import Outbox, SyncNode, SyncReject, SyncState
from ..outbox import canonical_payload, outbox_row
from .faults import fault
from .protocol import (
    LEGACY_BATCH_RECORDS,
    MAX_BATCH_BYTES,
    PLACEHOLDER_PROTOCOL,
    PROTOCOL_VERSION,
    SYNCED_MODELS,
    WIRE_SCHEMA_VERSION,
    check_summary,
    reconcile_digest,
    record_text,
    superseded,
)


def sync_state() -> SyncState:
    state = db.session.get(SyncState, 1)
    if state is None:
        state = SyncState(id=1, acked_seq=0, refdata_version=0, consecutive_failures=0)
        db.session.add(state)
        db.session.flush()
    return state


def ward_identity() -> SyncNode:
    return db.session.get(SyncNode, 1)


def outbox_head() -> int:
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Outbox.seq), 0)))


def next_batch(
    after_seq: int, limit: int = LEGACY_BATCH_RECORDS, *, placeholders: bool = False
) -> dict | None:
    """The next contiguous batch after ``after_seq`` as one JSON-ready dict (see
    :func:`make_batch`)."""
    made = make_batch(after_seq, limit, placeholders=placeholders)
    return made and {**made[0], "records": json.loads(made[1])}


def make_batch(
    after_seq: int, limit: int, *, placeholders: bool = False
) -> tuple[dict, str] | None:
    """The next contiguous batch after ``after_seq`` (at most ``limit`` records and about 1 MB
    gzipped): its envelope, and the canonical JSON of its records made straight from the stored
    payloads, which are canonical already (nothing is decoded and encoded again).

    With ``placeholders`` (a hub that reads them), a version that a later row of this batch
    supersedes goes without its data (see :mod:`.protocol`): the hub would only count it stale.
    The batch is cut first, so whether a row is superseded depends on this batch alone.
    """
    rows = db.session.execute(
        sa.select(
            Outbox.seq,
            Outbox.table_name,
            Outbox.record_uuid,
            Outbox.op,
            Outbox.record_version,
            Outbox.payload,
        )
        .where(Outbox.seq > after_seq)
        .order_by(Outbox.seq)
        .limit(limit)
    ).all()
    raw_bytes, count = 0, 0
    for row in rows:
        raw_bytes += len(row.payload)
        if count and raw_bytes > 4 * MAX_BATCH_BYTES:  # JSON of records gzips about 4–8×
            break
        count += 1
    if not count:
        return None
    rows = rows[:count]
    dropped = (
        superseded([((r.table_name, r.record_uuid), r.record_version, True) for r in rows])
        if placeholders
        else [False] * count
    )
    text = (
        "["
        + ",".join(
            record_text(
                None if drop else canonical_payload(row.payload),
                row.op,
                row.seq,
                row.table_name,
                row.record_uuid,
                row.record_version,
            )
            for row, drop in zip(rows, dropped)
        )
        + "]"
    )
    node = ward_identity()
    return {
        "ward_code": node.ward_code,
        "db_instance_id": node.db_instance_id,
        "protocol_version": PLACEHOLDER_PROTOCOL if placeholders else PROTOCOL_VERSION,
        "schema_version": WIRE_SCHEMA_VERSION,
        "first_seq": rows[0].seq,
        "last_seq": rows[-1].seq,
        "count": count,
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }, text


def holds_record_at(seq: int, digest: str | None) -> bool:
    """Whether this outbox holds, at ``seq``, the very record whose digest the hub holds there
    (the test of a shared history after a restore)."""
    payload = db.session.scalar(sa.select(Outbox.payload).where(Outbox.seq == seq))
    return (
        payload is not None
        and hashlib.sha256(canonical_payload(payload).encode()).hexdigest() == digest
    )


def record_acknowledgement(answer: dict, first_seq: int, last_seq: int) -> dict:
    """Move the checkpoint for a verified answer, in one local transaction; returns the summary."""
    summary = check_summary(answer, first_seq, last_seq)
    fault("ward.after_response_before_local_commit")
    now = utcnow()
    with write_transaction():
        state = sync_state()
        if last_seq <= state.acked_seq:  # an old answer (a USB summary carried back late)
            return summary
        # Only the rows past the old checkpoint: a range scan of this batch, not of the
        # ward's whole history.
        db.session.execute(
            sa.update(Outbox)
            .where(
                Outbox.seq > state.acked_seq, Outbox.seq <= last_seq, Outbox.acked_at_utc.is_(None)
            )
            .values(acked_at_utc=now)
        )
        state.acked_seq = last_seq
        state.last_push_ok_utc = now
        state.last_summary = {"first_seq": first_seq, "last_seq": last_seq, **summary}
        for reject in answer.get("rejects", []):
            db.session.add(
                SyncReject(
                    seq=int(reject.get("seq") or 0),
                    table_name=str(reject.get("table"))[:40],
                    record_uuid=str(reject.get("uuid"))[:36],
                    record_version=int(reject.get("version") or 0),
                    code=str(reject.get("code"))[:40],
                    message=str(reject.get("message")),
                )
            )
    return summary


def set_acked(seq: int) -> None:
    """Take the hub's word for where the checkpoint stands (hello, GAP, rekey)."""
    with write_transaction():
        state = sync_state()
        if seq > state.acked_seq:
            db.session.execute(
                sa.update(Outbox)
                .where(
                    Outbox.seq > state.acked_seq, Outbox.seq <= seq, Outbox.acked_at_utc.is_(None)
                )
                .values(acked_at_utc=utcnow())
            )
        state.acked_seq = seq


def local_reconcile() -> dict:
    """The ward's side of the reconcile checksums, per synced table."""
    tables = {}
    for name, model in SYNCED_MODELS.items():
        rows = db.session.execute(sa.select(model.uuid, model.version).order_by(model.uuid))
        tables[name] = reconcile_digest(rows)
    return tables


def waiting_records() -> tuple[int, dt.datetime | None]:
    """How many outbox rows the hub has not acknowledged, and when the oldest was written."""
    acked = sync_state().acked_seq
    count = db.session.scalar(sa.select(sa.func.count()).where(Outbox.seq > acked))
    oldest = db.session.scalar(
        sa.select(Outbox.created_utc).where(Outbox.seq > acked).order_by(Outbox.seq).limit(1)
    )
    return count, oldest


def at_a_glance() -> tuple[dt.datetime | None, int]:
    """The footer's figures: when a sync last succeeded (the later of the last acknowledged
    push and the last reference-data pull, each set only on success) and how many outbox rows
    wait for the hub.

    Every page shows them, so this is one statement of primary-key lookups, never a count: the
    waiting rows are the ones numbered past the checkpoint, and the numbering has no holes (the
    outbox's AUTOINCREMENT rolls back with a failed write; only acknowledged rows are ever
    pruned; a rekey restarts past both the checkpoint and every row kept).
    """

    def state(column):
        return sa.select(column).where(SyncState.id == 1).scalar_subquery()

    head, acked, pushed, pulled = db.session.execute(
        sa.select(
            sa.select(sa.func.coalesce(sa.func.max(Outbox.seq), 0)).scalar_subquery(),
            state(SyncState.acked_seq),
            state(SyncState.last_push_ok_utc),
            state(SyncState.last_pull_ok_utc),
        )
    ).one()
    last = max((t for t in (pushed, pulled) if t is not None), default=None)
    return last, max(head - (acked or 0), 0)


def rekey(hub_acked_seq: int) -> int:
    """Recover a restored or cloned database: new identity, and every record sent again.

    Returns how many rows were queued (see :func:`queue_everything_again`).
    """
    with write_transaction():
        return queue_everything_again(hub_acked_seq)


def queue_everything_again(hub_acked_seq: int) -> int:
    """In the caller's write transaction: a new database instance id, outbox numbering that
    jumps past everything the hub has acknowledged, and a fresh outbox row for the current
    version of every record, so records written after the backup (whose sequence numbers the
    hub had already seen) arrive, and those the hub holds already come back ``unchanged``.
    """
    now = utcnow()
    ward_identity().db_instance_id = new_uuid()
    head = max(outbox_head(), hub_acked_seq)
    db.session.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'outbox'"))
    db.session.execute(
        sa.text("INSERT INTO sqlite_sequence(name, seq) VALUES ('outbox', :n)"), {"n": head}
    )
    rows = [
        outbox_row(record, now)
        for model in SYNCED_MODELS.values()
        for record in db.session.scalars(sa.select(model).execution_options(populate_existing=True))
    ]
    if rows:
        db.session.execute(sa.insert(Outbox), rows)
    state = sync_state()
    state.acked_seq = hub_acked_seq
    state.last_error = state.last_error_code = None
    return len(rows)
