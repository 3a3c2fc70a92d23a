"""Alembic environment of the ward database (run through Flask-Migrate).

The FTS index is filtered out of autogenerate (``include_name`` in
:func:`wardapp.register_extensions`) and rebuilt after every upgrade by
:func:`wardapp.database.ensure_search_index`; the SQLite foreign-key trap is handled in
:func:`wardapp.database.run_migrations`.
"""

from alembic import context
from flask import current_app

from kernel.database import run_migrations

if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported")
run_migrations(context, current_app.extensions["migrate"])
