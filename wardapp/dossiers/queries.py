"""Read-side queries of the desk: work lists, counters and search, each one indexed query."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from kernel import queryargs
from kernel.regimes import CHANNELS, channel_label, regimes_between
from kernel.statuses import (
    OPEN_STATUSES,
    PAUSED_STATUS,
    RUNNING_STATUSES,
    STATUS_LABELS,
    Status,
    overdue,
)
from kernel.text import fold, search_terms, words
from kernel.workdays import WorkCalendar, local_datetime, to_local
from wardapp.sync.records import Dossier

from ..database import FTS_TABLE
from ..extensions import db
from ..models import Procedure

WORK_LISTS = {
    "mine": "Của tôi",
    "today": "Tiếp nhận hôm nay",
    "in_progress": "Đang giải quyết",
    "due_soon": "Đến hạn hôm nay và ngày làm việc kế tiếp",
    "overdue": "Quá hạn",
    "waiting": "Chờ công dân bổ sung",
    "ready": "Có kết quả, chờ trả",
}
# The orders a list may be shown in besides its own (most urgent first).
SORTS = {"due": "Hạn trả sớm nhất trước", "received": "Tiếp nhận mới nhất trước"}


# At the present moment a status is what the hub's report reads from the dossier's times
# (lifecycle.py); "overdue", where the two once differed, is the shared definition itself,
# with the status it implies now, which is what the index holds.
_c = Dossier.__table__.c


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (
        local_datetime(day, dt.time(0, 0)),
        local_datetime(day + dt.timedelta(days=1), dt.time(0, 0)),
    )


@dataclass(frozen=True)
class WorkListFilter:
    """What an official narrows a work list to: a procedure, a status, a channel, a span of
    receipt days (both ends included, local days). Empty fields narrow nothing."""

    procedure_code: str = ""
    status: int | None = None
    channel: str = ""
    received_from: dt.date | None = None
    received_to: dt.date | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        conditions = []
        if self.procedure_code:
            conditions.append(Dossier.procedure_code == self.procedure_code)
        if self.status is not None:
            conditions.append(Dossier.status == self.status)
        if self.channel:
            conditions.append(Dossier.channel == self.channel)
        if self.received_from:
            conditions.append(Dossier.received_at >= _day_bounds(self.received_from)[0])
        if self.received_to:
            conditions.append(Dossier.received_at < _day_bounds(self.received_to)[1])
        return conditions

    def query_args(self) -> dict[str, str]:
        """The filter as the query string of a link (paging, another tab) that keeps it."""
        values = {
            "procedure": self.procedure_code,
            "status": "" if self.status is None else str(self.status),
            "channel": self.channel,
            "from": self.received_from.isoformat() if self.received_from else "",
            "to": self.received_to.isoformat() if self.received_to else "",
        }
        return {k: v for k, v in values.items() if v}


def channel_choices(now: dt.datetime) -> dict[str, str]:
    """The work lists' channel filter, each channel named by the rules of every dossier the
    desk holds, from the first one received to now: "Trực tuyến một phần / mức độ 3" when they
    span the change of 1/7/2025, since the filter picks the dossiers of both."""
    first = db.session.scalar(sa.select(sa.func.min(Dossier.received_at)))
    regimes = regimes_between(to_local(min(first or now, now)).date(), to_local(now).date())
    return {channel: channel_label(channel, regimes) for channel in CHANNELS}


def read_work_list_filter(args: Mapping) -> tuple[WorkListFilter, list[str]]:
    """The filter a work list's query string asks for, and a Vietnamese notice for each value
    that could not be used (that part of the filter is dropped, the list still shown)."""
    notices: list[str] = []

    def read(reader, *params):
        try:
            return reader(args, *params)
        except queryargs.QueryError as error:
            notices.append(str(error))
            return None

    def pick(name: str, choices, what: str) -> str:
        """One of ``choices``, or "" (no narrowing) when absent, empty or not one of them."""
        if not (args.get(name) or "").strip():
            return ""
        return read(queryargs.choice, name, choices, what) or ""

    procedures = set(db.session.scalars(sa.select(Procedure.code)))
    status = pick("status", [str(s) for s in STATUS_LABELS], "Trạng thái")
    received_from = read(queryargs.date, "from", None, "tiếp nhận từ")
    received_to = read(queryargs.date, "to", None, "tiếp nhận đến")
    if received_from and received_to and received_from > received_to:
        notices.append("Ngày tiếp nhận từ phải trước hoặc bằng ngày tiếp nhận đến.")
        received_from = received_to = None
    chosen = WorkListFilter(
        procedure_code=pick("procedure", procedures, "Thủ tục"),
        status=int(status) if status else None,
        channel=pick("channel", CHANNELS, "Hình thức nộp"),
        received_from=received_from,
        received_to=received_to,
    )
    return chosen, notices


def work_list_query(
    name: str,
    now: dt.datetime,
    calendar: WorkCalendar,
    holder_uuid: str | None = None,
    narrowed: WorkListFilter = WorkListFilter(),
    sort: str | None = None,
) -> sa.Select:
    """The dossiers of one work list, most urgent first (or by ``sort``, a key of SORTS),
    narrowed by ``narrowed``; "mine" is what ``holder_uuid`` holds and has still to do."""
    query = _work_list(name, now, calendar, holder_uuid).where(*narrowed.conditions())
    if sort == "due":
        return query.order_by(None).order_by(Dossier.due_at)
    if sort == "received":
        return query.order_by(None).order_by(Dossier.received_at.desc())
    return query


def work_list_counts(
    now: dt.datetime,
    calendar: WorkCalendar,
    holder_uuid: str | None = None,
    narrowed: WorkListFilter = WorkListFilter(),
) -> dict[str, int]:
    """How many dossiers each work list holds, narrowed alike: the figures on the tabs."""
    return {
        name: db.session.scalar(
            sa.select(sa.func.count()).select_from(
                work_list_query(name, now, calendar, holder_uuid, narrowed)
                .order_by(None)
                .subquery()
            )
        )
        for name in WORK_LISTS
    }


def _work_list(name: str, now: dt.datetime, calendar: WorkCalendar, holder_uuid) -> sa.Select:
    today = to_local(now).date()
    query = sa.select(Dossier)
    if name == "mine":
        return query.where(
            Dossier.assignee_uuid == holder_uuid, Dossier.status.in_(OPEN_STATUSES)
        ).order_by(Dossier.due_at)
    if name == "today":
        start, end = _day_bounds(today)
        return query.where(Dossier.received_at >= start, Dossier.received_at < end).order_by(
            Dossier.received_at.desc()
        )
    if name == "in_progress":
        return query.where(Dossier.status.in_(RUNNING_STATUSES)).order_by(
            Dossier.assignee_uuid, Dossier.due_at
        )
    if name == "due_soon":
        _, end = _day_bounds(calendar.next_working_day(today))
        return query.where(
            Dossier.status.in_(RUNNING_STATUSES), Dossier.due_at >= now, Dossier.due_at < end
        ).order_by(Dossier.due_at)
    if name == "overdue":
        return query.where(Dossier.status.in_(RUNNING_STATUSES), overdue(_c, now)).order_by(
            Dossier.due_at
        )
    if name == "waiting":
        return query.where(Dossier.status == PAUSED_STATUS).order_by(Dossier.paused_at)
    if name == "ready":
        return query.where(Dossier.status == Status.RESOLVED).order_by(Dossier.resolved_at)
    raise KeyError(name)


def days_overdue(dossier: Dossier, now: dt.datetime, calendar: WorkCalendar) -> int:
    """Working days a running dossier is past its due day at ``now`` (0 when not late): the
    figure an officer's queue and the ward leader read first."""
    if not dossier.overdue_at(now):
        return 0
    late = calendar.working_days_between(to_local(dossier.due_at).date(), to_local(now).date())
    return max(late, 1)  # late since this morning's deadline is late all the same


