"""Alembic environment of the ward database (run through Flask-Migrate).

SQLite traps handled here (stack-and-style.md A4): a batch migration recreates tables, and with
``foreign_keys=ON`` that recreate cascade-deletes child rows, so foreign keys are switched off
before the migration transaction and checked after it. The FTS index is filtered out of
autogenerate (``include_name`` in :func:`wardapp.register_extensions`) and rebuilt after every
upgrade by :func:`wardapp.database.ensure_search_index`.
"""
import logging

from alembic import context
from flask import current_app

logger = logging.getLogger("alembic.env")
config = context.config
migrate_ext = current_app.extensions["migrate"]
target_metadata = migrate_ext.db.metadata


def _skip_empty_autogenerate(context_, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_online():
    conf_args = dict(migrate_ext.configure_args)
    conf_args.setdefault("process_revision_directives", _skip_empty_autogenerate)
    engine = migrate_ext.db.engine
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        raw.execute("PRAGMA foreign_keys=OFF")  # outside any transaction, or it is ignored
        try:
            context.configure(connection=connection, target_metadata=target_metadata,
                              **conf_args)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
            broken = raw.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"foreign key violations after migration: {broken[:5]}")
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported for the ward database")
run_migrations_online()
