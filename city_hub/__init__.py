"""City hub (kho số liệu thành phố): receives every ward's records by sync and reports on them.

SQLite in the instance folder by default; PostgreSQL (or any SQLAlchemy URL) through
``$CITY_HUB_DATABASE_URL`` or the ``SQLALCHEMY_DATABASE_URI`` setting.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

from kernel import STATIC_DIR, TEMPLATES_DIR, serve_favicon

if TYPE_CHECKING:
    from flask import Flask

# Flask, SQLAlchemy and the extensions are imported where the app is built, not with the
# package: ``city-hub --help`` starts without them (tests/test_cli_startup.py).

DATABASE_FILE = "hub.sqlite"
MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the hub app on its instance folder (``$CITY_HUB_INSTANCE`` or ``./hub-instance``)."""
    from flask import Flask, redirect, url_for
    from jinja2 import ChoiceLoader, FileSystemLoader

    from .extensions import csrf, db, login_manager, migrate

    instance_path = os.path.abspath(
        instance_path or os.environ.get("CITY_HUB_INSTANCE") or "hub-instance"
    )
    # The kernel's static files (styles, vendored htmx): one set for the ward and the hub.
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        static_folder=str(STATIC_DIR),
    )
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=os.environ.get("CITY_HUB_DATABASE_URL")
        or "sqlite:///" + os.path.join(instance_path, DATABASE_FILE),
        # 2: batches with superseded placeholders (wardapp.sync.protocol); wards at 1 still sync.
        SYNC_ACCEPT_PROTOCOL=(1, 2),
        # Wards not yet upgraded (1, 2) still sync: the dossier columns they lack take defaults.
        SYNC_ACCEPT_SCHEMA=(1, 3),
        MAX_CONTENT_LENGTH=4 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=2),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        # e.g. CITY_HUB_SESSION_COOKIE_SECURE=true behind the TLS proxy
        app.config.from_prefixed_env("CITY_HUB")
    else:
        app.config.update(test_config)

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # The report's plan sits near PostgreSQL's JIT threshold; compiling costs more than the
        # query itself (bench/README.md, Reports).
        app.config.setdefault(
            "SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"options": "-c jit=off"}}
        )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance_path)
    # The hub's own templates first, then the kernel's shared ones (login form, account bar).
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(Path(__file__).parent / "templates")),
            FileSystemLoader(str(TEMPLATES_DIR)),
        ]
    )

    from kernel import errors, formatting
    from kernel.database import configure_engine
    from kernel.security import set_security_headers

    from . import admin, auth, inspections, reports
    from .sync import bp as sync_bp

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_engine(db.engine)
    app.register_blueprint(sync_bp)
    csrf.exempt(sync_bp)  # wards authenticate with their bearer token, not a session
    app.register_blueprint(auth.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin.accounts_bp)
    app.register_blueprint(inspections.bp)
    formatting.init_app(app, {})
    errors.init_app(app, db.session)
    app.after_request(set_security_headers)
    serve_favicon(app)

    @app.get("/")
    def index():
        return redirect(url_for("reports.overview"))

    return app


def _secret_key(instance_path: str) -> str:
    """The hub's session key, made once in its instance folder (never a built-in value)."""
    import secrets

    path = Path(instance_path) / "secret_key"
    if not path.exists():
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def upgrade_schema() -> None:
    """Bring the hub database to the newest schema (nothing to do when it is there already)."""
    from flask_migrate import upgrade

    from kernel.database import at_head

    from .extensions import db

    if not at_head(MIGRATIONS_DIR, db.engine):
        upgrade(directory=MIGRATIONS_DIR)