def home_counters(now: dt.datetime) -> dict[str, int]:
    """The figures on the home page: today, this month, on time this month, open, overdue,
    and today's dossiers returned without an appointment ("ngày không hẹn")."""
    local = to_local(now)
    today_start, today_end = _day_bounds(local.date())
    month_start = local_datetime(local.date().replace(day=1), dt.time(0, 0))
    received_today = db.session.scalar(
        sa.select(sa.func.count()).where(
            Dossier.received_at >= today_start, Dossier.received_at < today_end
        )
    )
    received_month = db.session.scalar(
        sa.select(sa.func.count()).where(Dossier.received_at >= month_start)
    )
    resolved = db.session.execute(
        sa.select(Dossier.timeliness, sa.func.count())
        .where(Dossier.resolved_at >= month_start)
        .group_by(Dossier.timeliness)
    ).all()
    by_timeliness = {k: n for k, n in resolved}
    open_count = db.session.scalar(
        sa.select(sa.func.count()).where(Dossier.status.in_(OPEN_STATUSES))
    )
    overdue_count = db.session.scalar(
        sa.select(sa.func.count()).where(Dossier.status.in_(RUNNING_STATUSES), overdue(_c, now))
    )
    # Returned today on the day of receipt: received today too, which the receipt index finds
    # (returned_at has none; asked alone, it read all 200,000 dossiers of a big ward: 70 ms).
    same_day_today = db.session.scalar(
        sa.select(sa.func.count()).where(
            Dossier.received_at >= today_start,
            Dossier.received_at < today_end,
            Dossier.same_day,
            Dossier.returned_at >= today_start,
            Dossier.returned_at < today_end,
        )
    )
    return {
        "received_today": received_today,
        "received_month": received_month,
        "resolved_month": sum(by_timeliness.values()),
        "on_time_month": by_timeliness.get("early", 0) + by_timeliness.get("on_time", 0),
        "open": open_count,
        "overdue": overdue_count,
        "same_day_today": same_day_today,
    }


