"""Read-side queries of the desk: work lists, counters and search, each one indexed query."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from kernel.statuses import OPEN_STATUSES, PAUSED_STATUS, RUNNING_STATUSES, Status, overdue
from kernel.text import search_terms
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


def search_dossiers(query: str, limit: int = 50) -> list[Dossier]:
    """Dossiers whose code, applicant name, citizen ID or phone match every word of ``query``,
    ignoring diacritics and đ/Đ ("nguyen van duc" finds "Nguyễn Văn Đức")."""
    compact = query.strip()
    if re.fullmatch(r"[\d\s.+]+", compact):  # a phone or ID typed with spaces or dots
        compact = re.sub(r"[\s.]", "", compact).lstrip("+")
    terms = search_terms(compact)
    if not terms:
        return []
    match = " AND ".join(f'"{t}"*' for t in terms)  # terms are \w+ only: nothing to escape
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


def search_procedures(query: str) -> list[Procedure]:
    """Active procedures matching every word of ``query`` in code, name or field."""
    stmt = sa.select(Procedure).where(Procedure.active).order_by(Procedure.field, Procedure.name)
    for term in search_terms(query):
        stmt = stmt.where(Procedure.search_text.contains(term, autoescape=True))
    return list(db.session.scalars(stmt))
