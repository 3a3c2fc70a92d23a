"""Run one ward sync and log its outcome, for Windows Task Scheduler, cron or a systemd timer.

    python scripts/scheduled_sync.py --instance D:\\mot-cua\\my-binh

A thin wrapper of ``wardapp sync run``: it adds nothing to the sync itself, only a log that an
admin can read later (``<instance>/logs/sync.log``, one JSON line per run, rotated at 1 MB with
five old files kept) and the same exit code (0 done, 1 backlog left, 2 failed, 3 stopped,
4 credential refused) for the scheduler's history.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

LOG_LIMIT = 1024 * 1024
LOG_KEEP = 5


def rotate(log: Path) -> None:
    if log.exists() and log.stat().st_size > LOG_LIMIT:
        for n in range(LOG_KEEP - 1, 0, -1):
            older = log.with_suffix(f".log.{n}")
            if older.exists():
                older.replace(log.with_suffix(f".log.{n + 1}"))
        log.replace(log.with_suffix(".log.1"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--instance",
        default=os.environ.get("WARDAPP_INSTANCE", "instance"),
        help="the ward's instance folder",
    )
    args, passthrough = parser.parse_known_args(argv)
    started = dt.datetime.now(dt.UTC)
    done = subprocess.run(
        [sys.executable, "-m", "wardapp", "sync", "run", "--instance", args.instance, *passthrough],
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    log = Path(args.instance) / "logs" / "sync.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    rotate(log)
    lines = done.stdout.strip().splitlines()
    entry = {
        "started_utc": started.isoformat(),
        "seconds": round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1),
        "exit": done.returncode,
        "result": lines[-1] if lines else "",
        "stderr": done.stderr.strip()[-2000:],
    }
    with log.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
