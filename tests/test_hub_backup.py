"""Hub backups (issue 8, T17): ``scripts/hub_backup.py`` copies the hub's database (SQLite backup
API, or pg_dump for PostgreSQL) and restores it; the restore drill rolls the hub back to an older
copy and every ward re-sends what the hub lost from the outbox it keeps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from wardapp.extensions import db
from wardapp.models import Outbox
from wardapp.sync.client import EXIT_OK
from wardapp.sync.outgoing import sync_state

from .test_sync import hub_matches_ward, outbox_head, run, write_dossiers

SCRIPT = Path(__file__).parent.parent / "scripts" / "hub_backup.py"


def hub_backup(hub, *args) -> subprocess.CompletedProcess:
    from city_hub.extensions import db as hub_db

    with hub.app.app_context():
        url = hub_db.engine.url
        hub_db.session.remove()
        hub_db.engine.dispose()  # the drill stops the hub's connections, as an admin would
    env = {k: v for k, v in os.environ.items() if k != "CITY_HUB_DATABASE_URL"}
    if url.get_backend_name() == "postgresql":
        env["CITY_HUB_DATABASE_URL"] = url.render_as_string(hide_password=False)
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--instance", hub.app.instance_path],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_hub_restored_from_an_older_backup_gets_the_lost_records_again(app, hub, tmp_path):
    write_dossiers(3)
    assert run(hub) == EXIT_OK
    made = hub_backup(hub, "backup", "--to", str(tmp_path / "hub-backups"))
    assert made.returncode == 0, made.stderr
    [copy] = list((tmp_path / "hub-backups").iterdir())
    assert copy.suffix in (".sqlite", ".dump") and not copy.name.endswith(".part")

    write_dossiers(4)
    assert run(hub) == EXIT_OK
    assert hub.count("dossier") == 7
    acked_before = sync_state().acked_seq

    restored = hub_backup(hub, "restore", str(copy))
    assert restored.returncode == 0, restored.stderr
    assert hub.count("dossier") == 3 and hub.ward().acked_seq < acked_before

    # The ward kept its acknowledged outbox rows: every one is still there to send again.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Outbox)) == outbox_head()
    assert run(hub) == EXIT_OK
    assert hub.count("dossier") == 7 and hub_matches_ward(hub)
    assert sync_state().acked_seq == acked_before == hub.ward().acked_seq


def test_hub_backup_keeps_the_newest_copies_and_refuses_a_bad_restore(hub, tmp_path):
    folder = tmp_path / "hub-backups"
    folder.mkdir()
    for stamp in ("20260101-020000", "20260102-020000", "20260103-020000"):
        (folder / f"hub-{stamp}.sqlite").write_bytes(b"")
    made = hub_backup(hub, "backup", "--to", str(folder), "--keep", "2")
    assert made.returncode == 0, made.stderr
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 2 and names[0] == "hub-20260103-020000.sqlite"
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    refused = hub_backup(hub, "restore", str(junk))
    assert refused.returncode == 2 and "Lỗi" in refused.stderr
    assert hub.ward().code == "30280"  # the hub's data is untouched
