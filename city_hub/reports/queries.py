"""The report as SQL aggregates: one ``SELECT … SUM(CASE …) … GROUP BY`` per table of figures,
and the dossiers behind any figure, from the same indicator conditions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from kernel.columns import utcnow
from kernel.workdays import to_local

from ..extensions import db
from ..models import Ward
from .indicators import (
    AVERAGES,
    COUNT_BY_CODE,
    COUNTS,
    DOSSIER,
    PROCEDURE,
    RATES,
    RATING,
    RECORD_COUNT_BY_CODE,
    RECORD_COUNTS,
    REFORM_RATES,
    RecordCount,
    Window,
    rate,
    sum_expression,
    touches,
)

GROUPINGS = {
    "ward": (DOSSIER.c.ward_code,),
    "field": (PROCEDURE.c.field,),
    "procedure": (DOSSIER.c.procedure_code, DOSSIER.c.procedure_name),
}
STALE_AFTER = dt.timedelta(hours=24)
CITY = "CITY"


class ReportError(ValueError):
    pass


@dataclass
class Row:
    key: str
    name: str
    counts: dict[str, int]
    complete_through: dt.datetime | None = None
    stale: bool = False
    rates: dict[str, float | None] = field(default_factory=dict)

    def __post_init__(self):
        # A breakdown by field or procedure holds only the dossier counts, not the reform
        # models' records (those are counted per ward): their rates are left out there.
        self.rates = {
            r.code: rate(self.counts[r.numerator], self.counts[r.denominator])
            for r in RATES + AVERAGES + REFORM_RATES
            if r.numerator in self.counts
        }


def _source():
    return DOSSIER.outerjoin(PROCEDURE, PROCEDURE.c.code == DOSSIER.c.procedure_code)


Wards = str | Sequence[str] | None  # a ward, or the wards a row of today's map sums


def ward_condition(column, ward: Wards):
    """``column`` names ``ward``, or one of the wards it is a sequence of."""
    return column == ward if isinstance(ward, str) else column.in_(ward or ())


def _filters(ward: Wards, field_name: str | None, procedure: str | None) -> list:
    conditions = []
    if ward:
        conditions.append(ward_condition(DOSSIER.c.ward_code, ward))
    if field_name:
        conditions.append(PROCEDURE.c.field == field_name)
    if procedure:
        conditions.append(DOSSIER.c.procedure_code == procedure)
    return conditions


def aggregate(
    window: Window,
    group: str,
    *,
    ward: Wards = None,
    field_name: str | None = None,
    procedure: str | None = None,
) -> list[Row]:
    """Every count of :data:`COUNTS` per group, in one SQL aggregate."""
    keys = GROUPINGS[group]
    sums = [sum_expression(c, window) for c in COUNTS]
    stmt = (
        sa.select(*keys, *sums)
        .select_from(_source())
        .where(touches(window), *_filters(ward, field_name, procedure))
        .group_by(*keys)
    )
    rows = []
    for result in db.session.execute(stmt):
        mapping = result._mapping
        key = mapping[keys[0]] or "–"
        name = mapping[keys[1]] if len(keys) > 1 else key
        rows.append(Row(key, name, {c.code: int(mapping[c.code] or 0) for c in COUNTS}))
    return rows


def ward_report(window: Window) -> list[Row]:
    """One row per registered ward (wards without dossiers included), then the city total;
    each row holds the dossier counts and the reform models' record counts."""
    by_ward = {row.key: row.counts for row in aggregate(window, "ward")}
    records = record_counts(window)
    now = utcnow()
    rows = []

    def counts_of(code: str) -> dict[str, int]:
        return {
            **by_ward.pop(code, dict.fromkeys(COUNT_BY_CODE, 0)),
            **dict.fromkeys(RECORD_COUNT_BY_CODE, 0),
            **records.pop(code, {}),
        }

    for ward in db.session.scalars(sa.select(Ward).order_by(Ward.code)):
        complete = ward.complete_through_utc
        rows.append(
            Row(
                ward.code,
                ward.name,
                counts_of(ward.code),
                complete,
                stale=complete is None or complete < min(window.end, now) - STALE_AFTER,
            )
        )
    for orphan in sorted(by_ward.keys() | records.keys()):  # a ward since removed
        rows.append(Row(orphan, orphan, counts_of(orphan), None, stale=True))
    total = {
        code: sum(r.counts[code] for r in rows) for code in (*COUNT_BY_CODE, *RECORD_COUNT_BY_CODE)
    }
    freshest = [r.complete_through for r in rows if r.complete_through]
    rows.append(
        Row(
            CITY,
            "Toàn thành phố",
            total,
            min(freshest) if freshest else None,
            stale=any(r.stale for r in rows),
        )
    )
    return rows


