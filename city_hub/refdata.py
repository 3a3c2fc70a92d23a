"""Reference data at the hub: numbered, immutable snapshots that wards pull whole."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from kernel.refdata import check_snapshot
from wardapp.sync.protocol import canonical_json

from .extensions import db
from .models import RefdataSnapshot, RefProcedure


def latest_snapshot() -> RefdataSnapshot | None:
    return db.session.scalar(
        sa.select(RefdataSnapshot).order_by(RefdataSnapshot.version.desc()).limit(1)
    )


def publish(snapshot: dict) -> RefdataSnapshot:
    """Check ``snapshot`` and store it as the next version (in the caller's transaction); the
    reports' procedure table follows the newest snapshot."""
    check_snapshot(snapshot)
    body = canonical_json(snapshot).decode()
    current = latest_snapshot()
    published = RefdataSnapshot(
        version=(current.version if current else 0) + 1,
        body=body,
        sha256=hashlib.sha256(body.encode()).hexdigest(),
    )
    db.session.add(published)
    db.session.execute(sa.delete(RefProcedure))
    db.session.execute(
        sa.insert(RefProcedure),
        [
            {
                k: p[k]
                for k in (
                    "code",
                    "name",
                    "field",
                    "online_level",
                    "postal_allowed",
                    "duration_value",
                    "duration_unit",
                )
            }
            for p in snapshot["procedures"]
        ],
    )
    return published


_AGENCY_CODES: dict[str, dict[str, str]] = {}  # snapshot digest -> unit code -> agency code


def unit_codes(unit_code: str) -> tuple[str, ...]:
    """The codes a unit's dossier codes may begin with: the unit's own code and the agency code
    the newest snapshot gives it (the province's electronic agency ID, once issued).

    Read on every push, so each snapshot is parsed once and kept by its digest.
    """
    newest = db.session.execute(
        sa.select(RefdataSnapshot.sha256).order_by(RefdataSnapshot.version.desc()).limit(1)
    ).scalar()
    if newest is None:
        return (unit_code,)
    if newest not in _AGENCY_CODES:
        body = db.session.scalar(
            sa.select(RefdataSnapshot.body).where(RefdataSnapshot.sha256 == newest).limit(1)
        )
        _AGENCY_CODES[newest] = {u["code"]: u["agency_code"] for u in json.loads(body)["units"]}
    agency = _AGENCY_CODES[newest].get(unit_code)
    return (unit_code,) if agency in (None, unit_code) else (unit_code, agency)
