"""Working days and deadlines: the rules written in kernel.workdays, checked on real calendars."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.workdays import WorkCalendar, timeliness, to_local

from .conftest import vn_time

calendar = WorkCalendar()


def due_day(received, value, unit, cutoff=True, cal=calendar):
    return to_local(cal.due_at(received, value, unit, cutoff)).date()


def test_tet_2020_is_closed_from_23_to_29_january():
    closed = [dt.date(2020, 1, d) for d in range(23, 30)]
    assert not any(calendar.is_working_day(d) for d in closed)
    assert calendar.is_working_day(dt.date(2020, 1, 22))
    assert calendar.is_working_day(dt.date(2020, 1, 30))


def test_three_working_days_across_tet_2020():
    # Wednesday 22/01 morning: Thursday 23 … Wednesday 29 are Tết, so 30, 31 Jan and 3 Feb.
    assert due_day(vn_time(2020, 1, 22, 9), 3, "working_days") == dt.date(2020, 2, 3)


def test_hung_kings_2026_sunday_and_monday_in_lieu():
    assert not calendar.is_working_day(dt.date(2026, 4, 26))
    assert not calendar.is_working_day(dt.date(2026, 4, 27))  # nghỉ bù
    # Friday 24/04 + 1 working day skips the weekend and the Monday in lieu.
    assert due_day(vn_time(2026, 4, 24, 10), 1, "working_days") == dt.date(2026, 4, 28)


def test_make_up_saturday_is_a_working_day():
    assert calendar.is_working_day(dt.date(2026, 8, 22))
    assert not calendar.is_working_day(dt.date(2026, 8, 31))  # the day off it pays for
    # Friday 21/08 + 1 working day is the make-up Saturday.
    assert due_day(vn_time(2026, 8, 21, 9), 1, "working_days") == dt.date(2026, 8, 22)


def test_same_day_procedure_and_the_15h_cutoff():
    assert due_day(vn_time(2026, 11, 25, 14, 59), 0, "same_day") == dt.date(2026, 11, 25)
    assert due_day(vn_time(2026, 11, 25, 15, 0), 0, "same_day") == dt.date(2026, 11, 26)
    # Friday after 15:00 rolls over the weekend.
    assert due_day(vn_time(2026, 11, 27, 16), 0, "same_day") == dt.date(2026, 11, 30)
    # A procedure without the 15:00 rule is due the same working day.
    assert due_day(vn_time(2026, 11, 25, 16), 0, "same_day", cutoff=False) == dt.date(2026, 11, 25)


def test_cutoff_delays_the_start_of_a_working_day_count():
    assert due_day(vn_time(2026, 12, 7, 9), 3, "working_days") == dt.date(2026, 12, 10)
    assert due_day(vn_time(2026, 12, 7, 15, 30), 3, "working_days") == dt.date(2026, 12, 11)


def test_new_culture_day_2026_is_a_holiday():
    # 24/11 (Ngày Văn hóa Việt Nam, from 2026): Monday 23/11 + 3 working days skips it.
    assert due_day(vn_time(2026, 11, 23, 9), 3, "working_days") == dt.date(2026, 11, 27)


def test_receipt_on_a_holiday_starts_the_clock_next_working_day():
    # Received online on 01/01/2026 (Tết Dương lịch): clock starts Friday 02/01.
    assert due_day(vn_time(2026, 1, 1, 9), 0, "same_day") == dt.date(2026, 1, 2)
    assert due_day(vn_time(2026, 1, 1, 9), 2, "working_days") == dt.date(2026, 1, 6)
    # Saturday receipt (online) likewise.
    assert due_day(vn_time(2026, 11, 28, 9), 1, "working_days") == dt.date(2026, 12, 1)


def test_overrides_win_both_ways():
    extra_off = dt.date(2026, 12, 9)
    make_up = dt.date(2026, 12, 12)  # a Saturday
    cal = WorkCalendar({extra_off: False, make_up: True})
    assert not cal.is_working_day(extra_off)
    assert cal.is_working_day(make_up)
    assert cal.version != calendar.version
    assert due_day(vn_time(2026, 12, 7, 9), 4, "working_days", cal=cal) == dt.date(2026, 12, 12)


def test_due_time_is_office_closing_time():
    due = to_local(calendar.due_at(vn_time(2026, 12, 7, 9), 3, "working_days"))
    assert (due.hour, due.minute) == (17, 0)


def test_pause_extends_due_by_working_days_paused():
    due = calendar.due_at(vn_time(2026, 12, 7, 9), 3, "working_days")  # Thu 10/12
    extended = calendar.extend_for_pause(due, vn_time(2026, 12, 8, 10), vn_time(2026, 12, 11, 8))
    assert to_local(extended).date() == dt.date(2026, 12, 15)  # paused 9, 10, 11: three days
    same_day = calendar.extend_for_pause(due, vn_time(2026, 12, 8, 10), vn_time(2026, 12, 8, 16))
    assert same_day == due


def test_timeliness_is_by_day():
    due = vn_time(2026, 11, 26, 17)
    assert timeliness(vn_time(2026, 11, 25, 16), due) == "early"
    assert timeliness(vn_time(2026, 11, 26, 8), due) == "on_time"
    assert timeliness(vn_time(2026, 11, 26, 17, 30), due) == "on_time"
    assert timeliness(vn_time(2026, 11, 27, 8), due) == "late"


@settings(max_examples=200, deadline=None)
@given(st.dates(dt.date(2016, 1, 1), dt.date(2039, 12, 1)), st.integers(0, 30))
def test_nth_working_day_is_working_and_counts_back(start, n):
    end = calendar.add_working_days(start, n)
    assert calendar.working_days_between(start, end) == n
    if n:
        assert calendar.is_working_day(end)
