"""Sync speed: ward outboxes pushed to a real city hub through waitress, and the hub's apply rate.

    .venv/bin/python bench/bench_sync.py [--quick|--smoke] [--out DIR] [--code-at REV]
        [--wait-idle MINUTES]
        [--only single|history|city|apply] [--profile] [--rebuild] [--build-only]
        [--hub-command CMD] [--ward-command CMD]

Ward databases are built once and cached under ``bench/out/sync/wards/`` (about 3 minutes the
first time; ``--quick`` uses smaller ones of its own, ``--smoke`` tiny ones and 3 wards for the
city, only to see that it runs): see :mod:`sync_wards`. ``--out DIR`` puts all of it under
``DIR/sync/`` instead of ``bench/out/sync/``.

Every run works on fresh copies of the wards and a fresh hub, under ``bench/out/sync/run/``
(:mod:`sync_push`, :mod:`sync_apply`):

  (1) one ward's 30-day outage backlog (1,500 dossiers with their events): ``city-hub serve``
      (8 threads) as a subprocess, ``city-hub ward add``, ``wardapp sync configure``, then one
      ``wardapp sync --no-delay`` process, timed from its start to its exit. A second run with
      nothing to push shows the fixed cost (start-up, hello, refdata check);
  (1b) the same number of records on the desk benchmark's 20-year ward (``bench/out/ward-200k``,
      if built), whose earlier 1.6 million outbox rows count as synced already;
  (2) the city's 9-month backlog: 13 wards, 93,316 dossiers, pushed by 13 concurrent
      ``wardapp sync --no-delay`` processes to a fresh hub; wall time until the last exits, the
      hub's peak RSS (VmHWM) and the CPU time of the hub, the wards and everything else;
  (3) the hub's apply rate: in-process, the batches a ward would send applied with
      ``apply_batch`` as the push route does, against the rows it wrote written with plain
      ``executemany`` into another fresh hub database. The ratio of the rates (best of three
      runs of each);
  (4) bytes on the wire per record: the gzip batch bodies of (3) summed, divided by the records.

Figures are printed next to their targets; nothing is asserted. ``--code-at REV`` measures a
commit (exported with ``git archive``) instead of the working tree. ``--hub-command`` and
``--ward-command`` run another command in place of ``.venv/bin/city-hub``/``wardapp`` (a
wrapper that patches in a candidate fix). ``--profile`` also prints a cProfile of the apply
path (3) and of one ward's whole sync run in-process (``SyncRun``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

# bench/ is not a package: its modules are imported from its path.
import benchlib
from benchlib import log
from sync_apply import measure_apply, profile_ward_run
from sync_push import COMMANDS, HUB_THREADS, VENV_BIN, run_city, run_history, run_single
from sync_wards import HISTORY_SOURCE, OUT, build_all, history_ward, ward_specs

TARGET_SINGLE_S = 5.0
TARGET_CITY_S = 60.0
TARGET_HUB_RSS_MB = 300.0
TARGET_RATIO = 0.3


def mark(ok: bool) -> str:
    return "ok" if ok else "OVER"


def mb(n_bytes: float) -> float:
    return n_bytes / 1e6


def code_version() -> str:
    if os.environ.get("BENCH_SYNC_CODE"):
        return (
            f"{os.environ['BENCH_SYNC_CODE']} (exported to "
            f"{Path(os.environ['PYTHONPATH']).relative_to(ROOT)}, not the working tree)"
        )
    return benchlib.code_version()


LABELS = {
    "dossier": "dossiers",
    "dossier_event": "events",
    "user": "accounts",
    "audit_log": "audit entries",
}


def describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {LABELS.get(t, t)}" for t, n in counts.items())


def single_lines(single: dict, built: dict) -> list[str]:
    rate = single["records"] / single["seconds"]
    ok = mark(single["seconds"] < TARGET_SINGLE_S)
    return [
        (
            f"  (1) one ward's backlog: {single['records']:,} records "
            f"({describe(built['records'])} "
            f"before the run; one record per version of a dossier) in {single['seconds']:.2f} s = "
            f"{rate:,.0f} records/s   target < {TARGET_SINGLE_S:.0f} s {ok}"
        ),
        (
            f"      (a second `wardapp sync` with nothing to push takes {single['empty_s']:.2f} s: "
            "start-up, hello, refdata check)"
        ),
        (
            f"      CPU: ward process {single['ward_cpu_s']:.1f} s, "
            f"hub {single['hub_cpu_s']:.1f} s, "
            f"other processes on the machine {max(single['others_cpu_s'], 0):.1f} s; hub peak RSS "
            f"{mb(single['hub_hwm']):.0f} MB"
        ),
    ]


def history_lines(h: dict) -> list[str]:
    ok = mark(h["seconds"] < TARGET_SINGLE_S)
    return [
        (
            f"  (1b) the same-size backlog on a ward with 20 years of synced history "
            f"({h['history']:,} outbox rows acknowledged before it, {h['size'] / 2**30:.1f} GiB): "
            f"{h['records']:,} records in {h['seconds']:.2f} s = "
            f"{h['records'] / h['seconds']:,.0f} records/s   target < {TARGET_SINGLE_S:.0f} s {ok}"
        ),
        f"      (an empty `wardapp sync` on it takes {h['empty_s']:.2f} s)",
    ]


def city_lines(city: dict, builds: list[dict]) -> list[str]:
    totals = {t: sum(b["records"][t] for b in builds) for t in builds[0]["records"]}
    slowest = max(city["finished"], key=city["finished"].get)
    fastest = min(city["finished"], key=city["finished"].get)
    hwm = mb(city["hub_hwm"])
    per_record = 1e6 / city["records"]
    return [
        (
            f"  (2) {len(builds)} wards at once: {city['records']:,} records, the versions of "
            f"{sum(totals.values()):,} distinct ones ({describe(totals)}) in {city['wall']:.1f} s "
            f"wall = {city['records'] / city['wall']:,.0f} records/s"
            f"   target < {TARGET_CITY_S:.0f} s {mark(city['wall'] < TARGET_CITY_S)}"
        ),
        (
            f"      hub peak RSS (VmHWM) {hwm:.1f} MB (idle {mb(city['hub_rss_idle']):.1f} MB, at "
            f"the end {mb(city['hub_rss_end']):.1f} MB)"
            f"   target < {TARGET_HUB_RSS_MB:.0f} MB {mark(hwm < TARGET_HUB_RSS_MB)}"
        ),
        (
            f"      CPU: hub {city['hub_cpu_s']:.1f} s ({city['hub_cpu_s'] * per_record:.0f} "
            f"µs/record), the {len(builds)} ward processes {city['wards_cpu_s']:.1f} s "
            f"({city['wards_cpu_s'] * per_record:.0f} µs/record), other processes on the machine "
            f"{max(city['others_cpu_s'], 0):.1f} s, in {city['wall']:.1f} s on {os.cpu_count()} "
            f"CPUs; wards finished between {city['finished'][fastest]:.1f} s ({fastest}) and "
            f"{city['finished'][slowest]:.1f} s ({slowest})"
        ),
    ]


def apply_lines(a: dict) -> list[str]:
    sync_rate = a["records"] / a["apply_s"]
    plain_rate = a["records"] / a["exec_s"]
    ratio = sync_rate / plain_rate
    apply_runs = ", ".join(f"{x:.2f}" for x in a["apply_runs"])
    exec_runs = ", ".join(f"{x:.2f}" for x in a["exec_runs"])
    return [
        (
            f"  (3) hub apply rate, ward {a['ward']}: {a['records']:,} records in {a['batches']} "
            f"batches ({a['placeholders']:,} of them superseded placeholders); apply_batch "
            f"{a['apply_s']:.2f} s = {sync_rate:,.0f} records/s; plain "
            f"executemany of the {a['rows_written']:,} rows it wrote {a['exec_s']:.2f} s = "
            f"{plain_rate:,.0f} records/s; ratio {ratio:.2f}"
            f"   target >= {TARGET_RATIO} {mark(ratio >= TARGET_RATIO)}"
        ),
        (
            f"      (best of {len(a['apply_runs'])}: apply_batch {apply_runs} s; executemany "
            f"{exec_runs} s; {a['apply_s'] / a['records'] * 1e6:.0f} vs "
            f"{a['exec_s'] / a['records'] * 1e6:.1f} µs per record)"
        ),
        (
            f"      (same batches: ward's make_batch {a['make_s']:.2f} s and gzip encode "
            f"{a['encode_s']:.2f} s; hub's gunzip + JSON decode {a['decode_s']:.2f} s, not in "
            "apply_batch)"
        ),
        (
            f"  (4) bytes on the wire: {a['wire_bytes']:,} B of gzip for "
            f"{a['records']:,} records = "
            f"{a['wire_bytes'] / a['records']:.0f} B/record ({a['raw_bytes'] / a['records']:.0f} "
            f"B/record as JSON, {a['raw_bytes'] / a['wire_bytes']:.1f}x smaller); largest batch "
            f"{a['max_batch'] / 1024:.0f} KiB   (no target)"
        ),
    ]


# --- Main ---------------------------------------------------------------------------------------


def rerun_at(rev: str, argv: list[str], out: Path) -> int:
    """Run this script again on the code of commit ``rev``, exported under ``out``."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", rev],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dest = out / f"code-{commit}"
    if not (dest / "wardapp").exists():
        dest.mkdir(parents=True, exist_ok=True)
        # every package the commit has (kernel and demo came after the first ones), so that
        # none of them is taken from the working tree instead
        tree = subprocess.run(
            ["git", "-C", str(ROOT), "ls-tree", "--name-only", commit],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        packages = [p for p in benchlib.PACKAGES if p in tree]
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, *packages], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    # PYTHONPATH comes before the editable install's finder, in this process and in the CLIs.
    env = {**os.environ, "PYTHONPATH": str(dest), "BENCH_SYNC_CODE": commit}
    return subprocess.run([sys.executable, __file__, *argv], env=env, check=False).returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small wards, for trying things")
    size.add_argument(
        "--smoke",
        action="store_true",
        help="tiny wards, 3 of them for the city: only to see that the benchmark runs",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT.parent,
        metavar="DIR",
        help="write the wards, the runs and exported code under DIR/sync (default: bench/out)",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached wards")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also print cProfile of the apply path and of a ward's sync run",
    )
    parser.add_argument(
        "--only",
        choices=["single", "history", "city", "apply"],
        action="append",
        help="run only these parts (may repeat)",
    )
    parser.add_argument(
        "--hub-command",
        metavar="CMD",
        help="run this instead of .venv/bin/city-hub (e.g. a wrapper that "
        "patches in a candidate fix)",
    )
    parser.add_argument(
        "--ward-command", metavar="CMD", help="run this instead of .venv/bin/wardapp"
    )
    parser.add_argument(
        "--code-at",
        metavar="REV",
        help="run the code of this commit (exported with git archive under "
        "bench/out/sync/), not the working tree being edited",
    )
    parser.add_argument("--build-only", action="store_true", help="only build the wards")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="MINUTES",
        help="wait up to MINUTES for no other bench_*.py process and an idle machine",
    )
    args = parser.parse_args(argv)
    out = args.out.resolve() / "sync"
    if args.code_at and not os.environ.get("BENCH_SYNC_CODE"):
        return rerun_at(args.code_at, argv if argv is not None else sys.argv[1:], out)
    profile = "quick" if args.quick else "smoke" if args.smoke else "full"
    if args.hub_command:
        COMMANDS["city-hub"] = shlex.split(args.hub_command)
    if args.ward_command:
        COMMANDS["wardapp"] = shlex.split(args.ward_command)
    parts = set(args.only or ["single", "history", "city", "apply"])

    single_spec, city_specs = ward_specs(profile, args.rebuild, out)
    log(f"Sync benchmark ({profile}): code {code_version()}, {os.cpu_count()} CPUs")
    for name, command in COMMANDS.items():
        if command != [str(VENV_BIN / name)]:
            log(f"   {name} replaced by: {' '.join(command)}")
    started = time.perf_counter()
    builds = build_all([single_spec, *city_specs])
    single_built, city_built = builds[0], builds[1:]
    log(
        f"   wards ready: single {single_built['params']['dossiers']:,} dossiers "
        f"({single_built['outbox_rows']:,} outbox rows); city {len(city_built)} wards, "
        f"{sum(b['params']['dossiers'] for b in city_built):,} dossiers "
        f"({sum(b['outbox_rows'] for b in city_built):,} outbox rows), received "
        f"{min(b['received'][0] for b in city_built)} .. "
        f"{max(b['received'][1] for b in city_built)}"
    )

    if args.build_only:
        return 0
    waited = time.monotonic()
    while True:
        others, busy = benchlib.other_benchmarks("bench_sync.py"), benchlib.others_busy()
        if not others and busy < 0.2:
            break
        log(
            f"   the machine is not idle: other processes use {busy:.2f} CPUs"
            + ("; running: " + "; ".join(others) if others else "")
        )
        if not args.wait_idle or time.monotonic() - waited > args.wait_idle * 60:
            log("   (the figures below are disturbed by them)")
            break
        time.sleep(20)

    run_root = out / "run"
    run_root.mkdir(parents=True, exist_ok=True)
    single = city = applied = None
    results: list[str] = []
    if "single" in parts:
        log("-- (1) one ward's backlog, one `wardapp sync` process ...")
        single = run_single(single_built, Path(single_spec["out"]), run_root)
        log(
            f"   {single['check']}; `wardapp sync reconcile`: "
            f"{'match' if single['reconcile_ok'] else 'MISMATCH ' + single['reconcile']}"
        )
        lines = single_lines(single, single_built)
        results += lines
        log("\n".join(lines))
    if "history" in parts:
        instance = history_ward(out)
        if instance is None:
            log(f"-- (1b) skipped: {HISTORY_SOURCE} not built (bench/build_ward_db.py)")
        else:
            log("-- (1b) the same backlog on the desk benchmark's 20-year ward ...")
            lines = history_lines(run_history(instance, single_built["outbox_rows"], run_root))
            results += lines
            log("\n".join(lines))
    if "city" in parts:
        log(
            f"-- (2) {len(city_built)} wards at once, {len(city_built)} `wardapp sync` "
            "processes ..."
        )
        city = run_city(city_built, city_specs, run_root)
        log(f"   {city['check']}")
        lines = city_lines(city, city_built)
        results += lines
        log("\n".join(lines))
    if "apply" in parts:
        log(
            f"-- (3) apply rate in-process, ward {city_built[0]['params']['unit']} (city build) ..."
        )
        applied = measure_apply(Path(city_specs[0]["out"]), run_root, args.profile)
        lines = apply_lines(applied)
        results += lines
        log("\n".join(lines))

    log("")
    replaced = [n for n, c in COMMANDS.items() if c != [str(VENV_BIN / n)]]
    log(
        f"Results on {os.cpu_count()} CPUs, hub `city-hub serve --threads {HUB_THREADS}` on "
        f"loopback, code {code_version()} ({profile} run"
        + (f"; {' and '.join(replaced)} replaced as above" if replaced else "")
        + "):"
    )
    for line in results:
        log(line)
    log(f"Total {time.perf_counter() - started:.0f} s.")

    if args.profile:
        if applied and "profile" in applied:
            log("")
            log(applied["profile"])
        log(profile_ward_run(Path(single_spec["out"]), run_root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
