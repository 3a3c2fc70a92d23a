"""The report's indicators, kept as data (docs/architecture.md, "Indicators").

Each count is a condition on a dossier row for a period; each rate is a count over a count. The
same condition both counts (``SUM(CASE WHEN …)`` in one SQL aggregate) and lists the dossiers
behind a number (``WHERE …``), so every figure on a report traces to its dossiers.

Definitions, for a period [start, end) of whole days in Asia/Ho_Chi_Minh:
- received: received in the period; carried over: received before it and not yet finished when
  it began (finished = resolved, or closed by refusal or withdrawal);
- resolved: resolved in the period, early / on time / late as classified at the ward;
  on-time rate = (early + on time) / resolved (the article's 97%);
- pending: received before the end and not finished by it (or by now, for a running period);
  overdue: pending past its due time at that moment, its clock running (a dossier paused for
  the citizen's supplement is not late meanwhile); these are the ward's own definitions
  (:mod:`kernel.statuses`), so the hub's figure is the ward's work list;
- online rates: dossiers of procedures offered at level 3 (partial) received online at level 3,
  over all dossiers of those procedures; level 4 (full) likewise (the article's 35% and 87%);
  named by the period's rules (kernel.regimes): levels 3 and 4 until 30/6/2025, "một phần"
  and "toàn trình" from 1/7/2025, both for a period across the change;
- postal: received or returned through the public postal service;
- average working days used (pauses excluded, computed at the ward) against the statutory days
  of the procedure, over the dossiers resolved in the period;
- the city's reform models (docs/glossary.md, "reform models"): same-day ("ngày không hẹn") =
  dossiers received in the period that were returned on the day of receipt, its share over the
  dossiers of same-day procedures received in the period; writing-assisted = dossiers received
  in the period whose form the writing desk filled in.

The reform models' other records are counted per ward from their own tables
(:data:`RECORD_COUNTS`): letters issued in the period by kind; ratings given in the period and
the satisfaction rate = (very satisfied + satisfied) / ratings, overall and per criterion;
feedback received, answered, answered by its due time (fixed at the ward on receipt), and
overdue (unanswered past its due time at the moment pending items are judged); self-inspections
submitted in the period (first versions only: a correction is not a second inspection).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from kernel.statuses import overdue, paused, pending
from wardapp.sync.records import RATING_CRITERIA

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
    label: str  # its online categories named by the period's rules: kernel.regimes.labelled
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
    return pending(d, w.as_of)


COUNTS = [
    Count("carried_over", "Tồn kỳ trước chuyển sang", lambda w: pending(d, w.start)),
    Count("received", "Tiếp nhận mới trong kỳ", _received),
    Count("received_desk", "Trực tiếp", lambda w: sa.and_(d.channel == "desk", _received(w))),
    Count(
        "received_postal", "Qua bưu chính", lambda w: sa.and_(d.channel == "postal", _received(w))
    ),
    Count(
        "received_online_partial",
        "{channel_online_partial}",
        lambda w: sa.and_(d.channel == "online_partial", _received(w)),
    ),
    Count(
        "received_online_full",
        "{channel_online_full}",
        lambda w: sa.and_(d.channel == "online_full", _received(w)),
    ),
    Count("resolved", "Đã giải quyết", _resolved),
    Count("resolved_early", "Trước hạn", lambda w: sa.and_(d.timeliness == "early", _resolved(w))),
    Count(
        "resolved_on_time", "Đúng hạn", lambda w: sa.and_(d.timeliness == "on_time", _resolved(w))
    ),
    Count("resolved_late", "Quá hạn", lambda w: sa.and_(d.timeliness == "late", _resolved(w))),
    Count(
        "resolved_in_time",
        "Trước hạn và đúng hạn",
        lambda w: sa.and_(d.timeliness.in_(("early", "on_time")), _resolved(w)),
        shown=False,
    ),
    Count("pending", "Đang giải quyết", _pending),
    Count("pending_overdue", "Đang giải quyết, quá hạn", lambda w: overdue(d, w.as_of)),
    Count("pending_paused", "Chờ công dân bổ sung", lambda w: paused(d, w.as_of), shown=False),
    Count("refused", "Từ chối giải quyết", _closed_as(3)),
    Count("withdrawn", "Công dân rút hồ sơ", _closed_as(7)),
    Count(
        "level3_dossiers",
        "Hồ sơ của thủ tục {procedure_online_partial}",
        lambda w: sa.and_(p.online_level == "partial", _received(w)),
        shown=False,
    ),
    Count(
        "level3_online",
        "Hồ sơ trực tuyến của thủ tục {procedure_online_partial}",
        lambda w: sa.and_(d.channel == "online_partial", p.online_level == "partial", _received(w)),
        shown=False,
    ),
    Count(
        "level4_dossiers",
        "Hồ sơ của thủ tục {procedure_online_full}",
        lambda w: sa.and_(p.online_level == "full", _received(w)),
        shown=False,
    ),
    Count(
        "level4_online",
        "Hồ sơ trực tuyến của thủ tục {procedure_online_full}",
        lambda w: sa.and_(d.channel == "online_full", p.online_level == "full", _received(w)),
        shown=False,
    ),
    Count(
        "postal",
        "Qua dịch vụ bưu chính công ích (nhận hoặc trả)",
        lambda w: sa.and_(sa.or_(d.channel == "postal", d.return_method == "postal"), _received(w)),
    ),
    Count(
        "apologies",
        "Quá hạn có phiếu xin lỗi",
        lambda w: sa.and_(d.timeliness == "late", d.due_at_revised.is_not(None), _resolved(w)),
    ),
    Count(
        "resolved_measured",
        "Đã giải quyết, có số ngày",
        lambda w: sa.and_(_resolved(w), d.working_days_used.is_not(None)),
        shown=False,
    ),
    Count(
        "working_days_used",
        "Tổng ngày làm việc đã dùng",
        lambda w: sa.and_(_resolved(w), d.working_days_used.is_not(None)),
        value=d.working_days_used,
        shown=False,
    ),
    Count(
        "statutory_days",
        "Tổng ngày theo quy định",
        lambda w: sa.and_(_resolved(w), d.working_days_used.is_not(None)),
        value=sa.func.coalesce(p.duration_value, 0),
        shown=False,
    ),
    Count(
        "same_day",
        "Ngày không hẹn (trả ngay trong ngày)",
        lambda w: sa.and_(d.same_day.is_(True), _received(w)),
    ),
    Count(
        "same_day_eligible",
        "Hồ sơ của thủ tục giải quyết trong ngày",
        lambda w: sa.and_(p.duration_unit == "same_day", _received(w)),
        shown=False,
    ),
    Count(
        "writing_assist", "Bàn viết hộ", lambda w: sa.and_(d.writing_assist.is_(True), _received(w))
    ),
]
RATES = [
    Rate("on_time_rate", "Tỷ lệ đúng hạn", "resolved_in_time", "resolved"),
    Rate(
        "online_partial_rate",
        "Tỷ lệ trực tuyến {online_partial}",
        "level3_online",
        "level3_dossiers",
    ),
    Rate("online_full_rate", "Tỷ lệ trực tuyến {online_full}", "level4_online", "level4_dossiers"),
    Rate("same_day_rate", "Tỷ lệ ngày không hẹn", "same_day", "same_day_eligible"),
]
# Averages over the dossiers resolved in the period whose working days are known.
AVERAGES = [
    Rate(
        "avg_working_days",
        "Ngày làm việc bình quân đã dùng",
        "working_days_used",
        "resolved_measured",
    ),
    Rate(
        "avg_statutory_days",
        "Ngày làm việc bình quân theo quy định",
        "statutory_days",
        "resolved_measured",
    ),
]


@dataclass(frozen=True)
class RecordCount:
    """Rows of a reform-model ``table`` meeting ``condition``, counted per ward."""

    code: str
    label: str
    table: sa.Table
    condition: Callable[[Window], sa.ColumnElement[bool]]
    shown: bool = True


LETTER, RATING, FEEDBACK, INSPECTION = (
    RECORD_TABLES[name] for name in ("letter", "rating", "feedback", "inspection")
)
SATISFIED = ("very_satisfied", "satisfied")


def _within(column, w: Window):
    return sa.and_(column >= w.start, column < w.end)


RECORD_COUNTS = [
    RecordCount(
        "letters_congratulation",
        "Thư chúc mừng",
        LETTER,
        lambda w: sa.and_(LETTER.c.kind == "congratulation", _within(LETTER.c.issued_at, w)),
    ),
    RecordCount(
        "letters_condolence",
        "Thư chia buồn",
        LETTER,
        lambda w: sa.and_(LETTER.c.kind == "condolence", _within(LETTER.c.issued_at, w)),
    ),
    RecordCount("ratings", "Lượt đánh giá", RATING, lambda w: _within(RATING.c.rated_at, w)),
    *(
        RecordCount(
            f"satisfied_{criterion}",
            f"Hài lòng: {label}",
            RATING,
            lambda w, column=RATING.c[criterion]: sa.and_(
                column.in_(SATISFIED), _within(RATING.c.rated_at, w)
            ),
            shown=False,
        )
        for criterion, label in RATING_CRITERIA.items()
    ),
    RecordCount(
        "feedback_received",
        "Phản ánh, kiến nghị tiếp nhận",
        FEEDBACK,
        lambda w: _within(FEEDBACK.c.received_at, w),
    ),
    RecordCount(
        "feedback_answered", "Đã trả lời", FEEDBACK, lambda w: _within(FEEDBACK.c.answered_at, w)
    ),
    RecordCount(
        "feedback_answered_on_time",
        "Trả lời đúng hạn",
        FEEDBACK,
        lambda w: sa.and_(
            FEEDBACK.c.answered_at <= FEEDBACK.c.due_at, _within(FEEDBACK.c.answered_at, w)
        ),
    ),
    RecordCount(
        "feedback_overdue",
        "Chưa trả lời, quá hạn",
        FEEDBACK,
        lambda w: sa.and_(
            FEEDBACK.c.received_at < w.as_of,
            FEEDBACK.c.due_at < w.as_of,
            sa.or_(FEEDBACK.c.answered_at.is_(None), FEEDBACK.c.answered_at >= w.as_of),
        ),
    ),
    RecordCount(
        "inspections_submitted",
        "Tự kiểm tra đã nộp",
        INSPECTION,
        lambda w: sa.and_(
            INSPECTION.c.status == "submitted",
            INSPECTION.c.revision == 1,
            _within(INSPECTION.c.submitted_at, w),
        ),
    ),
]
REFORM_RATES = [
    Rate("satisfaction_rate", "Tỷ lệ hài lòng", "satisfied_overall", "ratings"),
    *(
        Rate(
            f"satisfaction_{criterion}",
            f"Tỷ lệ hài lòng: {label.lower()}",
            f"satisfied_{criterion}",
            "ratings",
        )
        for criterion, label in RATING_CRITERIA.items()
        if criterion != "overall"
    ),
]
COUNT_BY_CODE = {c.code: c for c in COUNTS}
RECORD_COUNT_BY_CODE = {c.code: c for c in RECORD_COUNTS}
SHOWN_RECORD_COUNTS = [c for c in RECORD_COUNTS if c.shown]
SHOWN_COUNTS = [c for c in COUNTS if c.shown]
LABELS = {
    **{c.code: c.label for c in COUNTS + RECORD_COUNTS},
    **{r.code: r.label for r in RATES + AVERAGES + REFORM_RATES},
}


def touches(w: Window):
    """Rows any indicator can count: received before the end, not finished before the start."""
    return sa.and_(d.received_at < w.end, sa.or_(FINISHED_AT.is_(None), w.start <= FINISHED_AT))


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
