"""Alembic environment of the hub database (SQLite or PostgreSQL), run through Flask-Migrate."""

from alembic import context
from flask import current_app

from kernel.database import run_migrations

if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported")
run_migrations(context, current_app.extensions["migrate"])
