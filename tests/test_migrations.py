"""Migrations: one linear history, and the models match what the migrations build."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import Config

from wardapp.database import MIGRATIONS_DIR, alembic_include_name
from wardapp.extensions import db


def test_single_head():
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_models_match_migrations(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "include_name": alembic_include_name, "render_as_batch": True})
        assert compare_metadata(context, db.metadata) == []


def test_search_index_survives_lost_triggers(app):
    """A batch migration drops the FTS triggers; the start-up repair brings them back."""
    import sqlite3

    from wardapp.database import ensure_search_index

    path = db.engine.url.database
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER dossier_ai")
    conn.commit()
    conn.close()
    ensure_search_index()
    conn = sqlite3.connect(path)
    names = {r[0] for r in conn.execute("select name from sqlite_master where type='trigger'")}
    conn.close()
    assert {"dossier_ai", "dossier_ad", "dossier_au"} <= names
