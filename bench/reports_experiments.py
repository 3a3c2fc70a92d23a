"""Looking for the cause when the report is slow: the candidate changes of
:mod:`reports_trials` measured on the cached hubs, with their plans.

First the aggregate statement alone over a temporary table of exactly the rows ``touches()``
selects (the cost no index can remove: the sums), then each trial with its plan (EXPLAIN QUERY
PLAN, or EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL), every trial's figures compared with the
baseline's. Trial indexes are named ``bench_*``, created for the trial and dropped after it; an
index of the hub a trial drops is recreated after it, and at the next start after a crash.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time

from benchlib import log, others_busy
from reports_city import PERIOD
from reports_figures import BARE_SQL, TARGET_REPORT_MS, rounds, stats
from reports_hub import Backend, hub_app
from reports_trials import (
    CHEAP_FIRST_SRC,
    SUM_FILTER_SRC,
    TOUCHES_INDEXABLE_SRC,
    Trial,
    create_index_sql,
    model_covering_index,
    report_columns,
    sum_case_time_first,
    trials,
)


def aggregate_statement(window, sums=None) -> tuple[str, object]:
    """The report's aggregate statement and its parameters as the app sends them to the
    cursor (with ``sums`` in place of ``sum_expression`` when given). Call inside the app
    context."""
    import sqlalchemy as sa

    from city_hub.extensions import db
    from city_hub.reports import queries

    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "GROUP BY dossier.ward_code" in statement:
            captured.append((statement, parameters))

    original = queries.sum_expression
    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        if sums is not None:
            queries.sum_expression = sums
        queries.ward_report(window)
    finally:
        queries.sum_expression = original
        sa.event.remove(db.engine, "before_cursor_execute", capture)
        db.session.remove()
    return captured[0]


def aggregate_plan(b: Backend, window, analyze: bool = True) -> list[str]:
    """The plan of the report's aggregate statement as the app sends it (with its parameters):
    EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL. Call inside the
    app context."""
    from city_hub.extensions import db

    statement, parameters = aggregate_statement(window)
    with db.engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        if b.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return [row[3] for row in cursor.fetchall()]
        cursor.execute(
            ("EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN ") + statement, parameters
        )
        return [row[0] for row in cursor.fetchall()]


def condensed(plan: list[str], backend: str) -> list[str]:
    """The lines of a plan that say how rows are found and what the time goes to."""
    if backend == "sqlite":
        return plan
    keep = (
        "Scan on",
        "Scan using",
        "Index Cond",
        "Rows Removed",
        "Heap Fetches",
        "Timing:",
        "Execution Time",
        "Workers Launched",
    )
    out = []
    for text in plan:
        if any(k in text for k in keep):
            text = re.sub(r"\(cost=[^)]*\) ", "", text.rstrip())
            out.append(text if len(text) < 120 else text[:117] + "...")
    return out


def ddl(b: Backend, statements: list[str]) -> float:
    t = time.perf_counter()
    conn = b.raw()
    if b.name == "postgresql":
        conn.autocommit = True
    for statement in statements:
        conn.execute(statement)
    conn.close()
    return time.perf_counter() - t


def index_bytes(b: Backend) -> int:
    """Size of the bench_* trial indexes now present."""
    conn = b.raw()
    cur = conn.cursor()
    if b.name == "sqlite":
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'bench_%'")
        names = [r[0] for r in cur.fetchall()]
        total = 0
        for name in names:
            try:
                cur.execute("SELECT SUM(pgsize) FROM dbstat WHERE name = ?", (name,))
                total += cur.fetchone()[0] or 0
            except sqlite3.OperationalError:  # no dbstat in this build of SQLite
                return -1
    else:
        cur.execute(
            "SELECT COALESCE(SUM(pg_relation_size(indexrelid)), 0) FROM pg_index "
            "JOIN pg_class ON pg_class.oid = indexrelid WHERE relname LIKE 'bench_%'"
        )
        total = cur.fetchone()[0]
    conn.close()
    return total


def drop_leftovers(b: Backend) -> None:
    """Trial indexes a crashed run may have left behind."""
    conn = b.raw()
    cur = conn.cursor()
    if b.name == "sqlite":
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'bench_%'")
    else:
        cur.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'bench_%'")
    names = [r[0] for r in cur.fetchall()]
    conn.close()
    if names:
        log(f"   dropping trial indexes left by an earlier run: {names}")
        ddl(b, [f"DROP INDEX IF EXISTS {n}" for n in names])
    if b.name == "sqlite":
        ddl(b, ["DROP TABLE IF EXISTS sqlite_stat1", "DROP TABLE IF EXISTS sqlite_stat4"])
    restore_model_indexes(b)


def restore_model_indexes(b: Backend) -> None:
    """Recreate any index of the hub's dossier table that a crashed trial left dropped."""
    import sqlalchemy as sa

    from city_hub.models import RECORD_TABLES

    engine = sa.create_engine(b.url)
    have = {i["name"] for i in sa.inspect(engine).get_indexes("dossier")}
    engine.dispose()
    for index in RECORD_TABLES["dossier"].indexes:
        if index.name not in have:
            log(f"   recreating {index.name}, dropped by an earlier run")
            ddl(b, create_index_sql(index, b.name))


