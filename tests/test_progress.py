"""Progress without a terminal: one line each time the work crosses another 5%, in the reader's
numbers (kernel/progress.py), for every long command; on a terminal, click's bar."""

from __future__ import annotations

import io
import re

from click.testing import CliRunner

from kernel.progress import Progress
from wardapp.cli import cli
from wardapp.sync import client as sync_client
from wardapp.sync.client import SyncConfig

from .test_sync import outbox_head, write_dossiers

LINE = re.compile(r"^Đồng bộ: (\d+)% \(([\d.]+)/([\d.]+)\)$")


def test_one_line_per_five_percent_with_vietnamese_numbers():
    out = io.StringIO()  # not a terminal
    with Progress("Đồng bộ", length=3525, file=out) as bar:
        for _ in range(3525):
            bar.update(1)
    lines = out.getvalue().splitlines()
    assert len(lines) == 20
    assert lines[6] == "Đồng bộ: 35% (1.234/3.525)"
    assert lines[-1] == "Đồng bộ: 100% (3.525/3.525)"


def test_a_total_learnt_late_and_a_new_label_show_in_the_next_line():
    out = io.StringIO()
    with Progress("Tạo hồ sơ", file=out) as bar:
        bar.length = 200
        bar.update(20)
        bar.label = "Tạo hồ sơ, đã đồng bộ 1/14 đơn vị"
        bar.update(0)  # a new label alone tells nothing new
        bar.reach(200, 200)
    assert out.getvalue().splitlines() == [
        "Tạo hồ sơ: 10% (20/200)",
        "Tạo hồ sơ, đã đồng bộ 1/14 đơn vị: 100% (200/200)",
    ]


def test_on_a_terminal_it_is_clicks_bar(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(out, "isatty", lambda: True, raising=False)
    with Progress("Đồng bộ", length=10, file=out) as bar:
        bar.update(10)
    assert bar.bar is not None and "Đồng bộ" in out.getvalue() and "100%" in out.getvalue()


def test_sync_run_without_a_terminal_prints_a_line_per_five_percent(app, hub, monkeypatch):
    """`wardapp sync run --progress` from a scheduled task: about twenty lines on stderr, the
    JSON result alone on stdout."""
    monkeypatch.setattr(sync_client, "BATCH_RECORDS", 2)  # many small batches: every 5% seen
    monkeypatch.setenv("WARDAPP_SECRET_KEY", "test")
    write_dossiers(15)
    SyncConfig(hub.url, hub.token).save(app.instance_path)
    waiting = outbox_head()
    result = CliRunner().invoke(
        cli, ["sync", "run", "--no-delay", "--progress", "--instance", app.instance_path]
    )
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 20, lines
    told = [LINE.match(line) for line in lines]
    assert all(told), lines
    assert [int(m[1]) // 5 * 5 for m in told] == list(range(5, 101, 5))
    assert lines[-1] == f"Đồng bộ: 100% ({waiting}/{waiting})"
    assert '"result": 0' in result.stdout and "Đồng bộ:" not in result.stdout


def test_generate_without_a_terminal_prints_lines_not_a_bar(tmp_path):
    """`wardapp generate` in a log: its progress as lines, ending at 100%, then the count."""
    from wardapp import write_secret_key

    from .conftest import make_ward

    make_ward(tmp_path)
    write_secret_key(str(tmp_path))
    args = ["generate", "--from", "2020-03-02", "--to", "2020-03-13", "--instance", str(tmp_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    *lines, done = result.stdout.splitlines()
    made = re.fullmatch(r"Đã tạo (\d+) hồ sơ từ 02/03/2020 đến 13/03/2020\.", done)
    assert made, done
    told = [re.fullmatch(r"Tạo hồ sơ mẫu: (\d+)% \(([\d.]+)/([\d.]+)\)", line) for line in lines]
    assert told and all(told) and len(lines) <= 20, lines
    percents = [int(m[1]) for m in told]
    assert percents == sorted(set(percents)) and percents[-1] == 100
