"""The city generator: the article's figures exactly at full scale (the plan), realistic
patterns, and a small city played through the service layer and synced to a real hub, whose
report shows exactly what was planned."""

from __future__ import annotations

import collections
import datetime as dt
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from kernel.workdays import WorkCalendar, to_local
from wardapp.cli import cli
from wardapp.generator.plan import (
    ARTICLE,
    CITY_UNITS,
    catalogue,
    city_preset,
    plan_city,
    working_days,
)
from wardapp.generator.write import WardRun

from .conftest import LiveServer, make_hub, make_ward


def tally(plans) -> collections.Counter:
    """What the hub's report counts, from the plan alone."""
    procedures = catalogue()
    counts = collections.Counter()
    for p in plans:
        level = procedures[p.procedure].online_level
        counts["received"] += 1
        counts[p.outcome] += 1
        counts["level3_dossiers"] += level == "partial"
        counts["level3_online"] += level == "partial" and p.channel == "online_partial"
        counts["level4_dossiers"] += level == "full"
        counts["level4_online"] += level == "full" and p.channel == "online_full"
        counts["postal"] += "postal" in (p.channel, p.return_method)
    return counts


@pytest.fixture(scope="module")
def article_plan():
    return plan_city(ARTICLE)


def test_article_plan_has_the_article_figures_exactly(article_plan):
    counts = tally(article_plan)
    assert counts["received"] == 93_316
    assert counts["in_time"] == 88_311
    assert counts["level3_online"] == 15_996 and counts["level4_online"] == 6_580
    assert counts["postal"] == 6_176
    resolved = counts["in_time"] + counts["late"]
    assert round(88_311 / resolved, 2) == 0.97
    assert round(counts["level3_online"] / counts["level3_dossiers"], 2) == 0.35
    assert round(counts["level4_online"] / counts["level4_dossiers"], 2) == 0.87
    assert set(p.unit for p in article_plan) == set(CITY_UNITS) and len(CITY_UNITS) == 14


def test_article_plan_looks_like_a_year_at_the_desks(article_plan):
    calendar = WorkCalendar()
    per_day = collections.Counter(to_local(p.at).date() for p in article_plan)
    assert all(calendar.is_working_day(day) for day in per_day)  # no intake on holidays
    assert all(dt.time(7, 30) <= to_local(p.at).time() <= dt.time(17, 0) for p in article_plan)
    open_days = working_days(calendar, ARTICLE.first, ARTICLE.last)
    assert set(per_day) == set(open_days)

    def mean(first, last):
        days = [d for d in open_days if first <= d <= last]
        return sum(per_day[d] for d in days) / len(days)

    before_tet = mean(dt.date(2020, 1, 2), dt.date(2020, 1, 22))  # Tết: 23–29 January 2020
    after_tet = mean(dt.date(2020, 1, 30), dt.date(2020, 2, 8))
    ordinary = mean(dt.date(2020, 6, 1), dt.date(2020, 8, 31))
    assert before_tet > ordinary > after_tet
    assert mean(dt.date(2020, 4, 1), dt.date(2020, 4, 22)) < 0.6 * ordinary  # distancing
    by_weekday = collections.Counter()
    for day, count in per_day.items():
        by_weekday[day.weekday()] += count
    assert by_weekday[0] > by_weekday[4]
    outcomes = collections.Counter(p.outcome for p in article_plan)
    assert outcomes["refused"] and outcomes["withdrawn"] and outcomes["open"]
    assert sum(p.supplement for p in article_plan) > 1000
    assert sum(p.apology for p in article_plan) > 100
    same_day = {c for c, info in catalogue().items() if info.duration_unit == "same_day"}
    assert sum(p.procedure in same_day for p in article_plan) > 40_000


def test_a_make_up_saturday_is_an_intake_day():
    """Saturday 22/08/2026 is worked (nghỉ bù for 2 September): desks receive dossiers then."""
    preset = city_preset(dt.date(2026, 8, 17), dt.date(2026, 8, 28), units=("30280",))
    days = collections.Counter(to_local(p.at).date() for p in plan_city(preset))
    assert days[dt.date(2026, 8, 22)] > 0 and dt.date(2026, 8, 23) not in days


def test_plan_is_reproducible_and_seeded():
    preset = city_preset(
        dt.date(2020, 3, 2), dt.date(2020, 3, 13), units=("30280", "883"), scale=0.3
    )
    assert plan_city(preset) == plan_city(preset)
    other = city_preset(preset.first, preset.last, units=preset.units, scale=0.3, seed=7)
    assert plan_city(other) != plan_city(preset)