def try_fix(b: Backend, trial: Trial, window, runs: int, warmup: int, baseline) -> dict:
    from city_hub.extensions import db
    from city_hub.reports import queries

    original, original_sums = queries.touches, queries.sum_expression
    setup = ddl(b, trial.sql.get(b.name, []))
    size = index_bytes(b) if trial.sql.get(b.name) else 0
    try:
        if trial.touches:
            queries.touches = trial.touches
        if trial.sums:
            queries.sum_expression = trial.sums
        app = hub_app(b, trial.config)
        with app.app_context():
            import sqlalchemy as sa

            rows = queries.ward_report(window)
            db.session.remove()
            figures = [(r.key, r.counts) for r in rows]
            same = baseline is None or figures == baseline

            def report():
                queries.ward_report(window)
                db.session.remove()

            def bare():
                db.session.execute(sa.text(BARE_SQL)).all()
                db.session.remove()

            result = rounds({"bare": bare, "report": report}, runs, warmup)
            plan = aggregate_plan(b, window)
            db.engine.dispose()
    finally:
        queries.touches, queries.sum_expression = original, original_sums
        ddl(b, trial.undo.get(b.name, []))
    return {
        "figures": result,
        "plan": plan,
        "same": same,
        "rows": figures,
        "setup_s": setup,
        "index_bytes": size,
    }


