"""Planning a city, without a database: every dossier of a preset's period and desks, with its
desk, the moment it is received, its procedure, channel and return method, and its fate
(resolved in time or late, refused, withdrawn, or still open at the end), with a supplement
pause or an apology where it has one. The plan meets the preset's :class:`Quotas` exactly, by
construction: the article's figures (docs/architecture.md, "The product in one paragraph") come
out of the hub's report to the unit.

Everything is drawn from ``random.Random`` seeded by the preset's seed, so the same preset gives
the same plan every time, whichever process plans it; each dossier carries a seed of its own for
:mod:`.write` to play it by.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from kernel.refdata import read_json
from kernel.workdays import WorkCalendar, local_datetime, to_local

from ..models import Procedure

# The city's own desk (Bộ phận Tiếp nhận và Trả kết quả thành phố) and its 13 wards and communes,
# with each desk's share of the intake (the central wards and the city desk are the busiest).
UNIT_WEIGHTS = {
    "883": 11,
    "30280": 10,
    "30283": 8,
    "30285": 6,
    "30286": 9,
    "30289": 8,
    "30292": 9,
    "30295": 7,
    "30298": 6,
    "30301": 8,
    "30304": 7,
    "30307": 6,
    "30310": 5,
    "30313": 6,
}
CITY_UNITS = tuple(UNIT_WEIGHTS)
# How often each procedure comes to a desk, within its online level; the others weigh 1.
PROCEDURE_WEIGHTS = {
    "2.000815": 40,
    "2.000884": 14,
    "2.001035": 5,
    "1.001193": 12,
    "1.000894": 5,
    "2.000908": 4,
    "1.004859": 3,
    "1.004884": 2,
    "1.001731": 2,
    "1.001653": 2,
    "2.000635": 14,
    "1.004873": 9,
    "1.000656": 5,
}
# Monday to Friday, then a weekend day made a working day (ngày làm bù), as quiet as a Friday
WEEKDAY_WEIGHTS = (1.2, 1.05, 1.0, 1.0, 0.85, 0.85, 0.85)


@dataclass(frozen=True)
class Quotas:
    """What the city's report must show for the period, exactly.

    ``in_time`` are resolved early or on time; the rest of ``resolved`` are late. The level-3
    and level-4 pairs are the online dossiers over all dossiers of the procedures offered at that
    level; ``postal`` counts dossiers received or returned by post. Received dossiers that are
    neither resolved, refused nor withdrawn are still open when the period ends.
    """

    received: int
    resolved: int
    in_time: int
    level3_dossiers: int
    level3_online: int
    level4_dossiers: int
    level4_online: int
    postal: int
    refused: int
    withdrawn: int

    @property
    def pending(self) -> int:
        return self.received - self.resolved - self.refused - self.withdrawn

    def scaled(self, received: int) -> Quotas:
        """The same proportions for ``received`` dossiers (rounded, so still whole dossiers)."""
        factor = received / self.received
        return Quotas(
            received,
            *(
                round(getattr(self, name) * factor)
                for name in (
                    "resolved",
                    "in_time",
                    "level3_dossiers",
                    "level3_online",
                    "level4_dossiers",
                    "level4_online",
                    "postal",
                    "refused",
                    "withdrawn",
                )
            ),
        )


# The article (docs/architecture.md, "The product in one paragraph"): January–September 2020, the 13
# wards and the city desk. 97% of the resolved were in time, 35% of the level-3 procedures' dossiers
# and 87% of the level-4 ones came online; the split of the 2,274 not resolved by 30 September is
# ours (about 1% refused, 0.5% withdrawn, the rest still open).
ARTICLE_QUOTAS = Quotas(
    received=93_316,
    resolved=91_042,
    in_time=88_311,
    level3_dossiers=45_703,
    level3_online=15_996,
    level4_dossiers=7_563,
    level4_online=6_580,
    postal=6_176,
    refused=930,
    withdrawn=470,
)


@dataclass(frozen=True)
class Preset:
    """A city to generate: the days [first, last], the desks, what the report must show, and
    ``until``, the moment the simulated clock stops (steps after it are not taken)."""

    first: dt.date
    last: dt.date
    units: tuple[str, ...]
    quotas: Quotas
    until: dt.datetime
    seed: int = 2020


def _midnight_after(day: dt.date) -> dt.datetime:
    return local_datetime(day + dt.timedelta(days=1), dt.time(0, 0))


ARTICLE = Preset(
    dt.date(2020, 1, 1),
    dt.date(2020, 9, 30),
    CITY_UNITS,
    ARTICLE_QUOTAS,
    _midnight_after(dt.date(2020, 9, 30)),
)


def working_days(calendar: WorkCalendar, first: dt.date, last: dt.date) -> list[dt.date]:
    days, day = [], first
    while day <= last:
        if calendar.is_working_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def city_preset(
    first: dt.date,
    last: dt.date,
    *,
    units: Sequence[str] = CITY_UNITS,
    scale: float = 1.0,
    until: dt.datetime | None = None,
    seed: int = 2020,
    calendar: WorkCalendar | None = None,
) -> Preset:
    """A city at the article's daily pace and proportions for another period or set of desks,
    times ``scale``; ``until`` defaults to the end of ``last``."""
    calendar = calendar or WorkCalendar()
    unknown = set(units) - UNIT_WEIGHTS.keys()
    if unknown:
        raise ValueError(f"không có đơn vị {', '.join(sorted(unknown))} trong danh mục")
    per_day = ARTICLE_QUOTAS.received / len(working_days(calendar, ARTICLE.first, ARTICLE.last))
    share = sum(UNIT_WEIGHTS[u] for u in units) / sum(UNIT_WEIGHTS.values())
    received = max(1, round(per_day * len(working_days(calendar, first, last)) * share * scale))
    return Preset(
        first,
        last,
        tuple(units),
        ARTICLE_QUOTAS.scaled(received),
        until or _midnight_after(last),
        seed,
    )


@dataclass(frozen=True)
class ProcedureInfo:
    code: str
    field: str
    online_level: str
    postal_allowed: bool
    duration_value: int
    duration_unit: str
    cutoff_15h: bool


def catalogue(rows: Sequence[Procedure] | None = None) -> dict[str, ProcedureInfo]:
    """The catalogue a plan draws from: a ward's active ``Procedure`` rows, or by default the
    shipped catalogue (what every desk and the hub start from)."""
    names = [f.name for f in fields(ProcedureInfo)]
    if rows is None:
        return {
            p["code"]: ProcedureInfo(*(p[n] for n in names))
            for p in read_json("procedures.json")["procedures"]
        }
    return {p.code: ProcedureInfo(*(getattr(p, n) for n in names)) for p in rows if p.active}


@dataclass(frozen=True)
class Planned:
    """One dossier of the plan. ``outcome`` is in_time, late, refused, withdrawn or open."""

    unit: str
    at: dt.datetime
    procedure: str
    channel: str = "desk"
    return_method: str = "desk"
    outcome: str = "in_time"
    supplement: bool = False
    apology: bool = False
    seed: int = 0


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in whole numbers in proportion to ``weights`` (largest remainder)."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def lunar_new_years(years: range) -> list[dt.date]:
    """The first day of Tết in each of ``years``."""
    import holidays

    return sorted(
        day
        for day, name in holidays.VN(years=years, language="vi").items()
        if name == "Tết Nguyên Đán"
    )


def day_weight(day: dt.date, tet_days: Sequence[dt.date]) -> float:
    """How busy a desk is on a working day: Mondays most; the three weeks before Tết busier, the
    fortnight after it quiet; April 2020's social distancing (Directive 16/CT-TTg) slower still."""
    weight = WEEKDAY_WEIGHTS[day.weekday()]
    for tet in tet_days:
        if dt.timedelta(0) < tet - day <= dt.timedelta(days=21):
            weight *= 1.35
        elif dt.timedelta(0) < day - tet <= dt.timedelta(days=14):
            weight *= 0.6
    if dt.date(2020, 4, 1) <= day <= dt.date(2020, 4, 22):
        weight *= 0.45
    return weight


