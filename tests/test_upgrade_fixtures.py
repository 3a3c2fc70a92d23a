"""Upgrades from every released schema: each database in ``tests/fixtures`` (one ward and one hub
database per release, built by ``tests/fixtures/build_fixtures.py``) is upgraded to the newest
schema and must keep every row it had. A new release only adds its two files here."""

from __future__ import annotations

import gzip
import re
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

FIXTURES = Path(__file__).parent / "fixtures"
NAME = re.compile(r"(ward|hub)-(\w+)\.sqlite\.gz")
ALL = sorted(p.name for p in FIXTURES.glob("*.sqlite.gz"))
DERIVED = re.compile(r"sqlite_.*|alembic_version|dossier_fts.*")  # rebuilt, not data


def unpack(name: str, folder: Path, database_file: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / database_file
    path.write_bytes(gzip.decompress((FIXTURES / name).read_bytes()))
    return path


def row_keys(path: Path) -> dict[str, set[tuple]]:
    """Per data table, the primary keys (or, without one, whole rows) it holds."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if not DERIVED.fullmatch(r[0])
        ]
        keys = {}
        for table in tables:
            info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
            pk = [c[1] for c in sorted(info, key=lambda c: c[5]) if c[5]] or [c[1] for c in info]
            columns = ", ".join(f'"{c}"' for c in pk)
            keys[table] = set(conn.execute(f'SELECT {columns} FROM "{table}"'))
        return keys
    finally:
        conn.close()


def assert_nothing_lost(before: dict[str, set[tuple]], after: dict[str, set[tuple]]) -> None:
    for table, keys in before.items():
        assert keys, f"the fixture's {table} is empty: rebuild it with rows in every table"
        assert table in after, f"table {table} is gone after the upgrade"
        assert keys <= after[table], f"{table} lost {len(keys - after[table])} rows"


def assert_every_model_table(metadata, after: dict[str, set[tuple]]) -> None:
    """The upgrade made every table of the newest models, those an older fixture predates too."""
    missing = set(metadata.tables) - set(after)
    assert not missing, f"tables {sorted(missing)} are missing after the upgrade"


def test_there_is_a_fixture_per_app_for_this_release():
    from city_hub import MIGRATIONS_DIR as HUB_MIGRATIONS
    from wardapp.database import MIGRATIONS_DIR, known_revisions

    assert {m.group(1) for m in map(NAME.fullmatch, ALL) if m} == {"ward", "hub"}
    heads = {
        "ward": max(known_revisions(MIGRATIONS_DIR)),
        "hub": max(known_revisions(HUB_MIGRATIONS)),
    }
    for name in ALL:
        kind, revision = NAME.fullmatch(name).groups()
        assert revision in known_revisions(MIGRATIONS_DIR if kind == "ward" else HUB_MIGRATIONS)
        assert revision <= heads[kind]


@pytest.mark.parametrize("name", [n for n in ALL if n.startswith("ward-")])
def test_ward_database_upgrades_without_losing_a_row(name, tmp_path):
    from kernel.database import current_revision
    from wardapp import create_app
    from wardapp.backup import read_manifest
    from wardapp.database import known_revisions, upgrade_schema
    from wardapp.dossiers.service import receive_dossier
    from wardapp.extensions import db
    from wardapp.sync.outgoing import local_reconcile
    from wardapp.sync.records import Dossier, User

    from .conftest import intake_data

    revision = NAME.fullmatch(name).group(2)
    path = unpack(name, tmp_path / "ward", "ward.sqlite")
    before = row_keys(path)
    app = create_app({"TESTING": True, "SECRET_KEY": "t"}, instance_path=str(tmp_path / "ward"))
    with app.app_context():
        upgrade_schema()  # what start-up does: backup, migrate, rebuild the search index
        assert current_revision(db.engine) == max(known_revisions())
        assert_nothing_lost(before, row_keys(path))
        assert_every_model_table(db.metadata, row_keys(path))
        upgraded = read_manifest(tmp_path / "ward" / "backups")
        if revision != max(known_revisions()):
            assert upgraded[0]["reason"] == f"before-upgrade-from-{revision}"
            assert upgraded[0]["counts"]["dossier"] == len(before["dossier"])
        assert db.session.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
        found = db.session.execute(
            sa.text("SELECT count(*) FROM dossier_fts WHERE dossier_fts MATCH 'duc'")
        ).scalar()
        assert found >= 1  # the search index was rebuilt over the old dossiers
        assert local_reconcile()["dossier"]["count"] == len(before["dossier"])
        # The desk works on, numbering after the old dossiers.
        letan = db.session.scalar(sa.select(User).where(User.username == "letan"))
        old_codes = set(db.session.scalars(sa.select(Dossier.code)))
        dossier, _ = receive_dossier(intake_data(), actor=letan)
        assert dossier.code not in old_codes
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("name", [n for n in ALL if n.startswith("hub-")])
def test_hub_database_upgrades_without_losing_a_row(name, tmp_path):
    from city_hub import MIGRATIONS_DIR, create_app, upgrade_schema
    from city_hub.extensions import db
    from kernel.database import current_revision
    from wardapp.database import known_revisions

    path = unpack(name, tmp_path / "hub", "hub.sqlite")
    before = row_keys(path)
    app = create_app({"TESTING": True, "SECRET_KEY": "t"}, instance_path=str(tmp_path / "hub"))
    with app.app_context():
        upgrade_schema()
        assert current_revision(db.engine) == max(known_revisions(MIGRATIONS_DIR))
        metadata = db.metadata
        db.session.remove()
        db.engine.dispose()
    assert_nothing_lost(before, row_keys(path))
    assert_every_model_table(metadata, row_keys(path))


def test_upgraded_ward_and_hub_of_the_newest_release_sync_on(tmp_path):
    """The newest fixtures were built together (the hub holds the ward's records): upgraded, the
    ward's history still matches the hub's, and it syncs what it writes next."""
    from city_hub import create_app as create_hub
    from city_hub import upgrade_schema as upgrade_hub
    from city_hub.extensions import db as hub_db
    from city_hub.models import Ward
    from city_hub.wards import issue_credential
    from wardapp import create_app
    from wardapp.database import upgrade_schema
    from wardapp.extensions import db
    from wardapp.sync.client import EXIT_OK, HubClient, SyncConfig, SyncRun
    from wardapp.sync.outgoing import local_reconcile

    from .conftest import LiveServer
    from .test_sync import write_dossiers

    unpack(max(n for n in ALL if n.startswith("ward-")), tmp_path / "ward", "ward.sqlite")
    unpack(max(n for n in ALL if n.startswith("hub-")), tmp_path / "hub", "hub.sqlite")
    hub = create_hub({"TESTING": True, "SECRET_KEY": "t"}, instance_path=str(tmp_path / "hub"))
    with hub.app_context():
        upgrade_hub()
        token = issue_credential(hub_db.session.get(Ward, "30280"))
        hub_db.session.commit()
    ward = create_app({"TESTING": True, "SECRET_KEY": "t"}, instance_path=str(tmp_path / "ward"))
    with LiveServer(hub) as url, ward.app_context():
        upgrade_schema()
        client = HubClient(SyncConfig(url, token), retries=0, sleep=lambda s: None)
        assert SyncRun(client).run() == EXIT_OK
        write_dossiers(1)
        assert SyncRun(client).run() == EXIT_OK
        remote = client.answer(client.call("GET", "reconcile"))["tables"]
        assert remote == local_reconcile()
        empty = sorted(table for table, digest in remote.items() if not digest["count"])
        assert not empty, f"the newest fixtures hold no {empty} records: rebuild them"
        db.session.remove()
        db.engine.dispose()
    with hub.app_context():
        hub_db.session.remove()
        hub_db.engine.dispose()
