"""The demo's speed: dossiers per second through the service layer, and the time for
``wardapp demo`` to be ready, from the command to the printed URLs.

    .venv/bin/python bench/bench_demo.py [--only generate|demo] [--ward 30280] [--months N]
        [--full] [--processes 2]

(1) generate: one desk's share of the article preset (``--ward``, default Phường Mỹ Bình;
    ``--months N`` takes only the first N months), played in this process through
    ``receive_dossier``/``record_step`` by ``wardapp.generator.write.WardRun``: the plan's
    time, then dossiers, steps and outbox rows per second of one core.
(2) demo: ``.venv/bin/wardapp demo`` as a subprocess (``--small`` unless ``--full``), timed from
    its start to the line "Sẵn sàng sau …" (the URLs follow it), then Ctrl-C (SIGINT) timed until
    it exits, and every port checked closed.

Figures are printed next to the target (ready in under 2 minutes); nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchlib import VENV_BIN  # bench/ is not a package: imported from this script's folder

TARGET_READY = 120.0


def bench_generate(ward: str, months: int | None, out: str | None) -> None:
    import sqlalchemy as sa

    from demo.city import create_demo_users, demo_passwords
    from kernel.workdays import local_datetime
    from wardapp.cli import initialise
    from wardapp.extensions import db
    from wardapp.generator.people import ensure_chairman_name
    from wardapp.generator.plan import ARTICLE, plan_city
    from wardapp.generator.write import WardRun
    from wardapp.models import Outbox

    preset = ARTICLE
    if months:  # the article's plan, cut at the end of its first ``months`` months
        end = dt.date(2020, 1 + months, 1)
        preset = replace(
            ARTICLE, last=end - dt.timedelta(days=1), until=local_datetime(end, dt.time(0))
        )
    started = time.perf_counter()
    plans = [p for p in plan_city(ARTICLE) if p.unit == ward and p.at < preset.until]
    planned = time.perf_counter() - started
    instance = tempfile.mkdtemp(prefix="bench-generate-", dir=out)
    logins = demo_passwords()
    app, _ = initialise(instance, ward, "admin", logins["admin"])
    with app.app_context():
        create_demo_users(ward, logins)
        ensure_chairman_name()  # letters are written, as in the demo
        run = WardRun(preset)
        started = time.perf_counter()
        cpu = time.process_time()
        received = run.run(plans)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(Outbox))
    print(
        f"(1) generate {ward}, {preset.first} .. {plans[-1].at.date()}: plan of the whole "
        f"city {planned:.1f} s"
    )
    print(
        f"    {received:,} dossiers, {run.steps:,} steps, {rows:,} outbox rows in {wall:.1f} s "
        f"(CPU {cpu:.1f} s)"
    )
    print(
        f"    {received / wall:,.0f} dossiers/s, {run.steps / wall:,.0f} steps/s, "
        f"{rows / wall:,.0f} outbox rows/s through the service layer, one process"
    )
    print(
        f"    {received / cpu:,.0f} dossiers per CPU second (what an idle core would do); the "
        f"article's 93,316 dossiers at that rate on 2 cores: {93_316 / (2 * received / cpu):,.0f} s"
    )


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def bench_demo(full: bool, processes: int, out: str | None) -> None:
    base = 28080
    instance = Path(tempfile.mkdtemp(prefix="bench-demo-", dir=out)) / "city"
    command = [
        str(VENV_BIN / "wardapp"),
        "demo",
        "--port",
        str(base),
        "--processes",
        str(processes),
        "--instance",
        str(instance),
    ]
    if not full:
        command.insert(2, "--small")
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready = None
    for line in process.stdout:
        if line.startswith("Sẵn sàng sau"):
            ready = time.perf_counter() - started
        if line.startswith("Ctrl-C"):
            break
    if ready is None:
        print("(2) the demo did not get ready:", process.wait())
        return
    stopping = time.perf_counter()
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=60)
    stopped = time.perf_counter() - stopping
    process.stdout.close()
    still_open = [p for p in range(base, base + 15) if port_open(p)]
    print(
        f"(2) wardapp demo{'' if full else ' --small'} ({processes} processes): ready in "
        f"{ready:.1f} s  {'ok' if ready < TARGET_READY else 'OVER'} (target < "
        f"{TARGET_READY:.0f} s)"
    )
    print(
        f"    Ctrl-C: exit {code} after {stopped:.1f} s; ports still open: {still_open or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["generate", "demo"])
    parser.add_argument("--ward", default="30280")
    parser.add_argument("--months", type=int, choices=range(1, 10))
    parser.add_argument("--full", action="store_true", help="the article preset in (2)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="make the wards in DIR (default: the system's temporary folder)",
    )
    args = parser.parse_args()
    if args.only in (None, "generate"):
        bench_generate(args.ward, args.months, args.out)
    if args.only in (None, "demo"):
        bench_demo(args.full, args.processes, args.out)


if __name__ == "__main__":
    main()
