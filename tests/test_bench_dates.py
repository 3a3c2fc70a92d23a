"""The benchmarks build their wards on any day of the calendar (issue 18: ``bench_sync.py``
failed early in a month with "a copy would end in the future").

Every date a build derives comes from ``benchlib.now()``; here it is set to the days where the
calendar bites: the 1st, 2nd and last day of a month, 1 January, and just after Tết (a seed
month whose first week is the holiday). For each: the sync seed ends last month, before today,
with room for the late dossiers the generator must place in it; the generator plans it; and the
copies of a seed whose open dossiers are closed weeks after today all end in the past."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

# bench/ is not a package: imported from its path
import benchlib
import build_ward_db
import sync_wards

from demo.city import seed_preset, small_preset
from kernel.workdays import WorkCalendar, local_datetime, to_local
from wardapp.generator.plan import plan_city

TODAYS = {
    "the 1st of a month": dt.date(2026, 12, 1),
    "the 2nd of a month": dt.date(2027, 4, 2),
    "the last day of a month": dt.date(2026, 12, 31),
    "the last day of February": dt.date(2028, 2, 29),
    "1 January": dt.date(2027, 1, 1),
    "2 January": dt.date(2026, 1, 2),
    "just after Tết (Tết 2027, 6 February)": dt.date(2027, 2, 15),
    "the month after Quốc khánh (1–2 September off in 2026)": dt.date(2026, 10, 1),
    "the month after Tết in its first week (Tết 2030, 3 February)": dt.date(2030, 3, 1),
    "the month after Tết 2038 (only 1 February worked of 1–7)": dt.date(2038, 3, 2),
}


def moments(day: dt.date) -> list[dt.datetime]:
    """Just after midnight and late at night, local: the two ends of the same ``today``."""
    return [local_datetime(day, dt.time(0, 1)), local_datetime(day, dt.time(23, 59))]


@pytest.fixture(params=list(TODAYS.values()), ids=list(TODAYS))
def today(request):
    return request.param


@pytest.mark.parametrize("profile", list(sync_wards.PROFILES))
def test_the_sync_seed_ends_last_month_with_room_for_its_late_dossiers(today, profile):
    calendar = WorkCalendar()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    for now in moments(today):
        until = sync_wards.seed_until(sync_wards.PROFILES[profile]["seed_day"], now)
        end = to_local(until).date()
        assert until < now
        assert (end.year, end.month) == (last_month.year, last_month.month)
        worked = [
            last_month + dt.timedelta(days=i)
            for i in range(end.day)
            if calendar.is_working_day(last_month + dt.timedelta(days=i))
        ]
        assert len(worked) >= sync_wards.SEED_WORKING_DAYS


def test_the_generator_plans_every_seed(today):
    """What ``make_seed`` plays: the sync wards' month (the longest seed day and the shortest)
    and the desk ward's three months up to now (``build_ward_db.py``'s defaults)."""
    now = moments(today)[0]
    days = {p["seed_day"] for p in sync_wards.PROFILES.values()}
    for day in days:
        until = sync_wards.seed_until(day, now)
        assert plan_city(seed_preset(sync_wards.SINGLE_UNIT, months=1, seed=3000, until=until))
    assert plan_city(seed_preset(build_ward_db.UNIT, months=3, seed=2020, until=now))


def test_the_small_demo_plans_on_any_day(today):
    """bench_demo.py's (2) runs ``wardapp demo --small``: the 30 days up to yesterday."""
    assert plan_city(small_preset(now=moments(today)[0]))


def test_the_seed_end_comes_from_benchlib_now(monkeypatch):
    monkeypatch.setattr(benchlib, "now", lambda: local_datetime(dt.date(2030, 3, 1), dt.time(9)))
    assert to_local(sync_wards.seed_until(7)).date() == dt.date(
        2030, 2, 13
    )  # 7, 8, 11, 12, 13 worked


def seed_templates(first: dt.datetime, last_receipt: dt.datetime, closed_after: dt.datetime):
    """Seed dossiers received from ``first`` to ``last_receipt`` whose last step (the open
    ones closed in the copies) is as late as ``closed_after``."""
    templates = []
    span = last_receipt - first
    for i in range(40):
        received = first + span * i / 39
        t = build_ward_db.Template({"received_at": received}, [], [])
        end = closed_after if i % 4 == 0 else received + dt.timedelta(hours=3)
        t.times = [received, end]
        templates.append(t)
    return templates


@pytest.mark.parametrize("profile", list(sync_wards.PROFILES))
def test_the_copies_end_before_now(today, profile, monkeypatch):
    p = sync_wards.PROFILES[profile]
    for now in moments(today):
        monkeypatch.setattr(benchlib, "now", lambda now=now: now)
        until = sync_wards.seed_until(p["seed_day"])
        first = local_datetime(to_local(until).date().replace(day=1), dt.time(7, 30))
        # the open dossiers' last steps run past today, by up to the longest procedure
        templates = seed_templates(first, until, now + dt.timedelta(weeks=9))
        for target, years in ((p["single"], p["single_years"]), (p["city"], p["city_years"])):
            # the nearest copy's place does not depend on how many there are: 5,000 at most
            entries, plan = build_ward_db.plan_copies(templates, min(max(target, 41), 5000), years)
            assert build_ward_db.copies_end(templates, plan) < first < benchlib.now()
            assert max(received for received, *_ in entries) < first
