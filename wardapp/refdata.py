"""The ward's reference tables made equal to a snapshot: the shipped one for a new ward, the
hub's newest after each pull (its shape and checks are the kernel's, :mod:`kernel.refdata`)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from kernel.refdata import check_snapshot, snapshot_date, snapshot_from_files
from kernel.text import fold, nfc

from .extensions import db
from .models import CalendarOverride, Procedure, SyncNode, Unit


def apply_snapshot(snapshot: dict) -> dict[str, int]:
    """Make the reference tables equal ``snapshot`` (in the caller's transaction).

    Procedures missing from the snapshot are deactivated, not deleted: old dossiers still name
    them. Units missing from it (a provisional code the hub has since corrected) are removed,
    except this desk's own unit. Returns how many units, procedures and overrides the snapshot
    holds.
    """
    check_snapshot(snapshot)
    for u in snapshot["units"]:
        db.session.merge(
            Unit(
                code=u["code"],
                name=nfc(u["name"]),
                kind=u["kind"],
                parent_code=u["parent_code"],
                agency_code=u["agency_code"],
                valid_from=snapshot_date(u["valid_from"]),
                valid_to=snapshot_date(u["valid_to"]),
                successor_codes=u.get("successor_codes", []),
                code_confirmed=u.get("code_confirmed", True),
            )
        )
    for p in snapshot["procedures"]:
        name = nfc(p["name"])
        db.session.merge(
            Procedure(
                code=p["code"],
                name=name,
                field=nfc(p["field"]),
                duration_value=p["duration_value"],
                duration_unit=p["duration_unit"],
                cutoff_15h=p["cutoff_15h"],
                fee_amount=p["fee_amount"],
                fee_text=nfc(p["fee_text"]),
                online_level=p["online_level"],
                postal_allowed=p["postal_allowed"],
                result=nfc(p["result"]),
                legal_basis=nfc(p["legal_basis"]),
                letter=p["letter"],
                documents=[{**d, "name": nfc(d["name"])} for d in p["documents"]],
                regime=p.get("regime", "2018"),
                search_text=fold(f"{p['code']} {name} {p['field']}"),
                active=True,
            )
        )
    listed = {u["code"] for u in snapshot["units"]}
    own = sa.select(SyncNode.ward_code).scalar_subquery()
    db.session.execute(sa.delete(Unit).where(Unit.code.not_in(listed), Unit.code.not_in(own)))
    shipped = {p["code"] for p in snapshot["procedures"]}
    db.session.execute(
        sa.update(Procedure).where(Procedure.code.not_in(shipped)).values(active=False)
    )
    db.session.execute(sa.delete(CalendarOverride))
    for o in snapshot["calendar_overrides"]:
        db.session.add(
            CalendarOverride(
                day=dt.date.fromisoformat(o["day"]),
                is_working_day=o["is_working_day"],
                reason=nfc(o.get("reason", "")),
            )
        )
    db.session.flush()
    return {
        "units": len(snapshot["units"]),
        "procedures": len(snapshot["procedures"]),
        "calendar_overrides": len(snapshot["calendar_overrides"]),
    }


def load_reference_data() -> dict[str, int]:
    """Load the shipped units and procedures (a new ward, before its first pull from the hub)."""
    return apply_snapshot(snapshot_from_files())
