"""Reference data at the hub: numbered, immutable snapshots that wards pull whole."""
from __future__ import annotations

import hashlib

import sqlalchemy as sa

from wardapp.refdata import check_snapshot
from wardapp.sync.protocol import canonical_json

from .extensions import db
from .models import RefdataSnapshot, RefProcedure


def latest_snapshot() -> RefdataSnapshot | None:
    return db.session.scalar(sa.select(RefdataSnapshot).order_by(RefdataSnapshot.version.desc())
                             .limit(1))


def publish(snapshot: dict) -> RefdataSnapshot:
    """Check ``snapshot`` and store it as the next version (in the caller's transaction); the
    reports' procedure table follows the newest snapshot."""
    check_snapshot(snapshot)
    body = canonical_json(snapshot).decode()
    current = latest_snapshot()
    published = RefdataSnapshot(version=(current.version if current else 0) + 1, body=body,
                                sha256=hashlib.sha256(body.encode()).hexdigest())
    db.session.add(published)
    db.session.execute(sa.delete(RefProcedure))
    db.session.execute(sa.insert(RefProcedure), [
        {k: p[k] for k in ("code", "name", "field", "online_level", "postal_allowed",
                           "duration_value", "duration_unit")}
        for p in snapshot["procedures"]])
    return published
