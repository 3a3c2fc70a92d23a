"""Every benchmark under bench/ runs from the checkout, on whatever day it is (issue 18: "a
benchmark that fails by the calendar cannot back a figure"): each script's smallest profile,
once, as a new user runs it (a process started with this interpreter), writing only into a
temporary folder. Only that it exits 0 and prints its table of figures is asserted, never a
figure: they are the benchmarks' to print (bench/README.md), and this machine is shared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PG_URL = os.environ.get("HUB_TEST_POSTGRES_URL")


def bench(script: str, *args: str, timeout: float = 300) -> str:
    """Run ``bench/<script>`` with this checkout's code first on the path; its output."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("bench-out")


@pytest.fixture(scope="module")
def small_ward(out):
    """The desk benchmark's ward at its smallest (bench/README.md's quick mode)."""
    ward = out / "ward-small"
    printed = bench("build_ward_db.py", "--out", str(ward), "--dossiers", "5000", "--years", "1")
    assert "Benchmark ward: " in printed and "rows: 5,000 dossiers" in printed
    return ward


def test_build_ward_db_and_bench_desk(small_ward, out):
    printed = bench(
        "bench_desk.py",
        "--ward",
        str(small_ward),
        "--out",
        str(out / "ward-small-run"),
        "-n",
        "5",
        "--warmup",
        "1",
        "--no-extras",
    )
    assert "Results on " in printed
    for row in ("(a) intake POST + slip", "(b) home page /", "(d) search citizen ID", "VmHWM"):
        assert row in printed
    assert (out / "ward-small-run" / "ward.sqlite").exists()  # the copy served, not bench/out


def test_bench_reports(out):
    backends = ["--only", "sqlite"]
    if PG_URL:
        backends += ["--only", "postgresql", "--pg-url", PG_URL]
    try:
        printed = bench(
            "bench_reports.py",
            "--out",
            str(out),
            "--dossiers",
            "2000",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--no-experiments",
            *backends,
        )
    finally:
        if PG_URL:
            drop_report_database(out / "reports-2000")
    assert "Results, 2025-9M report" in printed
    assert "sqlite:\n" in printed and "ratio report / floor" in printed
    if PG_URL:
        assert "postgresql:\n" in printed


def drop_report_database(cache: Path) -> None:
    """The PostgreSQL database the run made for its temporary cache (named after the folder)."""
    sys.path.insert(0, str(BENCH))
    from reports_hub import pg_database  # bench/ is not a package: imported from its path

    engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{pg_database(cache)}" WITH (FORCE)'))
    engine.dispose()


def test_bench_sync_smoke(out):
    """The smoke profile: tiny wards, 3 of them for the city; every part but (1b), which copies
    the desk benchmark's 20-year ward when it is built."""
    printed = bench(
        "bench_sync.py",
        "--smoke",
        "--out",
        str(out),
        *("--only", "single", "--only", "city", "--only", "apply"),
    )
    table = printed.split("Results on ", 1)[1]
    for row in ("(1) one ward's backlog", "(2) 3 wards at once", "(3) hub apply rate", "(4) bytes"):
        assert row in table
    assert (out / "sync" / "wards" / "smoke-single-30280" / "build.json").exists()


def test_bench_demo_generate(out):
    printed = bench("bench_demo.py", "--only", "generate", "--months", "1", "--out", str(out))
    assert "(1) generate 30280, 2020-01-01 .. " in printed and "dossiers/s" in printed


def test_bench_cli(out):
    printed = bench("bench_cli.py", "-n", "2", "--warmup", "0")
    for row in ("floor: python -c pass", "wardapp --help", "city-hub --help"):
        assert row in printed.split("Results, ", 1)[1]
