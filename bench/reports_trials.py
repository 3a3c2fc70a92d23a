"""Candidate changes to the city report, each relative to the code as it is.

A :class:`Trial` is SQL run before the measurement (and undone after it), replacements for
``city_hub.reports.queries.touches`` and ``sum_expression`` (in-process only), and app
settings; ``change`` says what adopting it takes in the code. Nothing in the product is
changed. :mod:`reports_experiments` measures them.
"""

from __future__ import annotations

from functools import partial


def touches_indexable(w):
    """``touches()`` rewritten so that each branch of its OR can be answered by an index: a
    superset of the rows the original selects (every count keeps its own full condition, so the
    figures do not change): received in the period (or later), resolved or closed at or after its
    start, or not finished at all."""
    import sqlalchemy as sa

    from city_hub.reports.indicators import DOSSIER

    d = DOSSIER.c
    return sa.and_(
        d.received_at < w.end,
        sa.or_(
            d.received_at >= w.start,
            d.resolved_at >= w.start,
            d.closed_at >= w.start,
            sa.and_(d.resolved_at.is_(None), d.closed_at.is_(None)),
        ),
    )


def sum_filter(count, window, order=None):
    """``sum_expression()`` as an aggregate FILTER: the aggregate is only stepped for the rows
    that meet the condition (SQLite 3.30+, PostgreSQL 9.4+), instead of adding 0 for the rest.
    ``order`` rearranges the condition's AND terms (:func:`cheap_first`, :func:`time_first`)."""
    import sqlalchemy as sa

    condition = count.condition(window)
    if order is not None:
        condition = order(condition)
    if count.value is None:
        return sa.func.count().filter(condition).label(count.code)
    return sa.func.coalesce(sa.func.sum(count.value).filter(condition), 0).label(count.code)


def and_terms(condition) -> list:
    """The AND terms of ``condition``, nested ANDs flattened."""
    from sqlalchemy.sql import operators
    from sqlalchemy.sql.elements import BooleanClauseList, Grouping

    def terms(c):
        if isinstance(c, Grouping):
            c = c.element
        if isinstance(c, BooleanClauseList) and c.operator is operators.and_:
            for x in c.clauses:
                yield from terms(x)
        else:
            yield c

    return list(terms(condition))


def reads_time(term) -> bool:
    import sqlalchemy as sa
    from sqlalchemy.sql.visitors import iterate

    from kernel.columns import UTCDateTime

    return any(isinstance(e, sa.Column) and isinstance(e.type, UTCDateTime) for e in iterate(term))


def cheap_first(condition):
    """The AND terms of ``condition``, flattened, those that compare no time first: both
    databases stop at the first false term, and SQLite's comparisons of DATETIME columns (text,
    NUMERIC affinity) are the dear ones, while a test of channel or status is false for most
    rows."""
    import sqlalchemy as sa

    return sa.and_(*sorted(and_terms(condition), key=reads_time))


def time_first(condition):
    """The reverse of :func:`cheap_first`: the time comparisons first, as the conditions were
    written before commit 53a1d7d (``sa.and_(_received(w), d.channel == …)``)."""
    import sqlalchemy as sa

    return sa.and_(*sorted(and_terms(condition), key=lambda t: not reads_time(t)))


TOUCHES_INDEXABLE_SRC = """\
def touches(w: Window):
    return sa.and_(d.received_at < w.end, sa.or_(
        d.received_at >= w.start, d.resolved_at >= w.start, d.closed_at >= w.start,
        sa.and_(d.resolved_at.is_(None), d.closed_at.is_(None))))"""
CHEAP_FIRST_SRC = """\
def cheap_first(condition):
    \"\"\"The AND terms of a condition, flattened, those that compare no time first.\"\"\"
    def terms(c):
        if isinstance(c, Grouping):
            c = c.element
        if isinstance(c, BooleanClauseList) and c.operator is operators.and_:
            for x in c.clauses:
                yield from terms(x)
        else:
            yield c

    def reads_time(c) -> bool:
        return any(isinstance(e, sa.Column) and isinstance(e.type, UTCDateTime)
                   for e in iterate(c))
    return sa.and_(*sorted(terms(condition), key=reads_time))
# imports: from sqlalchemy.sql import operators; from sqlalchemy.sql.elements import
# BooleanClauseList, Grouping; from sqlalchemy.sql.visitors import iterate;
# from kernel.columns import UTCDateTime"""
SUM_FILTER_SRC = """\
def sum_expression(count: Count, window: Window):
    condition = cheap_first(count.condition(window))  # or count.condition(window) alone
    if count.value is None:
        return sa.func.count().filter(condition).label(count.code)
    return sa.func.coalesce(sa.func.sum(count.value).filter(condition), 0).label(count.code)"""


