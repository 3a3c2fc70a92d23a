"""What the reports benchmark times, and how its figures are summed up and printed.

Every figure is run once per round, so that all share the same disturbances; p95 is the
nearest rank. The floor is a bare ``COUNT(*) … GROUP BY ward`` scan of the dossier table in
the same run: the report's time is printed as a ratio to it.
"""

from __future__ import annotations

import statistics
import time

from reports_city import PERIOD
from reports_expected import check_report
from reports_hub import Backend, hub_app

TARGET_REPORT_MS = 300.0
TARGET_XLSX_MS = 2000.0
BARE_SQL = "SELECT ward_code, COUNT(*) FROM dossier GROUP BY ward_code"


def stats(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]  # nearest rank
    return {"p50": statistics.median(ordered), "p95": p95, "max": ordered[-1], "n": len(ordered)}


def line(label: str, s: dict, target: float | None = None) -> str:
    verdict = (
        "" if target is None else f"p95 < {target:,.0f} ms {'ok' if s['p95'] < target else 'OVER'}"
    )
    return f"   {label:<52} {s['p50']:8.1f} {s['p95']:8.1f} {s['max']:8.1f}   {verdict}"


HEADER = f"   {'figure (ms)':<52} {'p50':>8} {'p95':>8} {'max':>8}   target"


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def rounds(figures: dict, runs: int, warmup: int) -> dict[str, dict]:
    """Run every figure once per round (so that all share the same disturbances), ``warmup``
    untimed rounds first; the samples of each figure, summarised."""
    samples = {name: [] for name in figures}
    for i in range(warmup + runs):
        for name, fn in figures.items():
            ms = timed(fn)
            if i >= warmup:
                samples[name].append(ms)
    return {name: stats(v) for name, v in samples.items()}


def measure(b: Backend, built: dict, runs: int, warmup: int) -> dict:
    """The figures of one backend, through the app as a hub serves them."""
    import sqlalchemy as sa

    from city_hub.extensions import db
    from city_hub.reports.export import to_xlsx
    from city_hub.reports.periods import parse_period
    from city_hub.reports.queries import ward_report

    app = hub_app(b)
    period = parse_period(PERIOD)
    window = period.window()
    result = {}
    with app.app_context():
        rows = ward_report(window)
        db.session.remove()
        result["check"] = check_report(rows, built["expected"][PERIOD])
        client = app.test_client()
        answer = client.post(
            "/auth/login",
            data={"username": built["viewer"]["username"], "password": built["viewer"]["password"]},
        )
        if answer.status_code != 302:
            raise SystemExit(f"{b.name}: viewer login failed ({answer.status_code})")
        first = client.get(f"/reports/export.json?period={PERIOD}")
        if first.status_code != 200 or len(first.json["rows"]) != len(rows):
            raise SystemExit(f"{b.name}: export.json answered {first.status_code}")
        xlsx = client.get(f"/reports/export.xlsx?period={PERIOD}")
        if xlsx.status_code != 200 or not xlsx.data.startswith(b"PK"):
            raise SystemExit(f"{b.name}: export.xlsx answered {xlsx.status_code}")
        result["xlsx_bytes"] = len(xlsx.data)

        def report():
            ward_report(window)
            db.session.remove()

        def excel():
            to_xlsx(ward_report(window), period)
            db.session.remove()

        def bare():
            db.session.execute(sa.text(BARE_SQL)).all()
            db.session.remove()

        def get(url):
            def fetch():
                answer = client.get(url)
                if answer.status_code != 200:
                    raise SystemExit(f"{url}: {answer.status_code}")

            return fetch

        figures = {
            "bare": bare,
            "report": report,
            "excel": excel,
            "workbook": lambda: to_xlsx(rows, period),
            "http_json": get(f"/reports/export.json?period={PERIOD}"),
            "http_xlsx": get(f"/reports/export.xlsx?period={PERIOD}"),
        }
        result["figures"] = rounds(figures, runs, warmup)
        db.session.remove()
        with db.engine.connect() as conn:
            plan = conn.exec_driver_sql(
                ("EXPLAIN QUERY PLAN " if b.name == "sqlite" else "EXPLAIN ") + BARE_SQL
            ).all()
        result["bare_plan"] = [r[3] if b.name == "sqlite" else r[0].strip() for r in plan]
        db.engine.dispose()
    return result


def figure_lines(name: str, r: dict) -> list[str]:
    f = r["figures"]
    ratio = f["report"]["p50"] / f["bare"]["p50"]
    return [
        f"{name}:",
        line(f"report: ward_report({PERIOD}), in-process", f["report"], TARGET_REPORT_MS),
        line(f"GET /reports/export.json?period={PERIOD}", f["http_json"], TARGET_REPORT_MS),
        line("Excel export: to_xlsx(ward_report(...)), in-process", f["excel"], TARGET_XLSX_MS),
        line("   of which the workbook alone (to_xlsx)", f["workbook"]),
        line(f"GET /reports/export.xlsx?period={PERIOD}", f["http_xlsx"], TARGET_XLSX_MS),
        line("floor: SELECT ward_code, COUNT(*) … GROUP BY ward_code", f["bare"]),
        "      its plan: " + "; ".join(r["bare_plan"]),
        f"   ratio report / floor (medians): {ratio:.1f}",
    ]
