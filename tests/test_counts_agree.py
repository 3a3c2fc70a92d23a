"""One definition of every status and indicator: the ward's work lists and the hub's report
count the same dossiers.

Generated histories (supplement pauses, apologies with new appointments, extensions of the due
time by a pause, refusals, withdrawals, late resolutions) are written at a ward through its
services, synced to a real hub over HTTP, and at the same moment every work-list count the ward
shows is compared with the hub's figure for that ward. Among them are dossiers paused for a
supplement past their first due time: the hub once counted them overdue, the ward did not.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from kernel.statuses import PAUSED_STATUS
from kernel.workdays import local_datetime
from wardapp.dossiers.queries import home_counters, work_list_query
from wardapp.dossiers.service import load_calendar, receive_dossier, record_step
from wardapp.extensions import db
from wardapp.generator.plan import city_preset, plan_city
from wardapp.generator.write import WardRun
from wardapp.sync.records import Dossier, DossierEvent

from .conftest import LiveServer, account, intake_data, make_hub, make_ward

UNIT = "30280"


def late_histories(until: dt.datetime) -> None:
    """Beside the generated city, the histories still open at ``until`` that a count can
    disagree on: running past the due time, with and without an apology and a new appointment;
    paused for a supplement after the due time passed; paused and resumed (the due time moved
    on by the pause), then late all the same."""
    letan, officer = account("letan"), account("chuyenvien")
    day = dt.timedelta(days=1)
    histories = [
        [],
        [("apology", 8, {"reason": "Cần xác minh thêm", "new_due_date": None})],
        [("supplement_requested", 9, {"reason": "Thiếu bản sao giấy tờ"})],
        [("supplement_requested", 3, {"reason": "Thiếu giấy tờ"}), ("supplement_received", 5, {})],
    ]
    for steps in histories:
        received = until - 21 * day
        dossier, _ = receive_dossier(
            intake_data(procedure_code="1.004884", received_at=received.isoformat()),
            actor=letan,
            now=received,
        )
        record_step(
            dossier.code,
            "handed_over",
            actor=letan,
            to_user_uuid=officer.uuid,
            now=received + dt.timedelta(hours=1),
        )
        for kind, days_after, args in steps:
            when = received + days_after * day
            if kind == "apology":
                args = {**args, "new_due_date": (when + 30 * day).date().isoformat()}
            record_step(dossier.code, kind, actor=officer, now=when, **args)


def ward_counts(now: dt.datetime) -> dict[str, int]:
    """What the desk shows at ``now``: its home counters and the size of each work list."""
    calendar = load_calendar()
    counters = home_counters(now)
    lists = {
        name: db.session.scalar(
            sa.select(sa.func.count()).select_from(work_list_query(name, now, calendar).subquery())
        )
        for name in ("in_progress", "overdue", "waiting", "ready")
    }
    return {"open": counters["open"], "overdue": counters["overdue"], **lists}


@pytest.mark.parametrize("until_day", [dt.date(2020, 4, 17), dt.date(2020, 5, 29)])
def test_every_work_list_count_is_the_hubs_figure(tmp_path, hub_database_url, until_day):
    from city_hub.reports.indicators import Window
    from city_hub.reports.queries import ward_report
    from wardapp.sync.client import HubClient, SyncConfig, SyncRun

    until = local_datetime(until_day, dt.time(16, 30))
    preset = city_preset(
        dt.date(2020, 2, 3), until_day, units=(UNIT,), scale=0.6, until=until, seed=7
    )
    (tmp_path / "ward").mkdir()
    ward = make_ward(tmp_path / "ward", UNIT)
    hub_app, tokens = make_hub(tmp_path / "hub", wards=(UNIT,), database_url=hub_database_url)
    with ward.app_context():
        WardRun(preset).run(plan_city(preset))
        late_histories(until)
        held = ward_counts(until)
        kinds = set(db.session.scalars(sa.select(DossierEvent.kind).distinct()))
        paused_past_due = db.session.scalar(
            sa.select(sa.func.count()).where(
                Dossier.status == PAUSED_STATUS, Dossier.due_at < until
            )
        )
        with LiveServer(hub_app) as url:
            assert SyncRun(HubClient(SyncConfig(url, tokens[UNIT]))).run() == 0
        db.session.remove()
        db.engine.dispose()
    # The histories hold every kind of step that moves a count.
    assert {
        "supplement_requested",
        "supplement_received",
        "apology",
        "refused",
        "withdrawn",
        "resolved",
        "returned",
    } <= kinds, kinds
    assert held["waiting"] and held["overdue"] and held["in_progress"], held
    assert paused_past_due, "no paused dossier past its first due time: the case is not tried"
    with hub_app.app_context():
        window = Window(local_datetime(preset.first, dt.time(0)), until, until)
        hub = next(row for row in ward_report(window) if row.key == UNIT).counts
    assert hub["pending"] == held["open"]
    assert hub["pending_overdue"] == held["overdue"]
    assert hub["pending_paused"] == held["waiting"]
    assert hub["pending"] - hub["pending_paused"] == held["in_progress"]
    with hub_app.app_context():
        from city_hub.extensions import db as hub_db

        hub_db.session.remove()
        hub_db.engine.dispose()
