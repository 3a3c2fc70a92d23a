"""The admin's scheduled-sync scripts: they log each run and hand on the exit code."""
import json
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).parent.parent / "scripts"


def test_scheduled_sync_logs_the_outcome_and_exit_code(tmp_path):
    from click.testing import CliRunner

    from wardapp.cli import cli

    instance = tmp_path / "ward"
    CliRunner().invoke(cli, ["init", "--unit", "30280", "--instance", str(instance),
                             "--admin-password", "mot-mat-khau-dai"])
    CliRunner().invoke(cli, ["sync", "configure", "--hub", "http://127.0.0.1:9",
                             "--token", "ws_x", "--instance", str(instance)])
    done = subprocess.run([sys.executable, str(SCRIPTS / "scheduled_sync.py"), "--instance",
                           str(instance), "--no-delay"], capture_output=True, timeout=120)
    assert done.returncode == 2  # the hub is unreachable
    entry = json.loads((instance / "logs" / "sync.log").read_text(encoding="utf-8").splitlines()[-1])
    assert entry["exit"] == 2 and "Không kết nối được" in entry["result"]


def test_install_schedule_prints_a_timer_and_a_cron_line(tmp_path):
    out = subprocess.run([sys.executable, str(SCRIPTS / "install_schedule.py"), "--instance",
                          str(tmp_path), "--every", "10"], capture_output=True, text=True)
    assert "OnUnitActiveSec=10min" in out.stdout and "scheduled_sync.py" in out.stdout
    cron = subprocess.run([sys.executable, str(SCRIPTS / "install_schedule.py"), "--instance",
                           str(tmp_path), "--cron"], capture_output=True, text=True)
    assert cron.stdout.startswith("*/15 * * * * ")
    bad = subprocess.run([sys.executable, str(SCRIPTS / "install_schedule.py"), "--instance",
                          str(tmp_path), "--every", "0"], capture_output=True, text=True)
    assert bad.returncode == 2
