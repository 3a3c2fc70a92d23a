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
    """A snapshot refused, with the reason in Vietnamese; ``problem`` (a stable machine word)
    and ``unit`` (the unit's code) say which rule and where, for a program or a test to read."""

    def __init__(self, message: str, *, problem: str = "malformed", unit: str | None = None):
        super().__init__(message)
        self.problem, self.unit = problem, unit


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
            successors = u.get("successor_codes", [])
            if not (
                isinstance(u.get("code_confirmed", True), bool)
                and isinstance(successors, list)
                and all(isinstance(c, str) for c in successors)
            ):
                raise ReferenceDataError(f"unit {u!r}")
        for o in overrides:
            dt.date.fromisoformat(o["day"])
            if not isinstance(o["is_working_day"], bool):
                raise ReferenceDataError(f"override {o!r}")
    except (KeyError, TypeError, ValueError) as e:
        raise ReferenceDataError(f"malformed snapshot: {e!r}") from None
    check_units(units)
    if len({p.get("code") for p in procedures}) != len(procedures):
        raise ReferenceDataError("repeated procedure code")
    for entry in procedures:
        check_procedure(entry)


def valid_on(unit: dict, day: dt.date) -> bool:
    """Whether ``unit`` exists on ``day`` (an open end is no limit)."""
    first, last = snapshot_date(unit["valid_from"]), snapshot_date(unit["valid_to"])
    return (first is None or first <= day) and (last is None or day <= last)


def check_units(units: list[dict]) -> None:
    """Refuse units whose history does not hold together: a repeated code, a unit ending before
    it starts, a successor missing from the snapshot or not in existence the day after its
    predecessor ends, a chain of successors that comes back to where it began."""

    def refuse(problem: str, unit: str, message: str):
        raise ReferenceDataError(f"Đơn vị {unit}: {message}", problem=problem, unit=unit)

    by_code: dict[str, dict] = {}
    for u in units:
        if u["code"] in by_code:
            refuse("repeated_code", u["code"], "mã đơn vị bị lặp trong danh mục.")
        by_code[u["code"]] = u
    for u in units:
        for s in u.get("successor_codes", []):
            if s not in by_code:
                message = f"đơn vị kế thừa {s} không có trong danh mục."
                refuse("successor_missing", u["code"], message)
    for u in units:  # before the dates, which a cycle cannot satisfy, so it is named as one
        seen, todo = set(), list(u.get("successor_codes", []))
        while todo:
            s = todo.pop()
            if s == u["code"]:
                refuse("cycle", s, "chuỗi đơn vị kế thừa quay lại chính đơn vị này.")
            if s not in seen:
                seen.add(s)
                todo.extend(by_code[s].get("successor_codes", []))
    for u in units:
        code, first, last = u["code"], snapshot_date(u["valid_from"]), snapshot_date(u["valid_to"])
        if first and last and last < first:
            refuse("dates", code, f"hết hiệu lực ({last:%d/%m/%Y}) trước khi có hiệu lực.")
        successors = u.get("successor_codes", [])
        if successors and last is None:
            refuse("dates", code, "có đơn vị kế thừa nhưng chưa có ngày hết hiệu lực.")
        after = last + dt.timedelta(days=1) if last else None
        for s in successors:
            if after and not valid_on(by_code[s], after):
                refuse(
                    "dates",
                    code,
                    f"đơn vị kế thừa {s} chưa có hiệu lực vào ngày {after:%d/%m/%Y}, ngày sau "
                    "khi đơn vị này hết hiệu lực.",
                )


def unit_today(units_by_code: dict[str, dict], code: str, day: dt.date) -> str:
    """The unit that ``code`` has become by ``day``, following its successors (Đông Xuyên →
    Mỹ Xuyên → Phường Long Xuyên); a unit still in existence, with no successor, or unknown to
    the snapshot stays itself. A unit split in several takes its first successor, the one its
    records go to."""
    unit = units_by_code.get(code)
    while unit and unit.get("successor_codes") and (snapshot_date(unit["valid_to"]) or day) < day:
        code = unit["successor_codes"][0]
        unit = units_by_code.get(code)
    return code
