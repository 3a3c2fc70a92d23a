"""The report's indicators, kept as data (domain.md §8.4).

Each count is a condition on a dossier row for a period; each rate is a count over a count. The
same condition both counts (``SUM(CASE WHEN …)`` in one SQL aggregate) and lists the dossiers
behind a number (``WHERE …``), so every figure on a report traces to its dossiers.

Definitions, for a period [start, end) of whole days in Asia/Ho_Chi_Minh:
- received: received in the period; carried over: received before it and not yet finished when
  it began (finished = resolved, or closed by refusal or withdrawal);
- resolved: resolved in the period, early / on time / late as classified at the ward;
  on-time rate = (early + on time) / resolved (the article's 97%);
- pending: received before the end and not finished by it (or by now, for a running period);
  overdue: pending past its due time at that moment;
- online rates: dossiers of procedures offered at level 3 (partial) received online at level 3,
  over all dossiers of those procedures; level 4 (full) likewise (the article's 35% and 87%);
- postal: received or returned through the public postal service;
- average working days used (pauses excluded, computed at the ward) against the statutory days
  of the procedure, over the dossiers resolved in the period.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from ..models import RECORD_TABLES, RefProcedure

DOSSIER = RECORD_TABLES["dossier"]
PROCEDURE = RefProcedure.__table__


@dataclass(frozen=True)
class Window:
    """A report period in UTC: [start, end), and the moment pending dossiers are judged at."""

    start: dt.datetime
    end: dt.datetime
    as_of: dt.datetime


@dataclass(frozen=True)
class Count:
    """Dossiers meeting ``condition`` (or, with ``value``, the sum of that value over them).

    ``shown`` is False for the parts of rates and averages that the tables do not show alone.
    """

    code: str
    label: str
    condition: Callable[[Window], sa.ColumnElement[bool]]
    value: sa.ColumnElement | None = None
    shown: bool = True


@dataclass(frozen=True)
class Rate:
    code: str
    label: str
    numerator: str
    denominator: str


d, p = DOSSIER.c, PROCEDURE.c
FINISHED_AT = sa.func.coalesce(d.resolved_at, d.closed_at)


def _received(w: Window):
    return sa.and_(d.received_at >= w.start, d.received_at < w.end)


def _resolved(w: Window):
    return sa.and_(d.resolved_at >= w.start, d.resolved_at < w.end)


def _closed_as(status: int):
    return lambda w: sa.and_(d.status == status, d.closed_at >= w.start, d.closed_at < w.end)


def _pending(w: Window):
    return sa.and_(d.received_at < w.as_of,
                   sa.or_(FINISHED_AT.is_(None), FINISHED_AT >= w.as_of))


COUNTS = [
    Count("carried_over", "Tồn kỳ trước chuyển sang", lambda w: sa.and_(
        d.received_at < w.start, sa.or_(FINISHED_AT.is_(None), FINISHED_AT >= w.start))),
    Count("received", "Tiếp nhận mới trong kỳ", _received),
    Count("received_desk", "Trực tiếp", lambda w: sa.and_(d.channel == "desk", _received(w))),
    Count("received_postal", "Qua bưu chính", lambda w: sa.and_(d.channel == "postal",
                                                                _received(w))),
    Count("received_online_partial", "Trực tuyến một phần (mức độ 3)",
          lambda w: sa.and_(d.channel == "online_partial", _received(w))),
    Count("received_online_full", "Trực tuyến toàn trình (mức độ 4)",
          lambda w: sa.and_(d.channel == "online_full", _received(w))),
    Count("resolved", "Đã giải quyết", _resolved),
    Count("resolved_early", "Trước hạn", lambda w: sa.and_(d.timeliness == "early",
                                                           _resolved(w))),
    Count("resolved_on_time", "Đúng hạn", lambda w: sa.and_(d.timeliness == "on_time",
                                                            _resolved(w))),
    Count("resolved_late", "Quá hạn", lambda w: sa.and_(d.timeliness == "late", _resolved(w))),
    Count("resolved_in_time", "Trước hạn và đúng hạn", lambda w: sa.and_(
        d.timeliness.in_(("early", "on_time")), _resolved(w)), shown=False),
    Count("pending", "Đang giải quyết", _pending),
    Count("pending_overdue", "Đang giải quyết, quá hạn", lambda w: sa.and_(
        _pending(w), d.due_at < w.as_of)),
    Count("refused", "Từ chối giải quyết", _closed_as(3)),
    Count("withdrawn", "Công dân rút hồ sơ", _closed_as(7)),
    Count("level3_dossiers", "Hồ sơ của thủ tục mức độ 3", lambda w: sa.and_(
        p.online_level == "partial", _received(w)), shown=False),
    Count("level3_online", "Hồ sơ trực tuyến của thủ tục mức độ 3", lambda w: sa.and_(
        d.channel == "online_partial", p.online_level == "partial", _received(w)), shown=False),
    Count("level4_dossiers", "Hồ sơ của thủ tục mức độ 4", lambda w: sa.and_(
        p.online_level == "full", _received(w)), shown=False),
    Count("level4_online", "Hồ sơ trực tuyến của thủ tục mức độ 4", lambda w: sa.and_(
        d.channel == "online_full", p.online_level == "full", _received(w)), shown=False),
    Count("postal", "Qua dịch vụ bưu chính công ích (nhận hoặc trả)", lambda w: sa.and_(
        sa.or_(d.channel == "postal", d.return_method == "postal"), _received(w))),
    Count("apologies", "Quá hạn có phiếu xin lỗi", lambda w: sa.and_(
        d.timeliness == "late", d.due_at_revised.is_not(None), _resolved(w))),
    Count("resolved_measured", "Đã giải quyết, có số ngày", lambda w: sa.and_(
        _resolved(w), d.working_days_used.is_not(None)), shown=False),
    Count("working_days_used", "Tổng ngày làm việc đã dùng", lambda w: sa.and_(
        _resolved(w), d.working_days_used.is_not(None)), value=d.working_days_used, shown=False),
    Count("statutory_days", "Tổng ngày theo quy định", lambda w: sa.and_(
        _resolved(w), d.working_days_used.is_not(None)),
        value=sa.func.coalesce(p.duration_value, 0), shown=False),
]
RATES = [
    Rate("on_time_rate", "Tỷ lệ đúng hạn", "resolved_in_time", "resolved"),
    Rate("online_partial_rate", "Tỷ lệ trực tuyến mức độ 3", "level3_online", "level3_dossiers"),
    Rate("online_full_rate", "Tỷ lệ trực tuyến mức độ 4", "level4_online", "level4_dossiers"),
]
# Averages over the dossiers resolved in the period whose working days are known.
AVERAGES = [
    Rate("avg_working_days", "Ngày làm việc bình quân đã dùng", "working_days_used",
         "resolved_measured"),
    Rate("avg_statutory_days", "Ngày làm việc bình quân theo quy định", "statutory_days",
         "resolved_measured"),
]
COUNT_BY_CODE = {c.code: c for c in COUNTS}
SHOWN_COUNTS = [c for c in COUNTS if c.shown]
LABELS = {**{c.code: c.label for c in COUNTS},
          **{r.code: r.label for r in RATES + AVERAGES}}


def touches(w: Window):
    """Rows any indicator can count: received before the end, not finished before the start."""
    return sa.and_(d.received_at < w.end,
                   sa.or_(FINISHED_AT.is_(None), FINISHED_AT >= w.start))


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def sum_expression(count: Count, window: Window):
    """The SQL that counts (or sums) one indicator inside a GROUP BY, as an aggregate FILTER:
    the aggregate is stepped only for the rows that meet the condition. Conditions put their
    cheap tests (channel, status) before the time comparisons, which are the dear ones."""
    condition = count.condition(window)
    if count.value is None:
        return sa.func.count().filter(condition).label(count.code)
    return sa.func.coalesce(sa.func.sum(count.value).filter(condition), 0).label(count.code)
