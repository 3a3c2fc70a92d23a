"""The demo's scheduled syncs (demo.city.ScheduledSyncs), against a real ward and a real hub on
waitress: each desk's ``wardapp sync run`` in its turn, one at a time, logged; nothing before
its time; stopping the demo stops a run in progress; 0 minutes runs none."""

from __future__ import annotations

import signal
import time

from click.testing import CliRunner

from demo.city import Desk, ScheduledSyncs
from wardapp import write_secret_key
from wardapp.extensions import db
from wardapp.sync.client import SyncConfig
from wardapp.sync.outgoing import sync_state

from .conftest import WARD, LiveServer, make_hub
from .test_sync import outbox_head, write_dossiers


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait(schedule: ScheduledSyncs, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while schedule.child.poll() is None:
        assert time.monotonic() < deadline, "the scheduled sync did not end"
        time.sleep(0.1)
    return schedule.child.returncode


def test_each_desk_syncs_in_its_turn(app, tmp_path):
    hub_app, tokens = make_hub(tmp_path / "hub")
    write_secret_key(app.instance_path)
    write_dossiers(2)
    head = outbox_head()
    db.session.rollback()
    desk = Desk(WARD, "Phường Mỹ Bình", tmp_path, 0)
    idle = Desk("30283", "Phường Mỹ Long", tmp_path / "nowhere", 0)  # its turn comes second
    clock = Clock()
    with LiveServer(hub_app) as hub_url:
        SyncConfig(hub_url, tokens[WARD]).save(app.instance_path)
        schedule = ScheduledSyncs([desk, idle], minutes=3, root=tmp_path, clock=clock)
        schedule.tick()
        assert schedule.child is None  # the city was synced as it was built: not yet
        clock.now += 89
        schedule.tick()
        assert schedule.child is None
        clock.now += 1  # 3 minutes over 2 desks: a turn every 90 s
        schedule.tick()
        assert wait(schedule) == 0
        assert sync_state().acked_seq == head
        assert '"result": 0' in (tmp_path / f"{WARD}-sync.log").read_text(encoding="utf-8")
        schedule.tick()
        assert schedule.child is None  # the next desk waits for its own turn
        clock.now += 90
        schedule.tick()
        running = schedule.child
        assert running is not None and schedule.turn == 2
        schedule.stop()  # the demo stopping: the run in progress goes too
        assert running.returncode == -signal.SIGTERM and schedule.child is None
    from city_hub.extensions import db as hub_db
    from city_hub.models import RECORD_TABLES

    with hub_app.app_context():
        dossiers = RECORD_TABLES["dossier"]
        assert hub_db.session.scalar(db.select(db.func.count()).select_from(dossiers)) == 2
        hub_db.session.remove()
        hub_db.engine.dispose()


def test_zero_minutes_runs_none(tmp_path):
    clock = Clock()
    schedule = ScheduledSyncs([Desk(WARD, "x", tmp_path, 0)], minutes=0, root=tmp_path, clock=clock)
    clock.now += 10**6
    schedule.tick()
    assert schedule.child is None


def test_the_option_is_in_the_demos_help():
    from wardapp.cli import cli

    shown = CliRunner().invoke(cli, ["demo", "--help"]).output
    assert "--sync-every MINUTES" in shown and "0: tắt" in shown
