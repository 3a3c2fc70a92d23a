"""City hub (kho số liệu thành phố): receives every ward's records by sync and reports on them.

SQLite in the instance folder by default; PostgreSQL (or any SQLAlchemy URL) through
``$CITY_HUB_DATABASE_URL`` or the ``SQLALCHEMY_DATABASE_URI`` setting.
"""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, render_template

from .extensions import db, migrate

DATABASE_FILE = "hub.sqlite"
MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the hub app on its instance folder (``$CITY_HUB_INSTANCE`` or ``./hub-instance``)."""
    instance_path = os.path.abspath(
        instance_path or os.environ.get("CITY_HUB_INSTANCE") or "hub-instance")
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=os.environ.get("CITY_HUB_DATABASE_URL")
        or "sqlite:///" + os.path.join(instance_path, DATABASE_FILE),
        SYNC_ACCEPT_PROTOCOL=(1, 1),
        SYNC_ACCEPT_SCHEMA=(1, 1),
        MAX_CONTENT_LENGTH=4 * 1024 * 1024,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.update(test_config)

    from wardapp.database import configure_engine

    from .sync import bp as sync_bp

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_engine(db.engine)
    app.register_blueprint(sync_bp)

    @app.get("/")
    def index():
        return render_template("index.html")

    return app


def upgrade_schema() -> None:
    """Bring the hub database to the newest schema (nothing to do when it is there already)."""
    from flask_migrate import upgrade

    from wardapp.database import at_head

    if not at_head(MIGRATIONS_DIR, db.engine):
        upgrade(directory=MIGRATIONS_DIR)
