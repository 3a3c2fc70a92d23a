"""City report speed: the 9-month report over five years of the city, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_reports.py [--rebuild] [--only sqlite|postgresql] [--runs 20]
        [--trial-runs 10] [--warmup 2] [--experiments|--no-experiments] [--wait-idle]
        [--build-only] [--pg-url URL] [--dossiers N]

The requirement: "The 9-month city report over a hub holding 5 years of the city (about 600,000
dossiers and 3 million events) under 300 ms on SQLite and on PostgreSQL; the Excel export of it
under 2 s. Print the ratio of the report's time to a single bare SQL ``COUNT(*) … GROUP BY
ward`` scan of the dossier table in the same run (the physical floor)." Figures are printed next
to their targets; nothing is asserted.

A hub database is built once per backend and cached (:mod:`reports_hub`): SQLite in
``bench/out/reports/sqlite/``, PostgreSQL in the database ``hub_bench_reports`` (``--pg-url``
names a server and a role that may create databases; by default ``hubtest`` on 127.0.0.1),
each with a ``build.json`` under ``bench/out/reports/``; other ``--dossiers`` sizes are cached
under their own names. It holds 600,000 dossiers and about 2.9 million events of 14 units (the
13 wards 30280…30313 and the city desk 883), received from 2021-01-01 to 2025-12-31, generated
from a seed (:mod:`reports_city`), so a rebuild gives the same rows (about 4–6 minutes to build
both, 1 s to reuse them).

Each run then measures, per backend, in the hub app's context and through the Flask test client
logged in as a viewer, ``--runs`` timed rounds after ``--warmup`` untimed ones
(:mod:`reports_figures`): the report, the Excel export (and the workbook alone), the two HTTP
exports, and the floor with its plan; median, p95 and max next to the target (judged on p95),
and the ratio report/floor of the medians. Before timing, the report's city row is checked
against counts made in Python while generating.

When the report is over target on a backend (or with ``--experiments``), it then measures
candidate changes on the cached databases (``--trial-runs`` rounds each, :mod:`reports_trials`,
:mod:`reports_experiments`). Nothing in the product is changed.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

# bench/ is not a package: its modules are imported from its path.
import benchlib
from reports_city import DOSSIERS, PERIOD
from reports_experiments import experiments
from reports_figures import HEADER, TARGET_REPORT_MS, figure_lines, measure
from reports_hub import OUT, PG_ADMIN_URL, Backend, ensure_built

log = benchlib.log


def run(backends: list[Backend], built: dict, args, started: float) -> int:
    waited = False
    while others := benchlib.busy_benchmarks("bench_reports.py"):
        if not waited:
            log("   another benchmark is working: " + "; ".join(others))
        if not args.wait_idle:
            log("   (figures below are disturbed by it; --wait-idle waits for it)")
            break
        waited = True
        time.sleep(15)
    if waited and args.wait_idle:
        log("   ... it is done (or only waiting); measuring now")
    load = benchlib.others_busy()
    log(
        f"   the rest of the machine uses {load:.2f} of {os.cpu_count()} CPUs right now "
        "(other work disturbs the figures)"
    )
    results = {}
    for b in backends:
        log(f"-- {b.name}: {args.warmup} warm-up + {args.runs} timed rounds ...")
        results[b.name] = measure(b, built[b.name], args.runs, args.warmup)
        log(f"   {results[b.name]['check']}")
        log(f"   the rest of the machine used {benchlib.others_busy():.2f} CPUs just after")
    log("")
    log(
        f"Results, {PERIOD} report over 5 years of the city, {args.runs} timed rounds after "
        f"{args.warmup} warm-up (p95: nearest rank):"
    )
    log(HEADER)
    for b in backends:
        for text in figure_lines(b.name, results[b.name]):
            log(text)
    over = any(r["figures"]["report"]["p95"] >= TARGET_REPORT_MS for r in results.values())
    if args.experiments or (args.experiments is None and over):
        log("")
        experiments(backends, built, args)
    log(
        f"\nThe rest of the machine uses {benchlib.others_busy():.2f} CPUs at the end. "
        f"Total {time.perf_counter() - started:.0f} s."
    )
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached hubs")
    parser.add_argument("--build-only", action="store_true", help="only build the caches")
    parser.add_argument(
        "--only",
        choices=["sqlite", "postgresql"],
        action="append",
        help="only this backend (may repeat)",
    )
    parser.add_argument("--runs", type=int, default=20, help="timed runs per figure")
    parser.add_argument("--trial-runs", type=int, default=10, help="timed runs per candidate fix")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs before them")
    parser.add_argument(
        "--experiments",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="measure candidate fixes (default: when the report is over target)",
    )
    parser.add_argument(
        "--wait-idle", action="store_true", help="wait until no other bench_*.py process is running"
    )
    parser.add_argument(
        "--pg-url",
        default=PG_ADMIN_URL,
        help="a PostgreSQL server and role that may create databases",
    )
    parser.add_argument(
        "--dossiers",
        type=int,
        default=DOSSIERS,
        help="size of the city (other sizes are cached under their own name)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT.parent,
        metavar="DIR",
        help="cache the SQLite hub under DIR (default: bench/out); the PostgreSQL database of "
        "another DIR is named after it",
    )
    args = parser.parse_args(argv)

    root = args.out.resolve()
    out = root / ("reports" if args.dossiers == DOSSIERS else f"reports-{args.dossiers}")
    names = args.only or ["sqlite", "postgresql"]
    backends = [Backend(n, out, args.pg_url if n == "postgresql" else None) for n in names]
    started = time.perf_counter()
    log(
        f"City report benchmark: code {benchlib.code_version()}, {os.cpu_count()} CPUs, "
        f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}"
    )
    built = ensure_built(backends, args.dossiers, args.rebuild)
    for b in backends:
        r = built[b.name]
        log(
            f"   {b.name}: {r['rows']['dossier']:,} dossiers, {r['rows']['dossier_event']:,} "
            f"events, {r['rows']['user']:,} accounts, {r['size_bytes'] / 2**20:,.0f} MiB "
            f"(built {r['built_utc']} in {r['total_seconds']:.0f} s)"
        )
    log(f"   ready after {time.perf_counter() - started:.0f} s")
    if args.build_only:
        return 0
    return run(backends, built, args, started)


if __name__ == "__main__":
    sys.exit(main())
