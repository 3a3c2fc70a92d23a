"""Backups and restores of the ward database (issue 8): online verified copies with retention,
a full backup disk, the backup before a schema upgrade, restores that are checked first and then
mended from the hub so that nothing is lost or counted twice, and the panel that shows it all."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import requests
import sqlalchemy as sa
from click.testing import CliRunner

from kernel.database import at_head, current_revision
from kernel.workdays import to_local
from wardapp import backup as backups
from wardapp import write_secret_key
from wardapp.backup import read_manifest, retained, take_backup
from wardapp.cli import cli
from wardapp.database import MIGRATIONS_DIR
from wardapp.extensions import db
from wardapp.models import SyncNode
from wardapp.sync.client import EXIT_OK, EXIT_STOPPED, SyncConfig
from wardapp.sync.outgoing import local_reconcile, sync_state
from wardapp.sync.records import Dossier

from .test_sync import hub_matches_ward, outbox_head, run, write_dossiers


def instance_of(app) -> Path:
    instance = Path(app.instance_path)
    write_secret_key(str(instance))
    return instance


def wardapp(instance: Path, *args, input=None):
    result = CliRunner().invoke(cli, [*args, "--instance", str(instance)], input=input)
    db.session.remove()  # the command wrote through its own app: read afresh
    return result


def fresh_count(model) -> int:
    db.session.remove()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_backup_is_a_verified_copy_listed_in_the_manifest(app, tmp_path):
    instance = instance_of(app)
    write_dossiers(3)
    target = tmp_path / "usb"
    result = wardapp(instance, "backup", "--to", str(target))
    assert result.exit_code == 0, result.output
    assert "3 hồ sơ" in result.output and "toàn vẹn: ok" in result.output
    [entry] = read_manifest(target)
    copy = target / entry["file"]
    assert entry["sha256"] == backups.file_sha256(copy) and entry["integrity"] == "ok"
    assert entry["counts"]["dossier"] == 3 and entry["counts"]["dossier_event"] == 6
    assert entry["outbox_head"] == outbox_head() and entry["schema"] == current_revision(db.engine)
    conn = sqlite3.connect(copy)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT count(*) FROM dossier").fetchone() == (3,)
    conn.close()
    assert not list(target.glob("*.part"))
    # The folder is remembered: the next backup goes there without --to.
    assert wardapp(instance, "backup").exit_code == 0
    assert len(read_manifest(target)) == 1  # same day: the newer copy replaces the older


def test_retention_keeps_the_last_days_and_months():
    start = dt.datetime(2026, 1, 1, 3, tzinfo=dt.UTC)
    entries = [
        {"file": f"{i}", "taken_utc": (start + dt.timedelta(hours=12 * i)).isoformat()}
        for i in range(2 * 400)
    ]  # two a day for 400 days
    kept = retained(entries, keep_daily=7, keep_monthly=12)
    last_of_day, last_of_month = {}, {}
    for entry in entries:  # oldest first: the last one written per day and month wins
        local = to_local(dt.datetime.fromisoformat(entry["taken_utc"]))
        last_of_day[local.date()] = last_of_month[(local.year, local.month)] = entry["file"]
    expected = {last_of_day[d] for d in sorted(last_of_day)[-7:]} | {
        last_of_month[m] for m in sorted(last_of_month)[-12:]
    }
    assert {e["file"] for e in kept} == expected and kept[-1] == entries[-1]
    assert 12 <= len(kept) <= 7 + 12
    assert retained(entries[:1], keep_daily=1, keep_monthly=0) == entries[:1]


def test_old_copies_are_pruned_after_a_new_one_is_verified(app, tmp_path):
    target = tmp_path / "usb"
    start = dt.datetime(2026, 3, 1, 2, tzinfo=dt.UTC)
    for day in range(5):
        take_backup(
            db.engine.url.database,
            target,
            instance_path=app.instance_path,
            keep_daily=3,
            keep_monthly=1,
            now=start + dt.timedelta(days=day),
        )
    files = sorted(p.name for p in target.glob("*.sqlite"))
    assert files == sorted(e["file"] for e in read_manifest(target))
    assert [f[5:13] for f in files] == ["20260303", "20260304", "20260305"]


def test_a_second_copy_within_one_second_neither_overwrites_nor_is_pruned(app, tmp_path):
    """A scheduled backup and an admin's own in the same second: the second gets its own file
    and, being the newer copy of that day, is the one retention keeps."""
    instance, now = instance_of(app), dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
    first, second = (
        take_backup(db.engine.url.database, tmp_path / "usb", now=now, instance_path=str(instance))
        for _ in range(2)
    )
    assert first.path != second.path and second.removed == [first.path.name]
    assert second.path.exists() and not first.path.exists()
    assert [e["file"] for e in read_manifest(tmp_path / "usb")] == [second.path.name]


def test_full_backup_disk_leaves_no_half_copy_and_old_copies_whole(app, tmp_path, monkeypatch):
    """Disk full during backup (``max_page_count`` on the copy): a clear message, no half copy,
    the older copies and the manifest untouched, and a backup once there is room again."""
    instance = instance_of(app)
    target = tmp_path / "usb"
    first = take_backup(
        db.engine.url.database,
        target,
        instance_path=str(instance),
        now=dt.datetime(2026, 3, 1, 2, tzinfo=dt.UTC),
    )
    manifest_before = (target / "manifest.json").read_bytes()
    write_dossiers(2)

    def cramped(path):
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA max_page_count = 8")
        return conn

    monkeypatch.setattr(backups, "open_copy", cramped)
    result = wardapp(instance, "backup")
    assert result.exit_code == 1
    assert "đã đầy" in result.output and "bản sao lưu cũ vẫn còn nguyên" in result.output
    assert sorted(p.name for p in target.iterdir()) == sorted([first.path.name, "manifest.json"])
    assert (target / "manifest.json").read_bytes() == manifest_before
    assert backups.file_sha256(first.path) == first.entry["sha256"]
    assert "đã đầy" in backups.read_state(str(instance))["last_failure"]["message"]
    # The live database was never at risk, and once there is room the backup works.
    assert sqlite3.connect(db.engine.url.database).execute("PRAGMA integrity_check").fetchone() == (
        "ok",
    )
    monkeypatch.undo()
    assert wardapp(instance, "backup").exit_code == 0
    assert backups.read_state(str(instance))["last_failure"] is None
    assert len(read_manifest(target)) == 2


def downgrade_to(app, revision: str) -> None:
    from flask_migrate import downgrade

    downgrade(directory=MIGRATIONS_DIR, revision=revision)
    db.session.remove()
    db.engine.dispose()


def test_start_up_upgrade_takes_a_verified_backup_first(app, tmp_path):
    instance = instance_of(app)
    write_dossiers(1)
    downgrade_to(app, "0006")
    backups.update_state(str(instance), backup_dir=str(tmp_path / "usb"))
    result = wardapp(instance, "backup")
    assert result.exit_code == 0, result.output
    reasons = [e["reason"] for e in read_manifest(tmp_path / "usb")]
    assert reasons == ["before-upgrade-from-0006", "daily"]
    assert read_manifest(tmp_path / "usb")[0]["schema"] == "0006"
    assert at_head(MIGRATIONS_DIR, db.engine)


def test_upgrade_waits_when_no_backup_can_be_made(app, tmp_path):
    instance = instance_of(app)
    downgrade_to(app, "0006")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    backups.update_state(str(instance), backup_dir=str(blocked))
    result = wardapp(instance, "user", "list")
    assert result.exit_code == 1 and "Chưa nâng cấp" in result.output
    assert current_revision(db.engine) == "0006"


def test_check_records_the_integrity_check_for_the_panel(app, client, auth):
    instance = instance_of(app)
    auth.login("quantri")
    page = client.get("/sync/").get_data(as_text=True)
    assert "Chưa sao lưu trong 2 ngày qua" in page and "Chưa kiểm tra toàn vẹn" in page
    result = wardapp(instance, "check")
    assert result.exit_code == 0 and "integrity_check: ok" in result.output
    assert wardapp(instance, "backup").exit_code == 0
    page = client.get("/sync/").get_data(as_text=True)
    assert "Chưa sao lưu" not in page and "Chưa kiểm tra toàn vẹn" not in page
    assert "Sao lưu gần nhất" in page and "đạt" in page


def test_low_free_disk_is_warned_on_the_panel(app, client, auth, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(
        shutil, "disk_usage", lambda p: usage(10**10, 10**10 - 300 * 2**20, 300 * 2**20)
    )
    auth.login("quantri")
    page = client.get("/sync/").get_data(as_text=True)
    assert "Ổ đĩa chứa dữ liệu" in page and "chỉ còn 300 MB trống" in page


# --- Restore ----------------------------------------------------------------------------------


def test_restore_refuses_what_is_not_a_sound_backup_of_this_ward(app, tmp_path):
    instance = instance_of(app)
    write_dossiers(1)
    made = take_backup(db.engine.url.database, tmp_path / "usb", instance_path=str(instance))
    not_sqlite = tmp_path / "photo.sqlite"
    not_sqlite.write_bytes(b"\x89PNG" + bytes(100))
    damaged = tmp_path / "damaged.sqlite"
    data = bytearray(made.path.read_bytes())
    data[4096 * 3 : 4096 * 3 + 2000] = bytes(range(256)) * 7 + bytes(208)
    damaged.write_bytes(bytes(data))
    other, newer = tmp_path / "other.sqlite", tmp_path / "newer.sqlite"
    for path, query in (
        (other, "UPDATE sync_node SET ward_code = '30283'"),
        (newer, "UPDATE alembic_version SET version_num = '9999'"),
    ):
        path.write_bytes(made.path.read_bytes())
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute(query)
        conn.commit()
        conn.close()
    for path, reason in (
        (not_sqlite, "không phải tệp cơ sở dữ liệu"),
        (damaged, "damaged.sqlite bị hỏng"),
        (other, "dữ liệu của đơn vị 30283"),
        (newer, "phiên bản phần mềm mới hơn"),
        (tmp_path / "missing.sqlite", "Không có tệp"),
    ):
        result = wardapp(instance, "restore", str(path), "--yes")
        assert result.exit_code == 1 and reason in result.output, (path, result.output)
    assert fresh_count(Dossier) == 1


def test_restore_without_the_hub_puts_the_copy_back_and_keeps_the_replaced_data(app, tmp_path):
    instance = instance_of(app)
    write_dossiers(2)
    made = take_backup(db.engine.url.database, tmp_path / "usb", instance_path=str(instance))
    write_dossiers(3)
    result = wardapp(instance, "restore", str(made.path), input="y\n")
    assert result.exit_code == 0, result.output
    assert "Bản sao lưu hợp lệ" in result.output and "Đã khôi phục" in result.output
    assert fresh_count(Dossier) == 2
    # What was replaced was backed up first.
    [before] = [e for e in read_manifest(tmp_path / "usb") if e["reason"] == "before-restore"]
    assert before["counts"]["dossier"] == 5


def test_restore_mends_from_the_hub_so_nothing_is_lost_or_doubled(app, hub, tmp_path):
    """T16 through the commands: the backup lacks three dossiers the hub received after it was
    taken. After the restore they come back from the hub, the database is rekeyed, and one sync
    later (once the hub's admin allows the new identity) the hub and the ward hold the same
    records, each once, and new dossier codes continue after the old ones."""
    from city_hub.extensions import db as hub_db
    from city_hub.models import Ward

    instance = instance_of(app)
    SyncConfig(hub.url, hub.token).save(str(instance))
    write_dossiers(2)
    assert run(hub) == EXIT_OK
    made = take_backup(db.engine.url.database, tmp_path / "usb", instance_path=str(instance))
    codes = write_dossiers(3)
    assert run(hub) == EXIT_OK

    result = wardapp(instance, "restore", str(made.path), "--yes")
    assert result.exit_code == 0, result.output
    assert "lấy lại từ máy chủ thành phố 3 hồ sơ" in result.output
    assert "city-hub ward allow-rekey 30280" in result.output
    assert fresh_count(Dossier) == 5
    assert run(hub) == EXIT_STOPPED  # the hub waits for its admin's word on the new identity
    with hub.app.app_context():
        hub_db.session.get(Ward, "30280").rekey_allowed = True
        hub_db.session.commit()
    assert run(hub) == EXIT_OK
    assert hub.count("dossier") == 5 and hub_matches_ward(hub)
    assert hub.count("dossier_event") == 10  # each once (the reconcile counts agree too)
    # Only the audit entries of the restore and the rekey were new to the hub.
    assert sync_state().last_summary["inserted"] == 2
    # The desk goes on numbering after the dossiers it got back.
    new_code = write_dossiers(1)[0]
    assert new_code not in codes and new_code > max(codes)


def test_restore_of_a_current_backup_needs_no_rekey(app, hub, tmp_path):
    instance = instance_of(app)
    SyncConfig(hub.url, hub.token).save(str(instance))
    write_dossiers(2)
    assert run(hub) == EXIT_OK
    made = take_backup(db.engine.url.database, tmp_path / "usb", instance_path=str(instance))
    identity = db.session.get(SyncNode, 1).db_instance_id
    result = wardapp(instance, "restore", str(made.path), "--yes")
    assert result.exit_code == 0, result.output
    assert "đồng bộ tiếp tục như trước" in result.output
    assert db.session.get(SyncNode, 1).db_instance_id == identity
    write_dossiers(1)
    assert run(hub) == EXIT_OK and hub_matches_ward(hub)


# --- The hub serves a ward only its own records -------------------------------------------------


def records_page(hub, token, **params):
    return requests.get(
        f"{hub.url}/api/sync/v1/records",
        params=params,
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_records_endpoint_serves_only_the_wards_own_records(app, hub):
    write_dossiers(3)
    assert run(hub) == EXIT_OK
    first = records_page(hub, hub.token, table="dossier", limit=2).json()
    assert len(first["records"]) == 2 and first["next_after"]
    assert first["acked_seq"] == sync_state().acked_seq and first["acked_record_sha256"]
    rest = records_page(hub, hub.token, table="dossier", after=first["next_after"]).json()
    assert len(rest["records"]) == 1 and rest["next_after"] is None
    uuids = {r["uuid"] for r in first["records"] + rest["records"]}
    assert uuids == set(db.session.scalars(sa.select(Dossier.uuid)))
    assert "search_text" not in rest["records"][0] and "sync_seq" not in rest["records"][0]
    other = records_page(hub, hub.tokens["30283"], table="dossier").json()
    assert other["records"] == [] and other["acked_seq"] == 0
    for params in ({"table": "ward"}, {"table": "dossier", "limit": 0}, {}):
        refused = records_page(hub, hub.token, **params)
        assert refused.status_code == 400 and refused.json()["error"]["code"]
    assert records_page(hub, "ws_wrong", table="dossier").status_code == 401
    assert local_reconcile()["dossier"]["count"] == 3
    assert json.dumps(rest)  # plain JSON all the way


def test_restore_over_a_damaged_database(app, tmp_path):
    """The disk is dying: the live file is too damaged to open. The restore still checks the
    backup, moves the damaged files aside (kept for a specialist) and puts the copy in place."""
    instance = instance_of(app)
    write_dossiers(2)
    made = take_backup(db.engine.url.database, tmp_path / "usb", instance_path=str(instance))
    db.session.remove()
    db.engine.dispose()
    live = Path(db.engine.url.database)
    data = bytearray(live.read_bytes())
    data[0:100] = bytes(100)  # the header is gone
    live.write_bytes(bytes(data))
    result = wardapp(instance, "restore", str(made.path), "--yes")
    assert result.exit_code == 0, result.output
    assert "Không sao lưu được dữ liệu hiện tại" in result.output
    assert fresh_count(Dossier) == 2
    assert list(live.parent.glob("ward.sqlite.hong-*"))


def test_recover_later_reports_dossiers_whose_code_was_taken_meanwhile(app, hub, tmp_path):
    """Restored while the hub was out of reach, the desk received a dossier before recovering:
    its code is one the hub already holds for a dossier the backup lacks. Recovery keeps the
    local dossier, leaves the hub's out and says so, rather than overwrite either."""
    instance = instance_of(app)
    write_dossiers(1)
    made = take_backup(db.engine.url.database, tmp_path / "usb", instance_path=str(instance))
    SyncConfig(hub.url, hub.token).save(str(instance))
    write_dossiers(1)
    assert run(hub) == EXIT_OK
    SyncConfig("http://127.0.0.1:9", hub.token).save(str(instance))  # the link is down
    result = wardapp(instance, "restore", str(made.path), "--yes")
    assert result.exit_code == 0 and "wardapp sync recover" in result.output
    write_dossiers(1)  # takes the code of the hub's second dossier
    SyncConfig(hub.url, hub.token).save(str(instance))
    result = wardapp(instance, "sync", "recover", "--yes")
    assert result.exit_code == 0, result.output
    assert "3 bản ghi xung đột" in result.output  # the dossier and its two events
    assert fresh_count(Dossier) == 2