def report_columns(window) -> tuple[str, ...]:
    """Every dossier column the report's aggregate reads (its grouping, ``touches()``, the join
    to the procedures, the counts' conditions and values), ward and receipt first: the index
    the planners already like for GROUP BY ward_code (ix_dossier_ward_received), made
    covering."""
    import sqlalchemy as sa
    from sqlalchemy.sql.visitors import iterate

    from city_hub.reports import queries
    from city_hub.reports.indicators import COUNTS, DOSSIER

    parts = [*queries.GROUPINGS["ward"], queries.touches(window), queries._source().onclause]
    parts += [part for c in COUNTS for part in (c.condition(window), c.value) if part is not None]
    found = {"ward_code": None, "received_at": None}
    for part in parts:
        found.update(
            (e.name, None) for e in iterate(part) if isinstance(e, sa.Column) and e.table is DOSSIER
        )
    return tuple(found)


class Trial:
    """A candidate fix: SQL run before (and undone after) the measurement, replacements for
    ``touches`` and ``sum_expression``, app settings; ``change`` says what it takes in the
    code."""

    def __init__(
        self,
        name: str,
        change: str,
        *,
        sql: dict | None = None,
        undo: dict | None = None,
        touches=None,
        sums=None,
        config: dict | None = None,
        backends=("sqlite", "postgresql"),
    ):
        self.name, self.change = name, change
        self.sql, self.undo = sql or {}, undo or {}
        self.touches, self.sums = touches, sums
        self.config, self.backends = config or {}, backends


def index_sql(name: str, columns: dict) -> dict:
    """CREATE/DROP of a trial index ``bench_<name>`` on dossier, per backend (PostgreSQL then
    vacuums, so that an index-only scan needs no heap visit, as autovacuum would leave it)."""
    sql, undo = {}, {}
    for backend in ("sqlite", "postgresql"):
        cols = ", ".join(columns.get(backend, columns.get("any")))
        sql[backend] = [f"CREATE INDEX bench_{name} ON dossier ({cols})"] + (
            ["VACUUM (ANALYZE) dossier"] if backend == "postgresql" else []
        )
        undo[backend] = [f"DROP INDEX IF EXISTS bench_{name}"]
    return {"sql": sql, "undo": undo}


def sum_case(count, window, order=None):
    """``sum_expression()`` as it was before commit 53a1d7d: SUM(CASE WHEN … THEN 1 ELSE 0);
    ``order`` as for :func:`sum_filter`."""
    import sqlalchemy as sa

    condition = count.condition(window)
    if order is not None:
        condition = order(condition)
    value = 1 if count.value is None else count.value
    return sa.func.sum(sa.case((condition, value), else_=0)).label(count.code)


# The sums with FILTER and the time tests last; the sums exactly as before commit 53a1d7d.
sum_filter_cheap_first = partial(sum_filter, order=cheap_first)
sum_case_time_first = partial(sum_case, order=time_first)


def model_covering_index():
    """The hub's own covering index for the report, if it has one (ix_dossier_report since
    commit 53a1d7d, on ``city_hub.models.REPORT_COLUMNS``; whether it still holds every column
    the report reads, :func:`report_columns` tells)."""
    from city_hub.models import RECORD_TABLES, REPORT_COLUMNS

    for index in RECORD_TABLES["dossier"].indexes:
        if set(REPORT_COLUMNS) <= {c.name for c in index.columns}:
            return index
    return None


def create_index_sql(index, backend: str) -> list[str]:
    columns = ", ".join(c.name for c in index.columns)
    return [f"CREATE INDEX IF NOT EXISTS {index.name} ON dossier ({columns})"] + (
        ["VACUUM (ANALYZE) dossier"] if backend == "postgresql" else []
    )


