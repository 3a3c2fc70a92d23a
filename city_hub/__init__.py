"""City hub (kho số liệu thành phố): receives every ward's records by sync and reports on them.

Only the application shell exists so far; the sync API and the reports come with their issues.
"""
from __future__ import annotations

import os

from flask import Flask, render_template


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the hub app on its instance folder (``$CITY_HUB_INSTANCE`` or ``./hub-instance``)."""
    instance_path = os.path.abspath(
        instance_path or os.environ.get("CITY_HUB_INSTANCE") or "hub-instance")
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.update(test_config)

    @app.get("/")
    def index():
        return render_template("index.html")

    return app
