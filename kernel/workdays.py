"""Working-day calendar and the one-stop deadline rules.

Vietnam's statutory holidays come from the ``holidays`` package (Tết, Giỗ Tổ Hùng Vương, days off
in lieu, make-up Saturdays it knows of); a table of overrides published by the hub adds what the
package cannot know (a late government swap, a local day off). The rules, written down once:

- The clock starts on the day of receipt when the dossier is received on a working day before
  15:00; otherwise on the next working day (decree 61/2018, the 15:00 cut-off).
- A same-day procedure is due at the office's closing time of the day the clock starts. One whose
  catalogue entry has no 15:00 rule is due the day of receipt when that is a working day.
- A procedure of N working days is due at closing time of the N-th working day after the day the
  clock starts (the start day itself is not counted, as in the Civil Code's art. 147).
- A pause (supplement requested, clock stopped until the citizen returns) moves the due day by the
  working days that passed between the request and the return.
- A resolved dossier is early when resolved on a day before its due day, on time when resolved on
  the due day, late after it. A new appointment given with an apology never makes it on time.

Times are stored in UTC and reasoned about in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import holidays

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CUTOFF = dt.time(15, 0)
OFFICE_CLOSES = dt.time(17, 0)
# Holiday tables are built for this span up front, so no request thread extends them lazily.
_YEARS = range(2015, 2041)


def to_local(moment: dt.datetime) -> dt.datetime:
    """Express an aware UTC time in Vietnam's time zone."""
    return moment.astimezone(LOCAL_TZ)


def local_datetime(day: dt.date, at: dt.time) -> dt.datetime:
    """An aware UTC instant for a local wall-clock time on ``day``."""
    return dt.datetime.combine(day, at, tzinfo=LOCAL_TZ).astimezone(dt.UTC)


class WorkCalendar:
    """Working days of a ward office: Monday to Friday, less holidays, plus make-up days.

    :param overrides: ``{date: is_working_day}`` from the hub's override table; an override wins
        over the package's calendar in both directions.
    """

    def __init__(self, overrides: Mapping[dt.date, bool] | None = None):
        self._statutory = holidays.VN(years=_YEARS)
        self._overrides = dict(overrides or {})
        digest = hashlib.sha256(repr(sorted(self._overrides.items())).encode()).hexdigest()[:8]
        self.version = f"holidays-{holidays.__version__}+{len(self._overrides)}:{digest}"

    def is_working_day(self, day: dt.date) -> bool:
        if day in self._overrides:
            return self._overrides[day]
        return self._statutory.is_working_day(day)

    def holiday_name(self, day: dt.date) -> str | None:
        """The Vietnamese name of the holiday on ``day``, if the package knows one."""
        return holidays.VN(years=day.year, language="vi").get(day)

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        day += dt.timedelta(days=1)
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``day`` (``day`` itself not counted)."""
        for _ in range(count):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in the half-open span (``start``, ``end``]."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def clock_start_day(self, received_at: dt.datetime) -> dt.date:
        """The day the statutory clock starts for a dossier received at ``received_at``."""
        local = to_local(received_at)
        if self.is_working_day(local.date()) and local.time() < CUTOFF:
            return local.date()
        return self.next_working_day(local.date())

    def due_at(
        self,
        received_at: dt.datetime,
        duration_value: int,
        duration_unit: str,
        cutoff_15h: bool = True,
    ) -> dt.datetime:
        """The statutory due time of a dossier received at ``received_at`` (aware, UTC)."""
        if duration_unit == "same_day":
            local_day = to_local(received_at).date()
            if not cutoff_15h and self.is_working_day(local_day):
                day = local_day
            else:
                day = self.clock_start_day(received_at)
        elif duration_unit == "working_days":
            day = self.add_working_days(self.clock_start_day(received_at), duration_value)
        else:
            raise ValueError(f"unknown duration unit {duration_unit!r}")
        return local_datetime(day, OFFICE_CLOSES)

    def extend_for_pause(
        self, due_at: dt.datetime, paused_at: dt.datetime, resumed_at: dt.datetime
    ) -> dt.datetime:
        """Move ``due_at`` by the working days that passed while the clock was stopped."""
        days = self.working_days_between(to_local(paused_at).date(), to_local(resumed_at).date())
        if not days:
            return due_at
        return local_datetime(self.add_working_days(to_local(due_at).date(), days), OFFICE_CLOSES)


def timeliness(resolved_at: dt.datetime, due_at: dt.datetime) -> str:
    """Classify a resolution against its due time: ``early``, ``on_time`` or ``late``, by day."""
    resolved_day, due_day = to_local(resolved_at).date(), to_local(due_at).date()
    if resolved_day < due_day:
        return "early"
    if resolved_day == due_day:
        return "on_time"
    return "late"