def _intake_moment(rng: random.Random, day: dt.date, until: dt.datetime) -> dt.datetime | None:
    """A moment of office hours (7:30–11:30, 13:30–17:00, mornings busier) before ``until``."""
    minute = rng.triangular(0, 450, 60)
    minute += 120 if minute >= 240 else 0  # lunch 11:30–13:30
    moment = local_datetime(day, dt.time(7, 30)) + dt.timedelta(minutes=minute)
    return moment if moment < until else None


def plan_city(
    preset: Preset,
    procedures: dict[str, ProcedureInfo] | None = None,
    calendar: WorkCalendar | None = None,
) -> list[Planned]:
    """Every dossier of the preset's city, in order of receipt, meeting its quotas exactly."""
    procedures = procedures or catalogue()
    calendar = calendar or WorkCalendar()
    rng = random.Random(preset.seed)
    q = preset.quotas
    days = [
        d
        for d in working_days(calendar, preset.first, preset.last)
        if local_datetime(d, dt.time(7, 30)) < preset.until
    ]
    if not days:
        raise ValueError("kỳ đã chọn không có ngày làm việc nào")

    tet_days = lunar_new_years(range(days[0].year - 1, days[-1].year + 2))
    base = [day_weight(d, tet_days) for d in days]
    moments: list[tuple[dt.datetime, str]] = []
    for unit, total in zip(
        preset.units, apportion(q.received, [UNIT_WEIGHTS[u] for u in preset.units])
    ):
        weights = [w * rng.uniform(0.8, 1.2) for w in base]
        for day, count in zip(days, apportion(total, weights)):
            for _ in range(count):
                moment = None
                while moment is None:
                    moment = _intake_moment(rng, day, preset.until)
                moments.append((moment, unit))
    moments.sort()

    by_level: dict[str, list[ProcedureInfo]] = {}
    for info in procedures.values():
        by_level.setdefault(info.online_level, []).append(info)
    levels = (
        ["partial"] * q.level3_dossiers
        + ["full"] * q.level4_dossiers
        + ["none"] * (q.received - q.level3_dossiers - q.level4_dossiers)
    )
    rng.shuffle(levels)
    plans = []
    for (moment, unit), level in zip(moments, levels):
        choices = by_level[level]
        info = rng.choices(choices, [PROCEDURE_WEIGHTS.get(p.code, 1) for p in choices])[0]
        plans.append(Planned(unit, moment, info.code, seed=rng.getrandbits(64)))

    def pick(indices: list[int], count: int, what: str) -> list[int]:
        if count > len(indices):
            raise ValueError(f"kỳ quá ngắn hoặc quá ít hồ sơ để có {count} {what}")
        return rng.sample(indices, count)

    for level, channel, count in (
        ("partial", "online_partial", q.level3_online),
        ("full", "online_full", q.level4_online),
    ):
        at_level = [i for i, p in enumerate(plans) if procedures[p.procedure].online_level == level]
        for i in pick(at_level, count, f"hồ sơ {channel}"):
            plans[i] = replace(plans[i], channel=channel)
    postal = [i for i, p in enumerate(plans) if procedures[p.procedure].postal_allowed]
    for i in pick(postal, q.postal, "hồ sơ qua bưu chính"):
        if plans[i].channel == "desk" and rng.random() < 0.5:
            plans[i] = replace(plans[i], channel="postal")
        else:
            plans[i] = replace(plans[i], return_method="postal")
    return _assign_outcomes(plans, preset, procedures, calendar, days, rng)