def trials(window) -> list[Trial]:
    """Candidate changes, each relative to the code as it is (the first, "baseline")."""
    finished = index_sql(
        "finished",
        {
            "sqlite": ["coalesce(resolved_at, closed_at)"],
            "postgresql": ["(coalesce(resolved_at, closed_at))"],
        },
    )
    received = index_sql("received", {"any": ["received_at"]})
    jit_off = {"SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": "-c jit=off"}}}
    jit_soon = {
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": "-c jit_above_cost=50000"}}
    }
    covering = model_covering_index()
    found = [
        Trial("baseline", "the code as it is"),
        Trial(
            "ANALYZE",
            "run ANALYZE (or PRAGMA optimize) now and then; the hub never does",
            sql={"sqlite": ["ANALYZE"]},
            undo={
                "sqlite": ["DROP TABLE IF EXISTS sqlite_stat1", "DROP TABLE IF EXISTS sqlite_stat4"]
            },
            backends=("sqlite",),
        ),
        Trial(
            "JIT on (as once the plan's cost passes 100,000)",
            "nothing: what PostgreSQL does once the plan's cost passes jit_above_cost "
            "(100,000), that is with more dossiers; emulated with jit_above_cost=50000",
            config=jit_soon,
            backends=("postgresql",),
        ),
        Trial(
            "jit off",
            "city_hub/__init__.py create_app, for PostgreSQL: "
            "SQLALCHEMY_ENGINE_OPTIONS={'connect_args': {'options': '-c jit=off'}} "
            "(or ALTER DATABASE … SET jit = off)",
            config=jit_off,
            backends=("postgresql",),
        ),
        Trial(
            "index on coalesce(resolved_at, closed_at)",
            "models.py _REPORT_INDEXES: sa.Index('ix_dossier_finished', "
            "sa.func.coalesce(sa.column('resolved_at'), sa.column('closed_at'))) + migration",
            **finished,
        ),
        Trial(
            "touches() one index per branch + index on received_at",
            "indicators.py touches() as printed below + models.py _REPORT_INDEXES: "
            "sa.Index('ix_dossier_received', 'received_at') + migration",
            touches=touches_indexable,
            **received,
        ),
        Trial(
            "sums: SUM(CASE …)",
            "indicators.py sum_expression() as before 53a1d7d "
            "(SUM(CASE WHEN … THEN 1 ELSE 0 END)), conditions as written",
            sums=sum_case,
        ),
        Trial(
            "sums: FILTER, time tests first",
            "indicators.py: conditions with the time comparisons first, as before 53a1d7d",
            sums=partial(sum_filter, order=time_first),
        ),
        Trial(
            "sums: FILTER, time tests last",
            "indicators.py sum_expression() with FILTER and "
            "cheap_first() (as printed below): the order whatever the conditions say",
            sums=sum_filter_cheap_first,
        ),
    ]
    if covering is None:
        columns = report_columns(window)
        both = index_sql("report", {"any": columns})
        found += [
            Trial(
                "covering index (ward_code, received_at, …)",
                "models.py _REPORT_INDEXES: replace ix_dossier_ward_received by sa.Index("
                f"'ix_dossier_report', {', '.join(repr(c) for c in columns)}) "
                "+ migration",
                **both,
            ),
            Trial(
                "covering index + FILTER, time tests last",
                "the covering index and sum_expression() with FILTER and cheap_first()",
                sums=sum_filter_cheap_first,
                **both,
            ),
            Trial(
                "covering index + FILTER, time tests last + jit off",
                "the same and jit off",
                sums=sum_filter_cheap_first,
                config=jit_off,
                backends=("postgresql",),
                **both,
            ),
        ]
    else:
        narrow = {
            b: [
                f"DROP INDEX {covering.name}",
                "CREATE INDEX bench_ward_received ON dossier (ward_code, received_at)",
            ]
            + (["VACUUM (ANALYZE) dossier"] if b == "postgresql" else [])
            for b in ("sqlite", "postgresql")
        }
        restore = {
            b: ["DROP INDEX IF EXISTS bench_ward_received", *create_index_sql(covering, b)]
            for b in ("sqlite", "postgresql")
        }
        found += [
            Trial(
                f"without {covering.name} ((ward_code, received_at) instead)",
                f"the index as before 53a1d7d: {covering.name} replaced by "
                "ix_dossier_ward_received (ward_code, received_at)",
                sql=narrow,
                undo=restore,
            ),
            Trial(
                "as before 53a1d7d: SUM(CASE), time tests first, (ward_code, received_at)",
                "the report as it was before commit 53a1d7d",
                sums=sum_case_time_first,
                sql=narrow,
                undo=restore,
            ),
            Trial(
                "jit off + JIT threshold passed",
                "jit off, tried where JIT would run",
                config={
                    "SQLALCHEMY_ENGINE_OPTIONS": {
                        "connect_args": {"options": "-c jit=off -c jit_above_cost=50000"}
                    }
                },
                backends=("postgresql",),
            ),
        ]
    return found
