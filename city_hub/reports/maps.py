"""Which map a report is drawn on: the units of its period, or the units of today.

A dossier belongs for ever to the unit that received it (its ``ward_code`` at receipt). On the
period's map every unit that existed at some time in the period is a row with its own dossiers
(a year across a merger shows both the merged units and their successor). On today's map each of
today's units is a row summing the dossiers of every unit that became it, following successor
chains (Đông Xuyên → Mỹ Xuyên → Phường Long Xuyên). Rows are folded, never re-counted, so the
city total is the same on both maps. The units and their successors come from the newest
reference-data snapshot (:func:`city_hub.refdata.snapshot_units`), never from code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace

import sqlalchemy as sa

from kernel.columns import utcnow
from kernel.refdata import snapshot_date, unit_today
from kernel.workdays import to_local

from ..extensions import db
from ..models import Ward
from ..refdata import snapshot_units
from .periods import Period
from .queries import Row

MAPS = {
    "period": "Đơn vị hành chính của kỳ báo cáo",
    "today": "Đơn vị hành chính hiện nay",
}
DEFAULT = "period"


@dataclass(frozen=True)
class UnitMap:
    kind: str  # a key of MAPS
    units: dict[str, dict]  # the newest snapshot's units by code
    today: dt.date

    @property
    def label(self) -> str:
        return MAPS[self.kind]

    def unit_of(self, code: str) -> str:
        """The row a unit's dossiers are counted in on this map."""
        return unit_today(self.units, code, self.today) if self.kind == "today" else code

    def members(self, code: str) -> tuple[str, ...]:
        """The units whose dossiers a row of this map holds: on today's map every unit (of the
        snapshot or registered) that became ``code``, on the period's map ``code`` alone."""
        if self.kind != "today":
            return (code,)
        known = self.units.keys() | set(db.session.scalars(sa.select(Ward.code)))
        return tuple(sorted({c for c in known if self.unit_of(c) == code} | {code}))

    def name(self, code: str, fallback: str) -> str:
        unit = self.units.get(code)
        return unit["name"] if unit else fallback

    def existed_in(self, code: str, period: Period) -> bool:
        """Whether the unit existed at some time in ``period`` (a unit the snapshot does not
        know is taken to have)."""
        unit = self.units.get(code)
        if unit is None:
            return True
        first, last = snapshot_date(unit["valid_from"]), snapshot_date(unit["valid_to"])
        return (first is None or first <= period.last) and (last is None or period.first <= last)

    def is_unit(self, code: str) -> bool:
        """Whether ``code`` names a row of this map that may not be a registered ward: one of
        today's units on today's map."""
        return self.kind == "today" and code in self.units and self.unit_of(code) == code

    def record(self, code: str):
        """The unit's sync state as a report's heading shows it: the registered ward itself, or
        on today's map a unit drawn from its predecessors (their last contact and push, the
        earliest time through which all of them are complete)."""
        ward = db.session.get(Ward, code)
        if self.kind != "today" or (ward is not None and self.members(code) == (code,)):
            return ward
        wards = list(db.session.scalars(sa.select(Ward).where(Ward.code.in_(self.members(code)))))

        def latest(name: str):
            return max((getattr(w, name) for w in wards if getattr(w, name)), default=None)

        complete = [w.complete_through_utc for w in wards]
        return SimpleNamespace(
            code=code,
            name=self.name(code, code),
            last_seen_utc=latest("last_seen_utc"),
            last_push_ok_utc=latest("last_push_ok_utc"),
            complete_through_utc=min(complete) if complete and None not in complete else None,
        )


def unit_map(kind: str = DEFAULT, today: dt.date | None = None) -> UnitMap:
    return UnitMap(
        kind, {u["code"]: u for u in snapshot_units()}, today or to_local(utcnow()).date()
    )


def on_map(rows: list[Row], units: UnitMap, period: Period) -> list[Row]:
    """The ward table (:func:`.queries.ward_report`, the city total last) drawn on ``units``.

    On the period's map a registered unit that did not exist in the period and has nothing in
    it is left out. On today's map each row is folded into the unit it became: counts added,
    complete only as far as its least complete predecessor. The city total is kept as it is.
    """
    *wards, city = rows
    if units.kind != "today":
        kept = [r for r in wards if units.existed_in(r.key, period) or any(r.counts.values())]
        return [*kept, city]
    folded: dict[str, list[Row]] = {}
    for row in wards:
        folded.setdefault(units.unit_of(row.key), []).append(row)
    today = []
    for code, members in sorted(folded.items()):
        complete = [r.complete_through for r in members]
        today.append(
            Row(
                code,
                units.name(code, members[0].name),
                {k: sum(r.counts[k] for r in members) for k in members[0].counts},
                None if None in complete else min(complete),  # type: ignore[type-var]
                stale=any(r.stale for r in members),
            )
        )
    return [*today, city]
