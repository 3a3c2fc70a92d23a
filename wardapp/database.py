"""The ward database: its write transactions on the ward's session, its migrations and upgrade
(with the backup before it) and the dossier search index. The helpers it shares with the hub are
:mod:`kernel.database`."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils
from flask_migrate import upgrade as alembic_upgrade

from kernel import database as kernel_database
from kernel.database import at_head, current_revision

from .extensions import db

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")
FTS_TABLE = "dossier_fts"


@contextmanager
def write_transaction(session=None):
    """:func:`kernel.database.write_transaction` on the ward's session unless told another."""
    with kernel_database.write_transaction(session or db.session) as active:
        yield active


@contextmanager
def batched_writes(session=None):
    """:func:`kernel.database.batched_writes` on the ward's session unless told another."""
    with kernel_database.batched_writes(session or db.session) as active:
        yield active


def database_path() -> str:
    return db.engine.url.database


def known_revisions(migrations_dir: str = MIGRATIONS_DIR) -> set[str]:
    """Every schema revision this release can upgrade from."""
    from alembic.script import ScriptDirectory
    from flask_migrate import Config

    config = Config()
    config.set_main_option("script_location", migrations_dir)
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def upgrade_schema() -> None:
    """Bring the database to the newest schema, then repair what migrations cannot see.

    A database that already holds data is copied and verified first (``backup.py``); if that
    copy cannot be made, :class:`~wardapp.backup.BackupError` stops the upgrade before it starts.
    """
    if not at_head(MIGRATIONS_DIR, db.engine):
        revision = current_revision(db.engine)
        if revision is not None:
            from flask import current_app

            from .backup import backup_dir, take_backup

            instance = current_app.instance_path
            take_backup(
                database_path(),
                backup_dir(instance, current_app.config.get("BACKUP_DIR")),
                instance_path=instance,
                reason=f"before-upgrade-from-{revision}",
            )
        alembic_upgrade(directory=MIGRATIONS_DIR)
    ensure_search_index()


def ensure_search_index(rebuild: bool = False) -> None:
    """Create the FTS5 index of dossiers and its triggers if missing, and fill it.

    A batch migration recreates a table and silently drops its triggers, so this runs after every
    upgrade; sqlite-utils owns the index because it sets up and repairs such indexes well.
    """
    conn = sqlite3.connect(database_path())
    try:
        ward_db = sqlite_utils.Database(conn)
        dossiers = ward_db["dossier"]
        missing = not ward_db[FTS_TABLE].exists()
        triggers = {t.name for t in ward_db.triggers}
        if missing or not {"dossier_ai", "dossier_ad", "dossier_au"} <= triggers:
            dossiers.enable_fts(
                ["search_text"],
                fts_version="FTS5",
                create_triggers=True,
                replace=True,
                tokenize="unicode61 remove_diacritics 2",
            )
            rebuild = True
        if rebuild:
            dossiers.rebuild_fts()
        _narrow_update_trigger(conn)
        conn.commit()
    finally:
        conn.close()


def _narrow_update_trigger(conn: sqlite3.Connection) -> None:
    """Re-index a dossier only when its search text changes, not at each step of its life.

    sqlite-utils' update trigger fires on every UPDATE of the row, and each lifecycle step updates
    the dossier; this makes it ``AFTER UPDATE OF search_text``, in place, on new and old wards."""
    (sql,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'dossier_au'"
    ).fetchone()
    narrow = sql.replace('AFTER UPDATE ON "dossier"', 'AFTER UPDATE OF "search_text" ON "dossier"')
    if narrow != sql:
        conn.execute("DROP TRIGGER dossier_au")
        conn.execute(narrow)


def alembic_include_name(name, type_, parent_names) -> bool:
    """Keep autogenerate away from the FTS tables it does not model (it would drop them)."""
    return not (type_ == "table" and name and name.startswith(FTS_TABLE))
