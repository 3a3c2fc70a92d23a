"""Reference data shipped with the app (units, procedure catalogue), until the hub publishes it.

The files are data, not code: the catalogue is edited as JSON and checked strictly on load, so a
typo in a duration or an online level stops the load with a message instead of mis-dating
dossiers.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import sqlalchemy as sa

from ..extensions import db
from ..models import CalendarOverride, Procedure, Unit
from ..text import fold, nfc

DATA_DIR = Path(__file__).parent
DURATION_UNITS = {"same_day", "working_days"}
ONLINE_LEVELS = {"none", "partial", "full"}
DOCUMENT_KINDS = {"original", "copy", "original_or_copy"}
LETTERS = {None, "congratulation", "condolence"}


class ReferenceDataError(ValueError):
    pass


def read_json(name: str) -> dict:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def _date(value):
    return dt.date.fromisoformat(value) if value else None


def check_procedure(entry: dict) -> None:
    """Raise :class:`ReferenceDataError` naming the first problem of one catalogue entry."""
    where = entry.get("code", "?")
    required = {"code", "name", "field", "duration_value", "duration_unit", "cutoff_15h",
                "fee_amount", "fee_text", "online_level", "postal_allowed", "result",
                "legal_basis", "letter", "documents"}
    if missing := required - entry.keys():
        raise ReferenceDataError(f"{where}: missing {sorted(missing)}")
    if entry["duration_unit"] not in DURATION_UNITS:
        raise ReferenceDataError(f"{where}: duration_unit {entry['duration_unit']!r}")
    if entry["duration_unit"] == "same_day" and entry["duration_value"] != 0 or \
            entry["duration_unit"] == "working_days" and not (
                isinstance(entry["duration_value"], int) and entry["duration_value"] >= 1):
        raise ReferenceDataError(f"{where}: duration_value {entry['duration_value']!r}")
    if entry["online_level"] not in ONLINE_LEVELS:
        raise ReferenceDataError(f"{where}: online_level {entry['online_level']!r}")
    if entry["letter"] not in LETTERS:
        raise ReferenceDataError(f"{where}: letter {entry['letter']!r}")
    if not isinstance(entry["fee_amount"], int) or entry["fee_amount"] < 0:
        raise ReferenceDataError(f"{where}: fee_amount {entry['fee_amount']!r}")
    docs = entry["documents"]
    if not docs or len({d["name"] for d in docs}) != len(docs):
        raise ReferenceDataError(f"{where}: documents empty or repeated")
    for doc in docs:
        if doc.get("kind") not in DOCUMENT_KINDS or not isinstance(doc.get("quantity"), int) \
                or doc["quantity"] < 1 or not isinstance(doc.get("required"), bool):
            raise ReferenceDataError(f"{where}: document {doc!r}")


def snapshot_from_files() -> dict:
    """The reference data shipped in this folder, in the shape the hub publishes snapshots."""
    catalogue = read_json("procedures.json")
    regime = catalogue.get("regime", "2018")
    return {
        "units": read_json("units.json")["units"],
        "procedures": [{**p, "regime": p.get("regime", regime)} for p in catalogue["procedures"]],
        "calendar_overrides": [],
    }


def check_snapshot(snapshot: dict) -> None:
    """Raise :class:`ReferenceDataError` unless every part of ``snapshot`` is well formed."""
    try:
        units, procedures = snapshot["units"], snapshot["procedures"]
        overrides = snapshot["calendar_overrides"]
        for u in units:
            if not (isinstance(u["code"], str) and isinstance(u["name"], str)
                    and isinstance(u["agency_code"], str)):
                raise ReferenceDataError(f"unit {u!r}")
            _date(u["valid_from"]), _date(u["valid_to"])
        for o in overrides:
            dt.date.fromisoformat(o["day"])
            if not isinstance(o["is_working_day"], bool):
                raise ReferenceDataError(f"override {o!r}")
    except (KeyError, TypeError, ValueError) as e:
        raise ReferenceDataError(f"malformed snapshot: {e!r}") from None
    if len({p.get("code") for p in procedures}) != len(procedures):
        raise ReferenceDataError("repeated procedure code")
    for entry in procedures:
        check_procedure(entry)


def apply_snapshot(snapshot: dict) -> dict[str, int]:
    """Make the reference tables equal ``snapshot`` (in the caller's transaction).

    Procedures missing from the snapshot are deactivated, not deleted: old dossiers still name
    them. Returns how many units, procedures and overrides the snapshot holds.
    """
    check_snapshot(snapshot)
    for u in snapshot["units"]:
        db.session.merge(Unit(code=u["code"], name=nfc(u["name"]), kind=u["kind"],
                              parent_code=u["parent_code"], agency_code=u["agency_code"],
                              valid_from=_date(u["valid_from"]), valid_to=_date(u["valid_to"])))
    for p in snapshot["procedures"]:
        name = nfc(p["name"])
        db.session.merge(Procedure(
            code=p["code"], name=name, field=nfc(p["field"]),
            duration_value=p["duration_value"], duration_unit=p["duration_unit"],
            cutoff_15h=p["cutoff_15h"], fee_amount=p["fee_amount"], fee_text=nfc(p["fee_text"]),
            online_level=p["online_level"], postal_allowed=p["postal_allowed"],
            result=nfc(p["result"]), legal_basis=nfc(p["legal_basis"]), letter=p["letter"],
            documents=[{**d, "name": nfc(d["name"])} for d in p["documents"]],
            regime=p.get("regime", "2018"),
            search_text=fold(f"{p['code']} {name} {p['field']}"), active=True))
    shipped = {p["code"] for p in snapshot["procedures"]}
    db.session.execute(sa.update(Procedure).where(Procedure.code.not_in(shipped))
                       .values(active=False))
    db.session.execute(sa.delete(CalendarOverride))
    for o in snapshot["calendar_overrides"]:
        db.session.add(CalendarOverride(day=dt.date.fromisoformat(o["day"]),
                                        is_working_day=o["is_working_day"],
                                        reason=nfc(o.get("reason", ""))))
    db.session.flush()
    return {"units": len(snapshot["units"]), "procedures": len(snapshot["procedures"]),
            "calendar_overrides": len(snapshot["calendar_overrides"])}


def load_reference_data() -> dict[str, int]:
    """Load the shipped units and procedures (a new ward, before its first pull from the hub)."""
    return apply_snapshot(snapshot_from_files())