def _record_aggregate(counts: list[RecordCount], window: Window, key, *where):
    """One aggregate over the counts' table: each count as a FILTER, grouped by ``key``."""
    return db.session.execute(
        sa.select(
            key.label("key"),
            *(sa.func.count().filter(c.condition(window)).label(c.code) for c in counts),
        )
        .where(*where)
        .group_by(key)
    )


def record_counts(window: Window) -> dict[str, dict[str, int]]:
    """Every count of :data:`RECORD_COUNTS` per ward: one aggregate per record table."""
    by_table: dict[str, list[RecordCount]] = {}
    for count in RECORD_COUNTS:
        by_table.setdefault(count.table.name, []).append(count)
    by_ward: dict[str, dict[str, int]] = {}
    for counts in by_table.values():
        for row in _record_aggregate(counts, window, counts[0].table.c.ward_code):
            by_ward.setdefault(row.key, {}).update(
                {c.code: int(row._mapping[c.code] or 0) for c in counts}
            )
    return by_ward


def ratings_by_desk(window: Window, ward: Wards) -> list[Row]:
    """A ward's ratings per desk (the field of the rated dossier's procedure), with their
    satisfaction rates: reportable per desk, never per official."""
    counts = [c for c in RECORD_COUNTS if c.table is RATING]
    return [
        Row(row.key, row.key, {c.code: int(row._mapping[c.code] or 0) for c in counts})
        for row in _record_aggregate(
            counts, window, RATING.c.desk, ward_condition(RATING.c.ward_code, ward)
        )
        if row._mapping["ratings"]
    ]


def _behind(indicator: str, window: Window, **filters) -> list:
    """The WHERE clauses of the dossiers a count is made of (its own condition)."""
    count = COUNT_BY_CODE.get(indicator)
    if count is None or count.value is not None:
        raise ReportError("Chỉ tiêu không hợp lệ.")
    return [count.condition(window), *_filters(**filters)]


def count_behind(
    window: Window,
    indicator: str,
    *,
    ward: Wards = None,
    field_name: str | None = None,
    procedure: str | None = None,
) -> int:
    """How many dossiers a count is made of: the figure itself, for the drill-down's pages."""
    where = _behind(indicator, window, ward=ward, field_name=field_name, procedure=procedure)
    return db.session.scalar(sa.select(sa.func.count()).select_from(_source()).where(*where))


def dossiers_behind(
    window: Window,
    indicator: str,
    *,
    ward: Wards = None,
    field_name: str | None = None,
    procedure: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list:
    """The dossiers a count is made of, oldest received first (and by code, so that pages never
    overlap); ``limit`` and ``offset`` cut one page, without them every dossier is listed."""
    where = _behind(indicator, window, ward=ward, field_name=field_name, procedure=procedure)
    d = DOSSIER.c
    stmt = (
        sa.select(
            d.code,
            d.ward_code,
            d.applicant_name,
            d.procedure_name,
            d.channel,
            d.received_at,
            d.due_at,
            d.resolved_at,
            d.timeliness,
            d.status,
        )
        .select_from(_source())
        .where(*where)
        .order_by(d.received_at, d.code)
        .offset(offset)
        .limit(limit)
    )
    return list(db.session.execute(stmt))


def years_with_data() -> tuple[int, int] | None:
    """The first and last year (in Vietnam's time) a dossier the hub holds was received in.

    Asked per ward, so that each end is one seek in the report's index (ward, received, …)
    rather than a scan of every dossier of the city."""
    received, ward = DOSSIER.c.received_at, DOSSIER.c.ward_code

    def end(func):
        return sa.select(func(received)).where(ward == Ward.code).correlate(Ward).scalar_subquery()

    per_ward = (
        sa.select(end(sa.func.min).label("first"), end(sa.func.max).label("last"))
        .select_from(Ward)
        .subquery()
    )
    first, last = db.session.execute(
        sa.select(sa.func.min(per_ward.c.first), sa.func.max(per_ward.c.last))
    ).one()
    if first is None:
        return None
    return to_local(first).year, to_local(last).year
