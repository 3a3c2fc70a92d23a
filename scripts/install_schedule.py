"""Print (or, on Windows, create) the scheduled task that runs a ward's sync every N minutes.

    python scripts/install_schedule.py --instance D:\\mot-cua\\my-binh --every 15 [--apply]

On Windows it builds a Task Scheduler command (``schtasks /Create``), run with ``--apply``; on
Linux it prints a systemd service and timer to install, or a cron line with ``--cron``. Each
entry runs ``scripts/scheduled_sync.py`` with this Python, so the ward's own virtual environment
is used.
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("scheduled_sync.py").resolve()


def windows_command(instance: str, every: int, name: str) -> list[str]:
    action = f'"{sys.executable}" "{SCRIPT}" --instance "{instance}"'
    return ["schtasks", "/Create", "/F", "/TN", name, "/SC", "MINUTE", "/MO", str(every),
            "/TR", action]


def systemd_units(instance: str, every: int, name: str) -> dict[str, str]:
    command = " ".join(shlex.quote(p) for p in (sys.executable, str(SCRIPT), "--instance",
                                                 instance))
    return {
        f"{name}.service": f"[Unit]\nDescription=Đồng bộ một cửa ({instance})\n\n[Service]\n"
                           f"Type=oneshot\nExecStart={command}\n",
        f"{name}.timer": f"[Unit]\nDescription=Đồng bộ một cửa mỗi {every} phút\n\n[Timer]\n"
                         f"OnBootSec=2min\nOnUnitActiveSec={every}min\n\n[Install]\n"
                         "WantedBy=timers.target\n",
    }


def cron_line(instance: str, every: int) -> str:
    command = " ".join(shlex.quote(p) for p in (sys.executable, str(SCRIPT), "--instance",
                                                 instance))
    return f"*/{every} * * * * {command}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", required=True, help="the ward's instance folder")
    parser.add_argument("--every", type=int, default=15, help="minutes between runs")
    parser.add_argument("--name", default="wardapp-sync", help="task or unit name")
    parser.add_argument("--cron", action="store_true", help="print a cron line (Linux)")
    parser.add_argument("--apply", action="store_true", help="create the Windows task now")
    args = parser.parse_args(argv)
    if not 1 <= args.every <= 1440:
        parser.error("--every must be between 1 and 1440 minutes")
    instance = str(Path(args.instance).resolve())
    if os.name == "nt":
        command = windows_command(instance, args.every, args.name)
        if args.apply:
            return subprocess.run(command).returncode
        print(subprocess.list2cmdline(command))
    elif args.cron:
        print(cron_line(instance, args.every))
    else:
        for filename, text in systemd_units(instance, args.every, args.name).items():
            print(f"# /etc/systemd/system/{filename}\n{text}")
        print(f"# then: systemctl daemon-reload && systemctl enable --now {args.name}.timer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