@pytest.mark.parametrize("units", [("30280", "883")])
def test_small_city_synced_to_the_hub_reports_the_plan_exactly(tmp_path, units):
    from city_hub.reports.periods import Period
    from city_hub.reports.queries import ward_report
    from wardapp.sync.client import HubClient, SyncConfig, SyncRun

    # Six weeks around Tết 2020 at a tenth of the article's pace: supplements, apologies,
    # refusals, withdrawals and dossiers still open at the end all occur.
    preset = city_preset(dt.date(2020, 1, 2), dt.date(2020, 2, 14), units=units, scale=0.1)
    plans = plan_city(preset)
    hub_app, tokens = make_hub(tmp_path / "hub", wards=units)
    with LiveServer(hub_app) as url:
        for code in units:
            (tmp_path / code).mkdir()
            ward = make_ward(tmp_path / code, code)
            with ward.app_context():
                run = WardRun(preset)
                assert run.run([p for p in plans if p.unit == code]) == sum(
                    p.unit == code for p in plans
                )
                assert SyncRun(HubClient(SyncConfig(url, tokens[code]))).run() == 0
    with hub_app.app_context():
        rows = {row.key: row for row in ward_report(Period(preset.first, preset.last).window())}
    city, q = rows["CITY"].counts, preset.quotas
    assert city["received"] == q.received == len(plans)
    assert city["resolved"] == q.resolved
    assert city["resolved_early"] + city["resolved_on_time"] == q.in_time
    assert city["resolved_late"] == q.resolved - q.in_time
    assert (city["level3_dossiers"], city["level3_online"]) == (q.level3_dossiers, q.level3_online)
    assert (city["level4_dossiers"], city["level4_online"]) == (q.level4_dossiers, q.level4_online)
    assert city["postal"] == q.postal
    assert (city["refused"], city["withdrawn"], city["pending"]) == (
        q.refused,
        q.withdrawn,
        q.pending,
    )
    assert city["apologies"] > 0 and rows["883"].counts["received"] > 0


