"""``wardapp --help`` and ``city-hub --help`` answer in a blink (issue 18: under 0.3 s, measured
by bench/bench_cli.py, never asserted here): what they import is. The database layer, the web
server, the spreadsheets, the charts, the HTTP client and the demo's city are loaded by the
commands that use them, not to print the help (which also lists the demo, a plugin command)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sqlalchemy", "flask", "alembic", "waitress", "openpyxl", "xlsxwriter", "pygal")
HEAVY_MODULES = ("requests", "holidays", "demo.city", "wardapp.generator", "wardapp.models")

PROBE = """
import contextlib, io, json, sys
from {module} import cli
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        cli(["--help"], prog_name="{name}")
    except SystemExit as e:
        assert e.code == 0, e.code
loaded = sorted(sys.modules)
print(json.dumps({{"help": out.getvalue(), "modules": loaded}}))
"""


def help_in_a_fresh_process(module: str, name: str) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, name=name)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    ("module", "name", "commands"),
    [
        ("wardapp.cli", "wardapp", ("serve*", "demo", "sync", "user", "token", "restore")),
        ("city_hub.cli", "city-hub", ("serve*", "ward", "import", "refdata", "user", "report")),
    ],
)
def test_help_imports_no_heavy_library(module, name, commands):
    answer = help_in_a_fresh_process(module, name)
    listed = [line.split()[0] for line in answer["help"].split("Commands:")[1].splitlines() if line]
    assert set(commands) <= set(listed)
    loaded = answer["modules"]
    top = {m.split(".")[0] for m in loaded}
    assert not top & set(HEAVY), sorted(top & set(HEAVY))
    assert not [m for m in loaded if m.startswith(HEAVY_MODULES)]


def test_a_subcommands_help_still_names_its_choices():
    """The choices the options declare come from the light modules of names (wardapp.roles,
    city_hub.roles, wardapp.sync.code_gap): the same help as before."""
    from click.testing import CliRunner

    from city_hub.cli import cli as hub_cli
    from wardapp.cli import cli as ward_cli

    runner = CliRunner()
    ward = runner.invoke(ward_cli, ["user", "add", "--help"]).output
    assert "[receptionist|officer|leader|admin]" in ward
    restore = runner.invoke(ward_cli, ["sync", "recover", "--help"]).output
    assert "--code-gap" in restore and "default: 100" in restore
    hub = runner.invoke(hub_cli, ["user", "add", "--help"]).output
    assert "[viewer|admin]" in hub
