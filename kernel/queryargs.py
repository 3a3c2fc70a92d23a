"""Query-string values, read within bounds, for the ward's pages and the hub's alike.

A query string is typed by anyone: a page number of twenty digits overflows SQL's OFFSET, a date
in year 1 or 9999 overflows the conversion to UTC or the day after it, a NUL is refused by
PostgreSQL. Each kind of value is read by one function here, so no route turns such a value into
a 500: it is clamped when that is harmless (a page number) or refused with a
:class:`QueryError`, whose Vietnamese message both apps show as a 400 page (``errors.py``) and
a route may instead show as a notice while it falls back to its default. The hub's report
periods (``city_hub/reports/periods.py``) are built on :func:`parse_date` and :func:`check_year`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping

# The dates anyone may ask about: the one-stop desks' records start after 2000, and a date past
# 2100 is a typing slip; both ends keep a day's shift to UTC and "the day after" in range.
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
MAX_PAGE = 100_000  # past the last page of any list, so clamping shows an empty page
MAX_TEXT = 200
# Control characters (NUL among them) and lone surrogates: nothing a person types in a box.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class QueryError(ValueError):
    """A query value that cannot be used; the message is Vietnamese, for the page."""


def parse_date(value: str, what: str = "") -> dt.date:
    """``yyyy-mm-dd`` within FIRST_DAY..LAST_DAY; ``what`` names the date in the message."""
    name = f"Ngày {what}" if what else "Ngày"
    # Only the form the date fields send (fromisoformat alone would take 20251101 or 2025-W45).
    match = re.fullmatch(r"\s*(\d{4}-\d{2}-\d{2})\s*", value)
    try:
        day = dt.date.fromisoformat(match[1]) if match else None
    except ValueError:  # a day that does not exist, 2025-02-30
        day = None
    if day is None:
        raise QueryError(f"{name} không hợp lệ (định dạng yyyy-mm-dd).")
    check_year(day.year, name)
    return day


def check_year(year: int, name: str = "Năm") -> None:
    """Refuse a year outside the window of dates anyone may ask about."""
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise QueryError(
            f"{name} phải trong khoảng từ năm {FIRST_DAY.year} đến năm {LAST_DAY.year}."
        )


def date(args: Mapping, name: str, default: dt.date, what: str = "") -> dt.date:
    """The date in argument ``name``, or ``default`` when it is absent or empty."""
    value = args.get(name)
    return parse_date(value, what) if value and value.strip() else default


def page(args: Mapping, name: str = "page") -> int:
    """A page number from 1 to MAX_PAGE: anything else that is not a number means page 1, and a
    number past MAX_PAGE (already past the last page) means MAX_PAGE."""
    value = (args.get(name) or "").strip()
    if not re.fullmatch(r"[0-9]+", value):
        return 1
    if len(value) > len(str(MAX_PAGE)):
        return MAX_PAGE
    return min(max(int(value), 1), MAX_PAGE)


def choice(
    args: Mapping, name: str, choices: Collection[str], what: str, default: str | None = None
) -> str:
    """One of ``choices``, or ``default`` when the argument is absent or empty (without a
    default, it is required); anything else is refused, naming ``what`` was asked for."""
    value = args.get(name) or default
    if value is None or value not in choices:
        raise QueryError(f"{what} không hợp lệ.")
    return value


def text(args: Mapping, name: str, limit: int = MAX_TEXT) -> str:
    """Free text with its unprintable characters dropped, cut to ``limit`` characters."""
    return _UNPRINTABLE.sub("", args.get(name) or "")[:limit]