# How many of the most recent folded matches are ranked by how well they match what was typed:
# enough that a common name's exact spelling is among them, few enough to rank in a millisecond.
SEARCH_CANDIDATES = 500
_DOSSIER_CODE = re.compile(r"\d+(-\d*)+")  # 30280-201005-0001, or a part of one
_NUMBER = re.compile(r"\+?[\d\s.]+")


def search_dossiers(query: str, limit: int = 50) -> list[Dossier]:
    """Dossiers that match ``query``: a dossier code, a phone or an ID number exactly; otherwise
    every word of it in the applicant's name (or the code, ID and phone), ignoring diacritics
    and đ/Đ ("nguyen van duc" finds "Nguyễn Văn Đức"), the letters as typed ranked first.

    A query typed with diacritics ("ngọc hân") puts Ngọc Hân above Ngọc Hằng and Ngọc Hạnh,
    which its folded form matches too; whole words rank above prefixes; then the newest first.
    """
    compact = query.strip()
    if _DOSSIER_CODE.fullmatch(compact):
        return list(db.session.scalars(sa.select(Dossier).where(Dossier.code == compact)))
    if _NUMBER.fullmatch(compact):  # a phone or ID, typed with spaces, dots or a +
        number = re.sub(r"[\s.+]", "", compact)
        return list(
            db.session.scalars(
                _newest_matching(sa.select(Dossier), f'"{number}"', limit).where(
                    sa.or_(Dossier.phone == number, Dossier.citizen_id == number)
                ),
                {"match": f'"{number}"'},
            )
        )
    terms = search_terms(compact)
    if not terms:
        return []
    match = " AND ".join(f'"{t}"*' for t in terms)  # terms are \w+ only: nothing to escape
    # Rank the candidates from two columns, then load only the dossiers shown.
    candidates = db.session.execute(
        _newest_matching(
            sa.select(Dossier.uuid, Dossier.applicant_name, Dossier.received_at),
            match,
            SEARCH_CANDIDATES,
        ),
        {"match": match},
    ).all()
    typed = words(compact)
    ranked = sorted(
        candidates,
        key=lambda c: (_match_rank(typed, c.applicant_name), c.received_at),
        reverse=True,
    )
    shown = [c.uuid for c in ranked[:limit]]
    dossiers = {
        d.uuid: d for d in db.session.scalars(sa.select(Dossier).where(Dossier.uuid.in_(shown)))
    }
    return [dossiers[uuid] for uuid in shown]


def _newest_matching(select: sa.Select, match: str, limit: int) -> sa.Select:
    """``select`` narrowed to the dossiers whose folded search text matches the FTS5 query
    bound as ``:match``, the newest ``limit`` of them first."""
    fts = sa.table(FTS_TABLE, sa.column("rowid"))
    matching = sa.select(fts.c.rowid).where(sa.text(f"{FTS_TABLE} MATCH :match"))
    return (
        select.where(sa.literal_column("dossier.rowid").in_(matching))
        .order_by(Dossier.received_at.desc())
        .limit(limit)
    )


def _match_rank(typed: list[str], applicant_name: str) -> int:
    """How well the applicant's name matches the words typed.

    Each typed word scores its best match among the name's words: 4 the same word with the same
    marks, 3 a prefix with the same marks, 2 the same word folded, 1 a folded prefix, 0 none
    (a word that matched only the code, ID or phone)."""
    name = words(applicant_name)
    folded_name = [fold(w) for w in name]
    score = 0
    for word in typed:
        folded = fold(word)
        best = 0
        for exact, plain in zip(name, folded_name, strict=True):
            if exact == word:
                best = 4
                break
            if exact.startswith(word):
                best = max(best, 3)
            elif plain == folded:
                best = max(best, 2)
            elif plain.startswith(folded):
                best = max(best, 1)
        score += best
    return score


def search_procedures(query: str) -> list[Procedure]:
    """Active procedures matching every word of ``query`` in code, name or field."""
    stmt = sa.select(Procedure).where(Procedure.active).order_by(Procedure.field, Procedure.name)
    for term in search_terms(query):
        stmt = stmt.where(Procedure.search_text.contains(term, autoescape=True))
    return list(db.session.scalars(stmt))
