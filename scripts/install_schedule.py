"""Print (or, on Windows, create) the scheduled tasks of a ward: sync every N minutes, a verified
backup every day, an integrity check every week.

    python scripts/install_schedule.py --instance D:\\mot-cua\\my-binh --every 15 [--apply]

On Windows it builds Task Scheduler commands (``schtasks /Create``), run with ``--apply``; on
Linux it prints systemd services and timers to install, or cron lines with ``--cron``. Each task
runs with this Python, so the ward's own virtual environment is used: the sync through
``scripts/scheduled_sync.py`` (which keeps a log), the backup and the check as ``python -m
wardapp backup|check``.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("scheduled_sync.py").resolve()


@dataclass(frozen=True)
class Job:
    """One scheduled task: its name suffix, what it runs, and when (in each scheduler's terms)."""

    name: str
    args: tuple[str, ...]
    description: str
    schtasks: tuple[str, ...]
    timer: str
    cron: str


def ward_jobs(instance: str, every: int, backup_at: str) -> list[Job]:
    hour, minute = (int(part) for part in backup_at.split(":"))
    python = sys.executable
    return [
        Job(
            "sync",
            (python, str(SCRIPT), "--instance", instance),
            f"Đồng bộ một cửa mỗi {every} phút",
            ("/SC", "MINUTE", "/MO", str(every)),
            f"OnBootSec=2min\nOnUnitActiveSec={every}min",
            f"*/{every} * * * *",
        ),
        Job(
            "backup",
            (python, "-m", "wardapp", "backup", "--instance", instance),
            f"Sao lưu một cửa hằng ngày lúc {backup_at}",
            ("/SC", "DAILY", "/ST", backup_at),
            f"OnCalendar=*-*-* {backup_at}:00\nPersistent=true",
            f"{minute} {hour} * * *",
        ),
        Job(
            "check",
            (python, "-m", "wardapp", "check", "--instance", instance),
            "Kiểm tra toàn vẹn một cửa hằng tuần (Chủ nhật 23:00)",
            ("/SC", "WEEKLY", "/D", "SUN", "/ST", "23:00"),
            "OnCalendar=Sun *-*-* 23:00:00\nPersistent=true",
            "0 23 * * 0",
        ),
    ]


def windows_command(job: Job, prefix: str) -> list[str]:
    return [
        "schtasks",
        "/Create",
        "/F",
        "/TN",
        f"{prefix}-{job.name}",
        *job.schtasks,
        "/TR",
        subprocess.list2cmdline(job.args),
    ]


def systemd_units(job: Job, prefix: str, instance: str) -> dict[str, str]:
    command = shlex.join(job.args)
    return {
        f"{prefix}-{job.name}.service": f"[Unit]\nDescription={job.description} ({instance})\n\n"
        f"[Service]\nType=oneshot\nExecStart={command}\n",
        f"{prefix}-{job.name}.timer": f"[Unit]\nDescription={job.description}\n\n[Timer]\n"
        f"{job.timer}\n\n[Install]\nWantedBy=timers.target\n",
    }


def cron_line(job: Job) -> str:
    return f"{job.cron} {shlex.join(job.args)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", required=True, help="the ward's instance folder")
    parser.add_argument("--every", type=int, default=15, help="minutes between syncs")
    parser.add_argument("--backup-at", default="22:30", help="the daily backup's time, HH:MM")
    parser.add_argument("--name", default="wardapp", help="prefix of the task or unit names")
    parser.add_argument("--cron", action="store_true", help="print cron lines (Linux)")
    parser.add_argument("--apply", action="store_true", help="create the Windows tasks now")
    args = parser.parse_args(argv)
    if not 1 <= args.every <= 1440:
        parser.error("--every must be between 1 and 1440 minutes")
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", args.backup_at):
        parser.error("--backup-at must be a time of day, HH:MM")
    instance = str(Path(args.instance).resolve())
    jobs = ward_jobs(instance, args.every, args.backup_at)
    if os.name == "nt":
        for job in jobs:
            command = windows_command(job, args.name)
            if args.apply:
                if done := subprocess.run(command).returncode:
                    return done
            else:
                print(subprocess.list2cmdline(command))
    elif args.cron:
        for job in jobs:
            print(cron_line(job))
    else:
        for job in jobs:
            for filename, text in systemd_units(job, args.name, instance).items():
                print(f"# /etc/systemd/system/{filename}\n{text}")
        timers = " ".join(f"{args.name}-{job.name}.timer" for job in jobs)
        print(f"# then: systemctl daemon-reload && systemctl enable --now {timers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
