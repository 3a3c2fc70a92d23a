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
        context = MigrationContext.configure(
            connection, opts={"include_name": alembic_include_name, "render_as_batch": True}
        )
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


def test_a_step_does_not_reindex_the_dossier_but_a_new_search_text_does(app):
    """The update trigger is narrowed to the search text, also on a ward whose trigger an older
    release made broad, and the index stays right."""
    import sqlite3

    from wardapp.database import ensure_search_index
    from wardapp.dossiers.service import receive_dossier
    from wardapp.sync.records import User

    from .conftest import intake_data

    receptionist = db.session.scalar(db.select(User).where(User.username == "letan"))
    dossier, _ = receive_dossier(intake_data(applicant_name="Nguyễn Văn An"), actor=receptionist)
    uuid = dossier.uuid
    conn = sqlite3.connect(db.engine.url.database)
    (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'dossier_au'").fetchone()
    conn.execute("DROP TRIGGER dossier_au")  # as an older release left it
    conn.execute(sql.replace(' OF "search_text"', ""))
    conn.commit()

    def changes(statement: str) -> int:
        before = conn.total_changes
        conn.execute(statement)
        conn.commit()
        return conn.total_changes - before

    # the row itself counts one change; re-indexing it counts those of the index's tables
    assert changes(f"UPDATE dossier SET status = 2 WHERE uuid = '{uuid}'") > 1  # broad
    ensure_search_index()
    (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'dossier_au'").fetchone()
    assert 'AFTER UPDATE OF "search_text" ON "dossier"' in sql
    assert changes(f"UPDATE dossier SET status = 3 WHERE uuid = '{uuid}'") == 1
    assert changes(f"UPDATE dossier SET search_text = 'tran thi binh' WHERE uuid = '{uuid}'") > 1

    def found(word: str) -> bool:
        return (
            conn.execute(
                "SELECT count(*) FROM dossier_fts WHERE dossier_fts MATCH ?", (word,)
            ).fetchone()[0]
            == 1
        )

    assert found("binh") and not found("an")
    conn.close()
