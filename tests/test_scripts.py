"""The admin's scheduled-sync scripts: they log each run and hand on the exit code."""

import json
import shlex
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).parent.parent / "scripts"


def test_scheduled_sync_logs_the_outcome_and_exit_code(tmp_path):
    from click.testing import CliRunner

    from wardapp.cli import cli

    instance = tmp_path / "ward"
    CliRunner().invoke(
        cli,
        [
            "init",
            "--unit",
            "30280",
            "--instance",
            str(instance),
            "--admin-password",
            "mot-mat-khau-dai",
        ],
    )
    CliRunner().invoke(
        cli,
        [
            "sync",
            "configure",
            "--hub",
            "http://127.0.0.1:9",
            "--token",
            "ws_x",
            "--instance",
            str(instance),
        ],
    )
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "scheduled_sync.py"),
            "--instance",
            str(instance),
            "--no-delay",
        ],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 2  # the hub is unreachable
    entry = json.loads(
        (instance / "logs" / "sync.log").read_text(encoding="utf-8").splitlines()[-1]
    )
    assert entry["exit"] == 2 and "Không kết nối được" in entry["result"]


def install_schedule(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "install_schedule.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_install_schedule_prints_timers_and_cron_lines(tmp_path):
    """Sync every N minutes, a backup every day, a check every week, in each scheduler's terms."""
    units = install_schedule("--instance", str(tmp_path), "--every", "10").stdout
    assert "OnUnitActiveSec=10min" in units and "scheduled_sync.py" in units
    assert "OnCalendar=*-*-* 22:30:00" in units and "OnCalendar=Sun *-*-* 23:00:00" in units
    assert "wardapp-sync.timer wardapp-backup.timer wardapp-check.timer" in units
    cron = install_schedule("--instance", str(tmp_path), "--cron", "--backup-at", "21:05")
    lines = cron.stdout.splitlines()
    assert [line.split(" ", 5)[:5] for line in lines] == [
        ["*/15", "*", "*", "*", "*"],
        ["5", "21", "*", "*", "*"],
        ["0", "23", "*", "*", "0"],
    ]
    assert lines[1].endswith(f"-m wardapp backup --instance {tmp_path}")
    assert install_schedule("--instance", str(tmp_path), "--every", "0").returncode == 2
    assert install_schedule("--instance", str(tmp_path), "--backup-at", "25:00").returncode == 2


def test_scheduled_backup_and_check_commands_run(tmp_path):
    """The commands the schedule installs work as written, on an initialised ward."""
    instance = tmp_path / "ward"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "wardapp",
            "init",
            "--unit",
            "30280",
            "--admin-password",
            "mat-khau-du-dai",
            "--instance",
            str(instance),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "wardapp",
            "backup",
            "--to",
            str(tmp_path / "usb"),
            "--instance",
            str(instance),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    for line in install_schedule("--instance", str(instance), "--cron").stdout.splitlines()[1:]:
        done = subprocess.run(shlex.split(line)[5:], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    assert len(list((tmp_path / "usb").glob("ward-*.sqlite"))) >= 1