def experiments(backends: list[Backend], built: dict, args) -> dict:
    from city_hub.reports.periods import parse_period

    window = parse_period(PERIOD).window()
    covering = model_covering_index()
    log(
        f"Candidate changes, measured on the cached hubs ({args.trial_runs} rounds each after "
        f"{args.warmup} warm-up; the figures of every trial are compared with the baseline's). "
        "Each is relative to the code as it is, which "
        + (
            f"has the covering index {covering.name} (commit 53a1d7d):"
            if covering
            else "has no covering index for the report:"
        )
    )
    if covering is not None and (
        lacking := [
            c for c in report_columns(window) if c not in {c.name for c in covering.columns}
        ]
    ):
        log(
            f"   (the report also reads {', '.join(lacking)}, which {covering.name} lacks: "
            "it does not cover the report)"
        )
    found = {}
    for b in backends:
        drop_leftovers(b)
        log(f"-- {b.name}: the rest of the machine uses {others_busy():.2f} CPUs")
        n, floors = expression_floor(b, window, args.trial_runs)
        found[(b.name, "expressions")] = (n, floors)
        log(
            f"-- {b.name}: the aggregate statement alone, over a temporary table holding only "
            f"the {n:,} rows touches() selects (what no index can take away):"
        )
        for label, floor in floors.items():
            log(
                f"      sums {label + ':':<25} p50 {floor['p50']:6.1f} / "
                f"p95 {floor['p95']:6.1f} ms "
                f"({floor['p50'] * 1000 / n:.2f} µs a row)"
            )
        baseline = None
        for trial in trials(window):
            if b.name not in trial.backends:
                continue
            r = try_fix(b, trial, window, args.trial_runs, args.warmup, baseline)
            if baseline is None:
                baseline = r["rows"]
            found[(b.name, trial.name)] = r
            f = r["figures"]
            extra = (
                f"; index {r['index_bytes'] / 2**20:.1f} MiB built in {r['setup_s']:.1f} s"
                if r["index_bytes"]
                else (f"; setup {r['setup_s']:.1f} s" if r["setup_s"] > 0.05 else "")
            )
            log(
                f"-- {b.name}, {trial.name}: report p50 {f['report']['p50']:.1f} / p95 "
                f"{f['report']['p95']:.1f} ms "
                f"({'ok' if f['report']['p95'] < TARGET_REPORT_MS else 'OVER'}), floor "
                f"{f['bare']['p50']:.1f} ms, ratio {f['report']['p50'] / f['bare']['p50']:.1f}"
                f"{extra}; figures {'same' if r['same'] else 'DIFFERENT'}"
            )
            for text in r["plan"] if trial.name == "baseline" else condensed(r["plan"], b.name):
                log(f"      {text}")
    log("")
    log("Summary of the candidate changes, report p50 / p95 ms (target p95 < 300 ms):")
    names = trials(window)
    log(f"   {'change':<58} " + " ".join(f"{b.name:>20}" for b in backends))
    for t in names:
        cells = []
        for b in backends:
            r = found.get((b.name, t.name))
            cells.append(
                f"{'-':>20}"
                if r is None
                else f"{r['figures']['report']['p50']:>8.1f} / "
                f"{r['figures']['report']['p95']:>7.1f}".rjust(20)
            )
        log(f"   {t.name:<58} " + " ".join(cells))
    for t in names:
        log(f"   {t.name}: {t.change}")
    log("   touches() with one index per branch (city_hub/reports/indicators.py):")
    for text in TOUCHES_INDEXABLE_SRC.splitlines():
        log("      " + text)
    log("   sum_expression() with FILTER (city_hub/reports/indicators.py):")
    for text in SUM_FILTER_SRC.splitlines():
        log("      " + text)
    log("   cheap_first() (city_hub/reports/indicators.py):")
    for text in CHEAP_FIRST_SRC.splitlines():
        log("      " + text)
    return found


def expression_floor(b: Backend, window, runs: int) -> tuple[int, dict]:
    """The report's aggregate statement, as before 53a1d7d and as the code is, over a
    temporary copy of exactly the rows ``touches()`` selects (a TEMP table named dossier hides
    the real one): what evaluating the sums costs when finding the rows costs nothing."""
    from city_hub.extensions import db

    app = hub_app(b)
    with app.app_context():
        statements = {
            "as before 53a1d7d": aggregate_statement(window, sum_case_time_first),
            "as the code is": aggregate_statement(window),
        }
        db.engine.dispose()
    start, end = (t.astimezone(dt.UTC).replace(tzinfo=None) for t in (window.start, window.end))
    if b.name == "sqlite":
        start, end = (t.isoformat(" ", "microseconds") for t in (start, end))
    mark = b.mark
    conn = b.raw()
    cur = conn.cursor()
    # in memory, like the real table's pages after warm-up
    cur.execute("PRAGMA temp_store=MEMORY" if b.name == "sqlite" else "SET temp_buffers = '256MB'")
    cur.execute(
        f"CREATE TEMP TABLE dossier AS SELECT {', '.join(report_columns(window))} FROM "
        f"{'main' if b.name == 'sqlite' else 'public'}.dossier WHERE received_at < "
        f"{mark} AND (coalesce(resolved_at, closed_at) IS NULL OR "
        f"coalesce(resolved_at, closed_at) >= {mark})",
        (end, start),
    )
    cur.execute("SELECT COUNT(*) FROM dossier")
    n = cur.fetchone()[0]
    samples = {label: [] for label in statements}
    for i in range(runs + 1):
        for label, (statement, parameters) in statements.items():
            t = time.perf_counter()
            cur.execute(statement, parameters)
            cur.fetchall()
            if i:
                samples[label].append((time.perf_counter() - t) * 1000)
    conn.close()
    return n, {label: stats(v) for label, v in samples.items()}
