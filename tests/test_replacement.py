"""Replacing a ward's PC (issue 8): a ward with a year of records loses its PC; a new PC is
provisioned from the hub (``wardapp init --from-hub``) plus the old PC's last backup
(``wardapp restore``). Afterwards the hub and the new PC hold the same records, and the next
dossier code and logbook line collide with no earlier one."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from kernel.workdays import to_local
from wardapp import create_app, write_secret_key
from wardapp.backup import take_backup
from wardapp.cli import cli
from wardapp.extensions import db
from wardapp.models import SyncNode
from wardapp.sync.client import EXIT_OK, EXIT_STOPPED, HubClient, SyncConfig, SyncRun
from wardapp.sync.outgoing import local_reconcile, sync_state
from wardapp.sync.records import Dossier, User

from .conftest import PASSWORD, make_ward
from .test_sync import QUIET, write_dossiers

ADMIN_PASSWORD = "mat-khau-may-moi"


@pytest.fixture(scope="module")
def year_ward(tmp_path_factory) -> Path:
    """A ward database with a year of dossiers (about one a working day, each walked through
    its life by the city generator, so the year crosses a logbook volume), built once."""
    from wardapp.generator.plan import city_preset, plan_city
    from wardapp.generator.write import WardRun

    path = tmp_path_factory.mktemp("year-ward")
    app = make_ward(path)
    with app.app_context():
        until = dt.datetime.now(dt.UTC)
        last = to_local(until).date()
        preset = city_preset(
            last - dt.timedelta(days=365), last, units=("30280",), until=until, seed=8, scale=0.03
        )
        WardRun(preset).run(plan_city(preset))
        db.session.remove()
        db.engine.dispose()
    return path / "ward.sqlite"


def ward_on(instance: Path, template: Path):
    instance.mkdir(parents=True)
    shutil.copy(template, instance / "ward.sqlite")
    write_secret_key(str(instance))
    return create_app({"TESTING": True, "SECRET_KEY": "t"}, instance_path=str(instance))


def sync(hub) -> int:
    return SyncRun(HubClient(SyncConfig(hub.url, hub.token), **QUIET)).run()


def wardapp(*args):
    return CliRunner().invoke(cli, list(args))


def allow_rekey(hub) -> None:
    from city_hub.extensions import db as hub_db
    from city_hub.models import Ward

    with hub.app.app_context():
        hub_db.session.get(Ward, "30280").rekey_allowed = True
        hub_db.session.commit()


def hub_dossiers(hub) -> list[tuple]:
    from city_hub.extensions import db as hub_db
    from city_hub.models import RECORD_TABLES

    t = RECORD_TABLES["dossier"]
    with hub.app.app_context():
        return hub_db.session.execute(
            sa.select(t.c.code, t.c.logbook_number, t.c.received_at, t.c.version)
        ).all()


def matches_hub(hub) -> bool:
    client = HubClient(SyncConfig(hub.url, hub.token), **QUIET)
    return client.answer(client.call("GET", "reconcile"))["tables"] == local_reconcile()


def assert_numbering_continues(hub) -> None:
    """A dossier received now gets a code and a logbook line no earlier dossier has."""
    from wardapp.dossiers.service import receive_dossier

    from .conftest import intake_data

    earlier = hub_dossiers(hub)
    letan = db.session.scalar(sa.select(User).where(User.username == "letan"))
    dossier, _ = receive_dossier(intake_data(), actor=letan)
    assert dossier.code not in {code for code, *_ in earlier}
    this_year = [
        n
        for _, n, received, _ in earlier
        if to_local(received).year == to_local(dossier.received_at).year
    ]
    assert dossier.logbook_number == max(this_year, default=0) + 1


def without_rating_codes_for_half(hub) -> dict[str, str]:
    """Half the hub's dossiers as a ward before wire schema 3 sent them (no rating code), and
    the others' codes by dossier code."""
    from city_hub.extensions import db as hub_db
    from city_hub.models import RECORD_TABLES

    t = RECORD_TABLES["dossier"]
    with hub.app.app_context():
        hub_db.session.execute(
            sa.update(t).where(t.c.logbook_number % 2 == 0).values(rating_code=None)
        )
        hub_db.session.commit()
        return dict(
            hub_db.session.execute(
                sa.select(t.c.code, t.c.rating_code).where(t.c.rating_code.is_not(None))
            ).all()
        )


