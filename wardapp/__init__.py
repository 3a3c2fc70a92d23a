"""Ward one-stop desk (Bộ phận Tiếp nhận và Trả kết quả): the app each ward runs on its LAN."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from kernel import STATIC_DIR, TEMPLATES_DIR, serve_favicon

if TYPE_CHECKING:
    from flask import Flask

# Flask, SQLAlchemy and the extensions are imported where the app is built, not with the
# package: ``wardapp --help`` and the commands that never open a database start without them
# (tests/test_cli_startup.py).

SECRET_KEY_FILE = "secret_key"
DATABASE_FILE = "ward.sqlite"


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the ward app on an instance folder (database, secret key, local config).

    :param test_config: settings that replace ``instance/config.py``, for tests.
    :param instance_path: the ward's instance folder; defaults to ``$WARDAPP_INSTANCE`` or
        ``./instance``, so several wards can run side by side on one machine.
    """
    from flask import Flask
    from jinja2 import ChoiceLoader, FileSystemLoader

    from kernel.security import set_security_headers

    instance_path = os.path.abspath(
        instance_path or os.environ.get("WARDAPP_INSTANCE") or "instance"
    )
    # The static files (styles, vendored htmx) and the shared templates (login form, account
    # bar) are the kernel's: one set for the ward and the hub.
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        static_folder=str(STATIC_DIR),
    )
    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(str(TEMPLATES_DIR))])
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI="sqlite:///" + os.path.join(instance_path, DATABASE_FILE),
        WTF_CSRF_TIME_LIMIT=None,  # a form left open over lunch must still submit
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=2),  # idle time before a new login
        JSON_SORT_KEYS=False,
        PAGE_SIZE=50,
        CHAIRMAN_NAME="",  # the ward chairman who signs the letters
        FEEDBACK_ANSWER_DAYS=10,  # working days to answer a feedback or petition
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        # e.g. WARDAPP_SESSION_COOKIE_SECURE=true when served behind TLS
        app.config.from_prefixed_env("WARDAPP")
    else:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):  # Flask's defaults hold SECRET_KEY = None
        app.config["SECRET_KEY"] = _read_secret_key(instance_path)
    if not app.config["SECRET_KEY"]:
        raise RuntimeError(f"no secret key in {instance_path}: run `wardapp init` first")

    register_extensions(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_error_handlers(app)
    app.after_request(set_security_headers)
    serve_favicon(app)
    return app


def _read_secret_key(instance_path: str) -> str | None:
    """The secret key made by ``wardapp init``; never a built-in value."""
    path = Path(instance_path) / SECRET_KEY_FILE
    return path.read_text().strip() if path.exists() else None


def write_secret_key(instance_path: str) -> None:
    path = Path(instance_path) / SECRET_KEY_FILE
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)


def register_extensions(app: Flask) -> None:
    from kernel.database import configure_engine

    from . import outbox  # noqa: F401  (registers the session hooks)
    from .database import MIGRATIONS_DIR, alembic_include_name
    from .extensions import csrf, db, htmx, login_manager, migrate

    db.init_app(app)
    migrate.init_app(
        app, db, directory=MIGRATIONS_DIR, render_as_batch=True, include_name=alembic_include_name
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    with app.app_context():
        configure_engine(db.engine)


def register_blueprints(app: Flask) -> None:
    from .accounts.routes import bp as accounts_bp
    from .api import bp as api_bp
    from .audit_trail import bp as audit_bp
    from .auth import bp as auth_bp
    from .dossiers.routes import bp as dossiers_bp
    from .extensions import csrf
    from .feedback.routes import bp as feedback_bp
    from .inspections.routes import bp as inspections_bp
    from .letters.routes import bp as letters_bp
    from .ratings.routes import bp as ratings_bp
    from .ratings.routes import kiosk_bp
    from .sync.routes import bp as sync_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(dossiers_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(sync_bp)
    app.register_blueprint(audit_bp)
    for blueprint in (letters_bp, ratings_bp, kiosk_bp, feedback_bp, inspections_bp):
        app.register_blueprint(blueprint)
    csrf.exempt(api_bp)  # token-authenticated, no browser session


def register_template_helpers(app: Flask) -> None:
    from kernel import formatting

    from .dossiers.lifecycle import STEPS
    from .sync import records

    formatting.init_app(
        app,
        {
            "STEP_LABELS": {kind: step.label for kind, step in STEPS.items()},
            **{
                name: getattr(records, name)
                for name in (
                    "LETTER_KINDS",
                    "RATING_LEVELS",
                    "RATING_CRITERIA",
                    "RATING_CHANNELS",
                    "FEEDBACK_CHANNELS",
                    "INSPECTION_CONTENTS",
                    "INSPECTION_RATINGS",
                )
            },
        },
    )


def register_error_handlers(app: Flask) -> None:
    from kernel import errors

    from .extensions import db

    errors.init_app(app, db.session)
