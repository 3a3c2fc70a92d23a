"""Reference data at the hub: numbered, immutable snapshots that wards pull whole."""

from __future__ import annotations

import hashlib
import json
import re

import sqlalchemy as sa

from kernel.refdata import check_snapshot, read_json
from kernel.text import nfc
from wardapp.sync.protocol import canonical_json

from .extensions import db
from .models import RefdataSnapshot, RefProcedure, Ward


def latest_snapshot() -> RefdataSnapshot | None:
    return db.session.scalar(
        sa.select(RefdataSnapshot).order_by(RefdataSnapshot.version.desc()).limit(1)
    )


def snapshot_units() -> list[dict]:
    """The units of the newest snapshot (each with its validity and successors), or of the
    shipped catalogue on a hub that has published none yet."""
    current = latest_snapshot()
    return json.loads(current.body)["units"] if current else read_json("units.json")["units"]


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


OFFICIAL_CODE = re.compile(r"[0-9]{2,10}")


def correct_unit(snapshot: dict, code: str, new_code: str, name: str, confirmed: bool) -> str:
    """Correct a unit whose code is not confirmed yet (in ``snapshot``): its code and name, and
    whether the code is now the official one. Every unit naming it (as successor or parent)
    follows. Refused once a desk syncs under the code: its dossiers' codes begin with it and
    never change. Returns what changed, in Vietnamese."""
    by_code = {u["code"]: u for u in snapshot["units"]}
    unit = by_code.get(code)
    if unit is None:
        raise ValueError("không có đơn vị này")
    if unit.get("code_confirmed", True):
        raise ValueError(f"mã {code} của {unit['name']} đã được xác nhận, không sửa ở đây")
    new_code, name = new_code.strip(), nfc(name).strip()
    if not OFFICIAL_CODE.fullmatch(new_code):
        raise ValueError("mã đơn vị là 2 đến 10 chữ số")
    if not name or len(name) > 120:
        raise ValueError("cần tên đơn vị (tối đa 120 ký tự)")
    if new_code != code:
        if new_code in by_code:
            raise ValueError(f"mã {new_code} đã là mã của {by_code[new_code]['name']}")
        if db.session.get(Ward, code) is not None:
            raise ValueError(
                f"{unit['name']} đã đăng ký đồng bộ với mã {code}: mã hồ sơ của đơn vị bắt đầu "
                "bằng mã này nên không đổi được nữa"
            )
    before = f"{unit['name']} ({code})"
    if unit["agency_code"] == code:
        unit["agency_code"] = new_code
    unit.update(code=new_code, name=name, code_confirmed=confirmed)
    for other in snapshot["units"]:
        other["successor_codes"] = [
            new_code if s == code else s for s in other.get("successor_codes", [])
        ]
        if other["parent_code"] == code:
            other["parent_code"] = new_code
    mark = "đã xác nhận" if confirmed else "chưa xác nhận"
    return f"đơn vị {before} → {name} ({new_code}, mã {mark})"


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
