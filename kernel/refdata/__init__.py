"""The reference data's shape: the units and procedure catalogue shipped with the product, and the
checks every snapshot passes, at the hub that publishes it and at the ward that applies it.

The files are data, not code: the catalogue is edited as JSON and checked strictly on load, so a
typo in a duration or an online level stops the load with a message instead of mis-dating
dossiers.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

DATA_DIR = Path(__file__).parent
DURATION_UNITS = {"same_day", "working_days"}
ONLINE_LEVELS = {"none", "partial", "full"}
DOCUMENT_KINDS = {"original", "copy", "original_or_copy"}
LETTERS = {None, "congratulation", "condolence"}


class ReferenceDataError(ValueError):
    pass


def read_json(name: str) -> dict:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def snapshot_date(value: str | None) -> dt.date | None:
    """A snapshot's date (ISO text, or null for an open end)."""
    return dt.date.fromisoformat(value) if value else None


def check_procedure(entry: dict) -> None:
    """Raise :class:`ReferenceDataError` naming the first problem of one catalogue entry."""
    where = entry.get("code", "?")
    required = {
        "code",
        "name",
        "field",
        "duration_value",
        "duration_unit",
        "cutoff_15h",
        "fee_amount",
        "fee_text",
        "online_level",
        "postal_allowed",
        "result",
        "legal_basis",
        "letter",
        "documents",
    }
    if missing := required - entry.keys():
        raise ReferenceDataError(f"{where}: missing {sorted(missing)}")
    if entry["duration_unit"] not in DURATION_UNITS:
        raise ReferenceDataError(f"{where}: duration_unit {entry['duration_unit']!r}")
    if (
        entry["duration_unit"] == "same_day"
        and entry["duration_value"] != 0
        or entry["duration_unit"] == "working_days"
        and not (isinstance(entry["duration_value"], int) and entry["duration_value"] >= 1)
    ):
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
        if (
            doc.get("kind") not in DOCUMENT_KINDS
            or not isinstance(doc.get("quantity"), int)
            or doc["quantity"] < 1
            or not isinstance(doc.get("required"), bool)
        ):
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
            if not (
                isinstance(u["code"], str)
                and isinstance(u["name"], str)
                and isinstance(u["agency_code"], str)
            ):
                raise ReferenceDataError(f"unit {u!r}")
            snapshot_date(u["valid_from"]), snapshot_date(u["valid_to"])
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