def _assign_outcomes(
    plans: list[Planned],
    preset: Preset,
    procedures,
    calendar: WorkCalendar,
    days: list[dt.date],
    rng: random.Random,
) -> list[Planned]:
    """Open at the end: the newest dossiers not yet due when the period ends, then the newest
    of procedures that take days. Refused, withdrawn and late ones: from the dossiers with room
    for that before the clock stops. In time: the rest."""
    q = preset.quotas
    if q.pending < 0 or q.in_time > q.resolved:
        raise ValueError("chỉ tiêu không nhất quán")
    last_day = days[-1]
    due = [
        to_local(
            calendar.due_at(p.at, info.duration_value, info.duration_unit, info.cutoff_15h)
        ).date()
        for p in plans
        for info in (procedures[p.procedure],)
    ]
    newest_first = range(len(plans) - 1, -1, -1)
    ranked = sorted(
        newest_first,
        key=lambda i: (
            due[i] <= last_day,
            procedures[plans[i].procedure].duration_unit != "working_days",
        ),
    )
    open_ = ranked[: q.pending]  # a stable sort: newest first within each rank
    taken = set(open_)
    for i in open_:
        plans[i] = replace(plans[i], outcome="open", supplement=rng.random() < 0.1)

    room = [
        i for i in range(len(plans)) if i not in taken and to_local(plans[i].at).date() < last_day
    ]
    chosen = (
        rng.sample(room, q.refused + q.withdrawn) if len(room) >= q.refused + q.withdrawn else None
    )
    if chosen is None:
        raise ValueError("kỳ quá ngắn để có hồ sơ bị từ chối và rút")
    for n, i in enumerate(chosen):
        plans[i] = replace(plans[i], outcome="refused" if n < q.refused else "withdrawn")
    taken.update(chosen)

    late_room = [
        i
        for i in range(len(plans))
        if i not in taken and calendar.add_working_days(due[i], 3) <= last_day
    ]
    late = q.resolved - q.in_time
    if late > len(late_room):
        raise ValueError(f"kỳ quá ngắn để có {late} hồ sơ quá hạn")
    for i in rng.sample(late_room, late):
        info = procedures[plans[i].procedure]
        plans[i] = replace(
            plans[i],
            outcome="late",
            apology=(info.duration_unit == "working_days" and rng.random() < 0.6),
        )
        taken.add(i)
    pause_before = days[-6] if len(days) > 6 else days[0]  # room to return and be resolved
    for i, p in enumerate(plans):
        if i not in taken and to_local(p.at).date() < pause_before and rng.random() < 0.05:
            plans[i] = replace(p, supplement=True)
    return plans
