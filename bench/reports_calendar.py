"""The kernel's deadline rules as arrays, for generating millions of dossiers cheaply.

:class:`kernel.workdays.WorkCalendar` walks day by day and works on aware UTC times; the city
generator (:mod:`reports_city`) asks it for due days, pauses and timeliness some ten million
times, on local wall-clock times. :class:`Days` answers the same questions from arrays made once
from the kernel's calendar (which days work) and constants (the 15:00 cut-off, closing time, the
zone's offset); :func:`disagreements` compares it with the kernel on a sample, and the build
refuses to start when they differ (so do the tests: ``tests/test_bench_calendar.py``).
"""

from __future__ import annotations

import datetime as dt
import random

from kernel.workdays import (
    CUTOFF,
    LOCAL_TZ,
    OFFICE_CLOSES,
    WorkCalendar,
    local_datetime,
    timeliness,
    to_local,
)

# Asia/Ho_Chi_Minh has had no daylight saving time since 1975: one offset for the whole span.
UTC_OFFSET = LOCAL_TZ.utcoffset(dt.datetime(2025, 1, 1))


class Days:
    """The ward calendar (:class:`WorkCalendar`, no overrides) from ``first`` to ``last`` as
    arrays. Dates and times are local and naive."""

    def __init__(self, first: dt.date, last: dt.date, calendar: WorkCalendar | None = None):
        self.calendar = calendar or WorkCalendar()
        self.first = first
        span = (last - first).days + 1
        self.working = [self.calendar.is_working_day(first + dt.timedelta(i)) for i in range(span)]
        self.list = [first + dt.timedelta(i) for i in range(span) if self.working[i]]
        # index in self.list of the first working day on or after each day
        self.at_or_after, j = [], 0
        for i in range(span):
            while j < len(self.list) and self.list[j] < first + dt.timedelta(i):
                j += 1
            self.at_or_after.append(j)

    def is_working(self, day: dt.date) -> bool:
        return self.working[(day - self.first).days]

    def index(self, working_day: dt.date) -> int:
        return self.at_or_after[(working_day - self.first).days]

    def next_working(self, day: dt.date) -> dt.date:
        """``WorkCalendar.next_working_day``: the first working day strictly after ``day``."""
        return self.list[self.at_or_after[(day - self.first).days + 1]]

    def working_or_next(self, day: dt.date) -> dt.date:
        """``day`` if it is a working day, else the next working day."""
        return day if self.is_working(day) else self.next_working(day)

    def add(self, working_day: dt.date, count: int) -> dt.date:
        """``WorkCalendar.add_working_days`` from a working day."""
        return self.list[self.index(working_day) + count]

    def between(self, start: dt.date, end: dt.date) -> int:
        """``WorkCalendar.working_days_between``: working days in (start, end]."""
        if end <= start:
            return 0
        return (
            self.at_or_after[(end - self.first).days + 1]
            - self.at_or_after[(start - self.first).days + 1]
        )

    def clock_start(self, received: dt.datetime) -> dt.date:
        """``WorkCalendar.clock_start_day`` of a local time."""
        day = received.date()
        if self.is_working(day) and received.time() < CUTOFF:
            return day
        return self.next_working(day)

    def due_day(self, received: dt.datetime, value: int, unit: str, cutoff: bool) -> dt.date:
        """The local day of ``WorkCalendar.due_at``."""
        if unit == "same_day":
            day = received.date()
            return day if not cutoff and self.is_working(day) else self.clock_start(received)
        return self.add(self.clock_start(received), value)


def timeliness_by_day(at: dt.datetime, due_day: dt.date) -> str:
    """``kernel.workdays.timeliness`` of a local time against a due day."""
    day = at.date()
    return "early" if day < due_day else "on_time" if day == due_day else "late"


def utc_iso(local: dt.datetime) -> str:
    """A local (Vietnam) wall-clock time as the ward's wire text: ISO-8601 in UTC."""
    return (local - UTC_OFFSET).isoformat() + "+00:00"


_CLOSES_UTC = (dt.datetime.combine(dt.date(2025, 1, 1), OFFICE_CLOSES) - UTC_OFFSET).time()


def close_iso(day: dt.date) -> str:
    """The due time of a due day (closing time, local) as wire text."""
    return f"{day.isoformat()}T{_CLOSES_UTC.isoformat()}+00:00"


def disagreements(days: Days, samples: int = 3000, seed: int = 1) -> list[str]:
    """Where :class:`Days` and the kernel's rules differ, on ``samples`` random local times of
    the span (any day, any minute, so holidays, weekends and the 15:00 cut-off all come up):
    clock start, due day of each kind of procedure, a pause, timeliness, working days between,
    the zone's offset and the due time's wire text."""
    calendar, rng = days.calendar, random.Random(seed)
    span = len(days.working) - 90  # room for due days and pauses past the sampled day
    found = []
    for _ in range(samples):
        local = dt.datetime.combine(
            days.first + dt.timedelta(rng.randrange(span)),
            dt.time(rng.randrange(24), rng.randrange(60)),
        )
        aware = local_datetime(local.date(), local.time())
        if utc_iso(local) != aware.isoformat():
            found.append(f"utc_iso({local}) = {utc_iso(local)}, kernel {aware.isoformat()}")
        if days.clock_start(local) != calendar.clock_start_day(aware):
            found.append(f"clock start of {local}")
        for value, unit, cutoff in (
            (0, "same_day", True),
            (0, "same_day", False),
            (rng.randint(1, 20), "working_days", True),
        ):
            due = days.due_day(local, value, unit, cutoff)
            kernel_due = calendar.due_at(aware, value, unit, cutoff)
            if close_iso(due) != kernel_due.isoformat():
                found.append(
                    f"due of {local} ({value} {unit}, cutoff {cutoff}): "
                    f"{close_iso(due)}, kernel {kernel_due.isoformat()}"
                )
            resumed = local + dt.timedelta(days=rng.randint(0, 12), hours=rng.randint(0, 9))
            moved = days.add(due, days.between(local.date(), resumed.date()))
            kernel_moved = calendar.extend_for_pause(
                kernel_due, aware, local_datetime(resumed.date(), resumed.time())
            )
            if moved != to_local(kernel_moved).date():
                found.append(f"pause {local} .. {resumed} of due {due}")
            at = local + dt.timedelta(days=rng.randint(0, 30), minutes=rng.randint(0, 600))
            if timeliness_by_day(at, due) != timeliness(
                local_datetime(at.date(), at.time()), kernel_due
            ):
                found.append(f"timeliness of {at} for due {due}")
        end = local.date() + dt.timedelta(days=rng.randint(-5, 40))
        if days.between(local.date(), end) != calendar.working_days_between(local.date(), end):
            found.append(f"working days between {local.date()} and {end}")
    return found