def assert_kiosk_takes_the_receipts_codes(app, rating_codes: dict[str, str]) -> None:
    """The new PC holds each dossier's rating code as the hub did, and its kiosk takes the code
    of a returned dossier not rated yet."""
    held = dict(db.session.execute(sa.select(Dossier.code, Dossier.rating_code)).all())
    assert {code: held[code] for code in rating_codes} == rating_codes
    unrated = db.session.scalar(
        sa.select(Dossier.rating_code)
        .where(Dossier.status == 10, Dossier.rating_code.is_not(None), ~Dossier.rating.has())
        .limit(1)
    )
    levels = dict.fromkeys(("overall", "attitude", "timeliness", "guidance"), "satisfied")
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/kiosk/").text).group(1)
    response = client.post("/kiosk/", data={"code": unrated, "csrf_token": token, **levels})
    assert response.status_code == 200 and "Cảm ơn" in response.text


def test_replacement_pc_from_the_hub_and_the_last_backup(tmp_path, year_ward, hub):
    old = ward_on(tmp_path / "old-pc", year_ward)
    with old.app_context():
        assert sync(hub) == EXIT_OK
        written_after_sync = write_dossiers(3)
        backup = take_backup(
            db.engine.url.database, tmp_path / "usb", instance_path=old.instance_path
        )
        db.session.remove()
        db.engine.dispose()
    year = len(hub_dossiers(hub))
    assert year > 200

    # The old PC's disk dies. A new PC is set up from the hub with the ward's credential.
    new = tmp_path / "new-pc"
    result = wardapp(
        "init",
        "--unit",
        "30280",
        "--from-hub",
        hub.url,
        "--token",
        hub.token,
        "--admin-password",
        ADMIN_PASSWORD,
        "--admin-username",
        "quantri",
        "--instance",
        str(new),
    )
    assert result.exit_code == 0, result.output
    assert f"{year} hồ sơ" in result.output and "allow-rekey 30280" in result.output
    app = create_app({"TESTING": True, "SECRET_KEY": "t"}, instance_path=str(new))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)) == year
        assert sync(hub) == EXIT_STOPPED  # a new identity waits for the hub admin's word
        db.session.remove()

    # Then the old PC's last backup brings back what it wrote after its last sync.
    # The backup is of the hub's own lineage and newer than its checkpoint, so no rekey.
    result = wardapp("restore", str(backup.path), "--yes", "--instance", str(new))
    assert result.exit_code == 0, result.output
    assert "đồng bộ tiếp tục như trước" in result.output
    with app.app_context():
        assert sync(hub) == EXIT_OK
        assert sync_state().last_summary["inserted"] >= 3 * 3  # the three dossiers, 2 events each
        assert matches_hub(hub)
        codes = {code for code, *_ in hub_dossiers(hub)}
        assert set(written_after_sync) <= codes and len(codes) == year + 3
        assert_numbering_continues(hub)
        assert sync(hub) == EXIT_OK and matches_hub(hub)
        db.session.remove()
        db.engine.dispose()


def test_replacement_pc_without_a_backup(tmp_path, year_ward, hub):
    """No backup survived: the new PC is whatever the hub had, with a new identity; once the
    hub's admin allows it, it syncs without the hub counting anything twice."""
    old = ward_on(tmp_path / "old-pc", year_ward)
    with old.app_context():
        assert sync(hub) == EXIT_OK
        old_identity = db.session.get(SyncNode, 1).db_instance_id
        hub_acked = sync_state().acked_seq
        db.session.remove()
        db.engine.dispose()
    rating_codes = without_rating_codes_for_half(hub)
    new = tmp_path / "new-pc"
    result = wardapp(
        "init",
        "--unit",
        "30280",
        "--from-hub",
        hub.url,
        "--token",
        hub.token,
        "--admin-password",
        ADMIN_PASSWORD,
        "--instance",
        str(new),
    )
    assert result.exit_code == 0, result.output
    app = create_app({"TESTING": True, "SECRET_KEY": "t"}, instance_path=str(new))
    with app.app_context():
        node = db.session.get(SyncNode, 1)
        assert node.db_instance_id != old_identity and sync_state().acked_seq == hub_acked
        assert (
            db.session.scalar(
                sa.select(sa.func.min(sa.text("seq"))).select_from(sa.table("outbox"))
            )
            == hub_acked + 1
        )
        # The admin logs in with the new password; the other accounts need a new one.
        users = {u.username: u for u in db.session.scalars(sa.select(User))}
        assert users["admin"].check_password(ADMIN_PASSWORD)
        assert not users["letan"].check_password(PASSWORD)
        allow_rekey(hub)
        assert sync(hub) == EXIT_OK
        summary = sync_state().last_summary
        assert summary["conflicts"] == summary["rejected"] == 0
        assert matches_hub(hub)
        assert_numbering_continues(hub)
        assert_kiosk_takes_the_receipts_codes(app, rating_codes)
        conn = sqlite3.connect(new / "ward.sqlite")
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        found = conn.execute("SELECT count(*) FROM dossier_fts").fetchone()[0]
        assert found == db.session.scalar(sa.select(sa.func.count()).select_from(Dossier))
        conn.close()
        db.session.remove()
        db.engine.dispose()


