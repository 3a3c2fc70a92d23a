"""Read-side queries of the desk: work lists, counters and search, each one indexed query."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from kernel.statuses import OPEN_STATUSES, PAUSED_STATUS, RUNNING_STATUSES, Status, overdue
from kernel.text import fold, search_terms, words
from kernel.workdays import WorkCalendar, local_datetime, to_local
from wardapp.sync.records import Dossier

from ..database import FTS_TABLE
from ..extensions import db
from ..models import Procedure

WORK_LISTS = {
    "today": "Tiếp nhận hôm nay",
    "in_progress": "Đang giải quyết",
    "due_soon": "Đến hạn hôm nay và ngày làm việc kế tiếp",
    "overdue": "Quá hạn",
    "waiting": "Chờ công dân bổ sung",
    "ready": "Có kết quả, chờ trả",
}


# At the present moment a status is what the hub's report reads from the dossier's times
# (lifecycle.py); "overdue", where the two once differed, is the shared definition itself,
# with the status it implies now, which is what the index holds.
_c = Dossier.__table__.c


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (
        local_datetime(day, dt.time(0, 0)),
        local_datetime(day + dt.timedelta(days=1), dt.time(0, 0)),
    )


def work_list_query(name: str, now: dt.datetime, calendar: WorkCalendar) -> sa.Select:
    """The dossiers of one work list, most urgent first."""
    today = to_local(now).date()
    query = sa.select(Dossier)
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
    same_day_today = db.session.scalar(
        sa.select(sa.func.count()).where(
            Dossier.same_day, Dossier.returned_at >= today_start, Dossier.returned_at < today_end
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
        return [
            d
            for d in _fts_matches(f'"{number}"', limit=SEARCH_CANDIDATES)
            if number in (d.phone, d.citizen_id)
        ][:limit]
    terms = search_terms(compact)
    if not terms:
        return []
    candidates = _fts_matches(
        " AND ".join(f'"{t}"*' for t in terms),  # terms are \w+ only: nothing to escape
        limit=SEARCH_CANDIDATES,
    )
    typed = words(compact)
    ranked = sorted(candidates, key=lambda d: _match_rank(typed, d), reverse=True)
    return ranked[:limit]


def _fts_matches(match: str, limit: int) -> list[Dossier]:
    """The newest ``limit`` dossiers whose folded search text matches the FTS5 ``match``."""
    fts = sa.table(FTS_TABLE, sa.column("rowid"))
    matching = sa.select(fts.c.rowid).where(sa.text(f"{FTS_TABLE} MATCH :match"))
    return list(
        db.session.scalars(
            sa.select(Dossier)
            .where(sa.literal_column("dossier.rowid").in_(matching))
            .order_by(Dossier.received_at.desc())
            .limit(limit),
            {"match": match},
        )
    )


def _match_rank(typed: list[str], dossier: Dossier) -> tuple[int, dt.datetime]:
    """How well the applicant's name matches the words typed, then how recent the dossier is.

    Each typed word scores its best match among the name's words: 4 the same word with the same
    marks, 3 a prefix with the same marks, 2 the same word folded, 1 a folded prefix, 0 none
    (a word that matched only the code, ID or phone)."""
    name = words(dossier.applicant_name)
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
    return score, dossier.received_at


def search_procedures(query: str) -> list[Procedure]:
    """Active procedures matching every word of ``query`` in code, name or field."""
    stmt = sa.select(Procedure).where(Procedure.active).order_by(Procedure.field, Procedure.name)
    for term in search_terms(query):
        stmt = stmt.where(Procedure.search_text.contains(term, autoescape=True))
    return list(db.session.scalars(stmt))