def test_generate_command_fills_an_empty_ward_once(tmp_path):
    from wardapp import write_secret_key

    make_ward(tmp_path)
    write_secret_key(str(tmp_path))
    args = [
        "generate",
        "--from",
        "2020-03-02",
        "--to",
        "2020-03-06",
        "--scale",
        "0.5",
        "--instance",
        str(tmp_path),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    preset = city_preset(dt.date(2020, 3, 2), dt.date(2020, 3, 6), scale=0.5)
    expected = sum(p.unit == "30280" for p in plan_city(preset))
    assert f"Đã tạo {expected} hồ sơ" in result.output
    db = sqlite3.connect(Path(tmp_path) / "ward.sqlite")
    assert db.execute("select count(*) from dossier").fetchone()[0] == expected
    # one outbox row per version of each dossier and per event, as real work leaves
    versions = db.execute("select sum(version) from dossier").fetchone()[0]
    events = db.execute("select count(*) from dossier_event").fetchone()[0]
    assert (
        db.execute(
            "select count(*) from outbox where table_name in ('dossier', 'dossier_event')"
        ).fetchone()[0]
        == versions + events
    )
    db.close()
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "đã có hồ sơ" in again.output


def test_demo_builds_and_syncs_the_small_city(tmp_path):
    from city_hub import create_app as create_hub
    from city_hub.reports.periods import Period
    from city_hub.reports.queries import ward_report
    from demo.city import small_preset

    root = tmp_path / "city"
    result = CliRunner().invoke(
        cli, ["demo", "--small", "--no-serve", "--port", "0", "--instance", str(root)]
    )
    assert result.exit_code == 0, result.output
    # Not a terminal: the build's progress is a line each 5%, never a redrawn bar.
    told = re.findall(r"^Tạo hồ sơ[^:]*: (\d+)% \([\d.]+/[\d.]+\)$", result.stdout, re.M)
    assert 10 <= len(told) <= 20 and told[-1] == "100", result.stdout
    assert "\r" not in result.stdout
    preset = small_preset()
    hub = create_hub({"TESTING": True}, instance_path=str(root / "hub"))
    with hub.app_context():
        city = ward_report(Period(preset.first, preset.last).window())[-1].counts
    assert city["received"] == preset.quotas.received
    assert city["resolved_early"] + city["resolved_on_time"] == preset.quotas.in_time
    assert city["postal"] == preset.quotas.postal
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted([*CITY_UNITS, "hub"])
    # The reform models came along, the letters signed by each desk's chairman, kept in its
    # settings for the desks the demo serves.
    assert city["letters_congratulation"] and city["ratings"] and city["writing_assist"]
    assert city["feedback_received"] >= len(CITY_UNITS)
    years = {d.year for d in working_days(WorkCalendar(), preset.first, preset.last)}
    assert city["inspections_submitted"] == len(CITY_UNITS) * len(years)  # one a year
    assert "CHAIRMAN_NAME = " in (root / "30280" / "config.py").read_text(encoding="utf-8")


def is_alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children_of(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_ctrl_c_while_the_city_is_being_built_stops_everything(tmp_path):
    """Ctrl-C during the (long) build stops the hub and the worker processes at once, instead of
    waiting for every desk to be generated."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wardapp",
            "demo",
            "--port",
            str(port),
            "--instance",
            str(tmp_path / "city"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    workers: set[int] = set()
    try:
        for line in process.stdout:
            if line.startswith("Tạo hồ sơ"):
                break
        time.sleep(3)  # the workers are generating desks now
        workers = children_of(process.pid)
        assert len(workers) >= 3  # the hub, the queue's manager, the pool's workers
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert "Đang dừng" in process.stdout.read()
        deadline = time.monotonic() + 10
        while (alive := {p for p in workers if is_alive(p)}) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0
    finally:  # a failure must not leave a city generating in the background
        for pid in {p for p in workers | {process.pid} if is_alive(p)}:
            os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)
        process.stdout.close()


def test_demo_refuses_a_busy_port_before_doing_anything(tmp_path):
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["demo", "--small", "--port", str(port - 3), "--instance", str(tmp_path / "city")]
        )
    assert result.exit_code == 1
    assert f"Cổng {port} đang được dùng" in result.output
    assert not (tmp_path / "city" / "hub").exists()


def ward_reform_counts() -> dict[str, int]:
    """What the ward's own tables hold of the reform models (all inside the period)."""
    import sqlalchemy as sa

    from wardapp.extensions import db
    from wardapp.sync.records import RATING_CRITERIA, Dossier, Feedback, Inspection, Letter, Rating

    def count(model, *where):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

    satisfied = ("very_satisfied", "satisfied")
    return {
        "letters_congratulation": count(Letter, Letter.kind == "congratulation"),
        "letters_condolence": count(Letter, Letter.kind == "condolence"),
        "ratings": count(Rating),
        **{
            f"satisfied_{c}": count(Rating, getattr(Rating, c).in_(satisfied))
            for c in RATING_CRITERIA
        },
        "feedback_received": count(Feedback),
        "feedback_answered": count(Feedback, Feedback.answered_at.is_not(None)),
        "feedback_answered_on_time": count(Feedback, Feedback.answered_at <= Feedback.due_at),
        "inspections_submitted": count(
            Inspection, Inspection.status == "submitted", Inspection.revision == 1
        ),
        "writing_assist": count(
            Dossier, Dossier.writing_assist.is_(True), Dossier.prefill_consent.is_(True)
        ),
    }


def test_reform_records_reach_the_hub_as_the_wards_hold_them_and_repeat(tmp_path):
    """Letters, ratings, writing assistance, feedback and self-inspections are generated
    through their services, leave the dossier figures as planned, reach the hub's report as the
    wards hold them, and come out the same for the same seed."""
    from city_hub.reports.periods import Period
    from city_hub.reports.queries import ward_report
    from wardapp.generator.people import ensure_chairman_name
    from wardapp.sync.client import HubClient, SyncConfig, SyncRun

    units = ("30280", "30313")
    # Across a new year: each ward submits one self-inspection for 2020 and one for 2021.
    preset = city_preset(dt.date(2020, 12, 1), dt.date(2021, 1, 29), units=units, scale=0.15)
    plans = plan_city(preset)

    def generate(root, sync_to=None):
        held = {}
        for code in units:
            (root / code).mkdir(parents=True)
            ward = make_ward(root / code, code)
            with ward.app_context():
                assert ensure_chairman_name()
                WardRun(preset).run([p for p in plans if p.unit == code])
                held[code] = ward_reform_counts()
                if sync_to:
                    assert SyncRun(HubClient(SyncConfig(*sync_to(code)))).run() == 0
        return held

    hub_app, tokens = make_hub(tmp_path / "hub", wards=units)
    with LiveServer(hub_app) as url:
        held = generate(tmp_path / "first", lambda code: (url, tokens[code]))
    with hub_app.app_context():
        rows = {row.key: row for row in ward_report(Period(preset.first, preset.last).window())}
    for code in units:
        hub = rows[code].counts
        assert {k: hub[k] for k in held[code]} == held[code], code
        assert rows[code].rates["satisfaction_rate"] == round(
            held[code]["satisfied_overall"] / held[code]["ratings"], 4
        )
        assert held[code]["inspections_submitted"] == 2  # one a year, by the leader
    city, q = rows["CITY"].counts, preset.quotas
    # The extras change no dossier figure of the plan.
    assert (
        city["received"],
        city["resolved_early"] + city["resolved_on_time"],
        city["level3_online"],
        city["level4_online"],
        city["postal"],
    ) == (q.received, q.in_time, q.level3_online, q.level4_online, q.postal)
    # Realistic shares: letters for most birth, marriage and death registrations, mostly
    # satisfied citizens with a few not, a little writing assistance, little feedback.
    assert city["letters_congratulation"] > 0 and city["ratings"] > 0.1 * q.resolved
    assert 0.85 < rows["CITY"].rates["satisfaction_rate"] < 1
    assert 0 < city["writing_assist"] < 0.1 * q.received
    assert 0 < city["feedback_received"] < 0.02 * q.received
    # The same seed, the same city.
    assert generate(tmp_path / "again") == held