def test_provisioning_refuses_a_wrong_credential_and_leaves_nothing(tmp_path, hub):
    new = tmp_path / "new-pc"
    result = wardapp(
        "init",
        "--unit",
        "30280",
        "--from-hub",
        hub.url,
        "--token",
        "ws_wrong",
        "--admin-password",
        ADMIN_PASSWORD,
        "--instance",
        str(new),
    )
    assert result.exit_code == 1 and "không hợp lệ" in result.output
    assert not (new / "ward.sqlite").exists()


def test_a_replacement_never_reissues_a_code_on_a_receipt(tmp_path, year_ward, hub):
    """The dead PC had received three dossiers after its last sync: their codes are on three
    citizens' receipts, and the hub never saw them. The replacement numbers today past them: by
    a gap it shows, or just past the last receipt the admin saw. The hub refuses a code it
    holds twice all the same (tests/test_sync_ownership.py)."""
    from wardapp.dossiers.service import receive_dossier

    from .conftest import intake_data

    old = ward_on(tmp_path / "old-pc", year_ward)
    with old.app_context():
        assert sync(hub) == EXIT_OK
        letan = db.session.scalar(sa.select(User).where(User.username == "letan"))
        on_receipts = [receive_dossier(intake_data(), actor=letan)[0].code for _ in range(3)]
        db.session.remove()
        db.engine.dispose()  # the PC dies before it syncs them
    prefix, _, last = on_receipts[-1].rpartition("-")

    gapped = tmp_path / "new-pc"
    result = wardapp(
        "init",
        "--unit",
        "30280",
        "--from-hub",
        hub.url,
        "--token",
        hub.token,
        "--admin-password",
        ADMIN_PASSWORD,
        "--instance",
        str(gapped),
    )
    assert result.exit_code == 0, result.output
    hub_last = int(on_receipts[0].rpartition("-")[2]) - 1
    assert f"Hồ sơ mới mang mã sau {prefix}-{hub_last + 100:04d} (chừa 100 số" in result.output
    app = create_app({"TESTING": True, "SECRET_KEY": "t"}, instance_path=str(gapped))
    with app.app_context():
        letan = db.session.scalar(sa.select(User).where(User.username == "letan"))
        fresh = receive_dossier(intake_data(), actor=letan)[0].code
        assert fresh == f"{prefix}-{hub_last + 101:04d}" and fresh not in on_receipts
        db.session.remove()
        db.engine.dispose()

    confirmed = tmp_path / "new-pc-confirmed"
    result = wardapp(
        "init",
        "--unit",
        "30280",
        "--from-hub",
        hub.url,
        "--token",
        hub.token,
        "--admin-password",
        ADMIN_PASSWORD,
        "--instance",
        str(confirmed),
        "--last-code",
        on_receipts[-1],
    )
    assert result.exit_code == 0, result.output
    assert f"sau {on_receipts[-1]} (theo mã quản trị xác nhận)" in result.output
    app = create_app({"TESTING": True, "SECRET_KEY": "t"}, instance_path=str(confirmed))
    with app.app_context():
        letan = db.session.scalar(sa.select(User).where(User.username == "letan"))
        assert (
            receive_dossier(intake_data(), actor=letan)[0].code == f"{prefix}-{int(last) + 1:04d}"
        )
        db.session.remove()
        db.engine.dispose()

    # A code of another unit, or of a day the lost PC cannot have worked, is refused, and
    # nothing is left behind.
    for wrong in ("30283-261203-0001", "30280-200101-0001", "30280-xyz", f"{prefix}-{'9' * 30}"):
        refused = tmp_path / f"refused-{wrong}"
        result = wardapp(
            "init",
            "--unit",
            "30280",
            "--from-hub",
            hub.url,
            "--token",
            hub.token,
            "--admin-password",
            ADMIN_PASSWORD,
            "--instance",
            str(refused),
            "--last-code",
            wrong,
        )
        assert result.exit_code == 1 and "không phải mã hồ sơ của đơn vị" in result.output
        assert "Traceback" not in result.output
        assert not (refused / "ward.sqlite").exists()
