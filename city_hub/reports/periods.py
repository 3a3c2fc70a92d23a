"""Report periods: whole days in Asia/Ho_Chi_Minh, turned into UTC bounds for the queries."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from kernel.columns import utcnow
from kernel.queryargs import QueryError, check_year, parse_date
from kernel.regimes import Regime, regimes_between
from kernel.workdays import local_datetime

from .indicators import Window

MAX_DAYS = 366 * 10
QUARTERS = ("I", "II", "III", "IV")


# A period that makes no sense is a query value that cannot be used, so it is the same error:
# its Vietnamese message is a 400 page on the screens (kernel.errors) and a bad --period at the
# CLI, and the dates and years it accepts are the shared window of kernel.queryargs.
PeriodError = QueryError


@dataclass(frozen=True)
class Period:
    first: dt.date
    last: dt.date  # inclusive

    @property
    def label(self) -> str:
        return f"{self.first:%d/%m/%Y} – {self.last:%d/%m/%Y}"

    @property
    def title(self) -> str:
        """The period as a report's title names it: "Tháng 3 năm 2020", "Quý II năm 2020",
        "6 tháng đầu năm 2020", "9 tháng đầu năm 2020", "Năm 2020"; any other span of days by
        its dates. Read from the dates, so a range picked by hand that is a quarter is one."""
        whole_months = self.first.day == 1 and self.last == _month_end(
            self.last.year, self.last.month
        )
        if whole_months and self.first.year == self.last.year:
            year, start, end = self.first.year, self.first.month, self.last.month
            if start == end:
                return f"Tháng {start} năm {year}"
            if start % 3 == 1 and end == start + 2:
                return f"Quý {QUARTERS[end // 3 - 1]} năm {year}"
            if start == 1 and end in (6, 9):
                return f"{end} tháng đầu năm {year}"
            if start == 1 and end == 12:
                return f"Năm {year}"
        return f"Từ ngày {self.first:%d/%m/%Y} đến ngày {self.last:%d/%m/%Y}"

    @property
    def regimes(self) -> tuple[Regime, ...]:
        """The rules in force on its days: one regime, or both for a period across 1/7/2025
        (its report names the online categories both ways)."""
        return regimes_between(self.first, self.last)

    def window(self, now: dt.datetime | None = None) -> Window:
        start = local_datetime(self.first, dt.time(0))
        end = local_datetime(self.last + dt.timedelta(days=1), dt.time(0))
        return Window(start, end, min(end, now or utcnow()))


def parse_period(
    spec: str | None = None, first: str | None = None, last: str | None = None
) -> Period:
    """A period from ``spec`` ("2020-03" month, "2020-Q3" quarter, "2020" year, "2020-6M" and
    "2020-9M" the first six and nine months) or from explicit ``first``/``last`` dates
    (inclusive)."""
    if first or last:
        if not (first and last):
            raise PeriodError("Cần cả ngày bắt đầu và ngày kết thúc.")
        period = Period(parse_date(first, "bắt đầu"), parse_date(last, "kết thúc"))
    elif spec:
        period = _from_spec(spec.strip().upper())
    else:
        raise PeriodError("Chưa chọn kỳ báo cáo.")
    if period.last < period.first:
        raise PeriodError("Ngày kết thúc phải sau ngày bắt đầu.")
    if (period.last - period.first).days > MAX_DAYS:
        raise PeriodError("Kỳ báo cáo dài quá 10 năm.")
    return period


def _from_spec(spec: str) -> Period:
    if m := re.match(r"(\d{4})(-|$)", spec):
        check_year(int(m[1]))
    if m := re.fullmatch(r"(\d{4})-(\d{2})", spec):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise PeriodError("Tháng không hợp lệ.")
        return Period(dt.date(year, month, 1), _month_end(year, month))
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", spec):
        year, quarter = int(m[1]), int(m[2])
        return Period(dt.date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter))
    if m := re.fullmatch(r"(\d{4})-([69])M", spec):
        year, months = int(m[1]), int(m[2])
        return Period(dt.date(year, 1, 1), _month_end(year, months))
    if m := re.fullmatch(r"(\d{4})", spec):
        return Period(dt.date(int(m[1]), 1, 1), dt.date(int(m[1]), 12, 31))
    raise PeriodError("Kỳ báo cáo không hợp lệ (ví dụ: 2020-03, 2020-Q3, 2020-6M, 2020-9M, 2020).")


def _month_end(year: int, month: int) -> dt.date:
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def choices(years: range) -> list[tuple[int, list[tuple[str, str]]]]:
    """The periods the picker offers for each of ``years``, newest year first: the year, its
    first nine and six months, its quarters and its months, each as (spec, title)."""
    offered = []
    for year in reversed(years):
        specs = [
            f"{year}",
            f"{year}-9M",
            f"{year}-6M",
            *(f"{year}-Q{q}" for q in range(1, 5)),
            *(f"{year}-{m:02d}" for m in range(1, 13)),
        ]
        offered.append((year, [(spec, _from_spec(spec).title) for spec in specs]))
    return offered
