"""Fixtures in the flaskr style: a fresh initialised ward in a temporary instance folder."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

import kernel.accounts
from kernel.workdays import local_datetime
from wardapp import create_app
from wardapp.database import upgrade_schema
from wardapp.extensions import db
from wardapp.models import SyncNode
from wardapp.refdata import load_reference_data
from wardapp.sync.records import User

PASSWORD = "mat-khau-thu-nghiem"
WARD = "30280"
# One account per role, plus one holding several roles (a small ward's all-rounder).
ACCOUNTS = {
    "letan": ("Trần Thị Ngọc Hân", "receptionist"),
    "chuyenvien": ("Lê Văn Phúc", "officer"),
    "lanhdao": ("Phạm Quốc Hùng", "leader"),
    "quantri": ("Quản trị viên", "admin"),
}

# Every login checks a password with scrypt, a tenth of a second of CPU, and the suite logs in
# hundreds of times with the same few passwords against the same few hashes (each test's ward is
# a copy of one template): remember the answers. The check is a pure function of its two
# arguments, so no outcome changes; hashing a new password (scrypt, a fresh salt) is untouched.
kernel.accounts.check_password_hash = functools.lru_cache(maxsize=4096)(
    kernel.accounts.check_password_hash
)

# --- The fast lane: `pytest -m "not slow"` ---------------------------------------------------
# The slow tests are marked here by rule rather than in each file: the browser tests, every
# PostgreSQL case (a parameter id naming postgresql), and the files and tests below, which start
# processes, kill them, race threads, run a city's worth of data or fuzz every query (measured
# with `pytest --durations`; a test of a second or more on a 2-core machine is listed here).

SLOW_FILES = {
    "test_benches_run.py",  # every benchmark's smallest profile, as processes: about 2 minutes
    "test_concurrency.py",  # processes racing one database
    "test_counts_agree.py",  # a month of a ward, its every work list against the hub's figures
    "test_demo_browser.py",  # the demo's city in chromium
    "test_demo_stop.py",  # the demo's city started and stopped by a signal, twice
    "test_generator.py",  # the demo's generator: a year of a ward, a small city synced
    "test_hub_backup.py",  # the hub's backup script as a process
    "test_odd_queries.py",  # every odd query on every page, over HTTP too
    "test_replacement.py",  # a replacement PC rebuilt from the hub and a backup
    "test_replay.py",  # the sample replayed through every kind of step
    "test_reports.py",  # the hub's reports over a city's records, built for each test
    "test_report_screens.py",  # a ward's 62 dossiers synced to a hub over HTTP
    "test_scripts.py",  # the scheduled scripts as processes
    "test_sync_faults.py",  # processes killed mid-sync, power lost a hundred times
    "test_sync_properties.py",  # hypothesis's state machine of the sync
    "test_usb_hostile.py",  # hostile USB packages, file system faults
}
SLOW_TESTS = {
    "test_api_fuzz.py": {
        "test_api_never_fails_with_a_server_error",
        "test_sync_api_never_fails_with_a_server_error",
    },
    "test_auth.py": {
        "test_audit_trail_records_changes_and_syncs",
        "test_hub_user_disable_and_reset",
    },
    "test_backup.py": {
        "test_recover_later_reports_dossiers_whose_code_was_taken_meanwhile",
        "test_restore_mends_from_the_hub_so_nothing_is_lost_or_doubled",
    },
    "test_sessions.py": {
        "test_an_account_change_ends_its_sessions_at_once",
        "test_a_cookie_copied_before_logout_opens_nothing_after",
        "test_next_never_leads_to_another_site",
        "test_the_login_lock_survives_a_restart",  # the CLI as a process between logins
    },
    "test_reform_sync.py": {"test_reform_records_sync_and_count_at_the_hub"},
    "test_demo_schedule.py": {"test_each_desk_syncs_in_its_turn"},  # `wardapp sync` a process
    "test_progress.py": {
        "test_generate_without_a_terminal_prints_lines_not_a_bar",
        "test_sync_run_without_a_terminal_prints_a_line_per_five_percent",
    },
    "test_sync_now.py": {"test_an_unreachable_hub_is_said_in_vietnamese"},  # the retries' waits
    # the exhaustive matrix, every step by every role on its own and another's dossier (the
    # fast lane keeps the file's other tests of who may take a step)
    "test_step_permissions.py": {"test_each_step_for_each_role_on_its_own_and_anothers_dossier"},
    "test_sync.py": {
        "test_batch_size_is_what_the_hub_takes",
        "test_clean_run_delivers_everything_once",
        "test_damaged_payloads_are_refused_whole",
        "test_sync_panel_lists_rejects_and_upgrade_needed",
        "test_time_budget_makes_progress_across_runs",
    },
    "test_sync_hostile.py": {
        "test_any_batch_is_answered_below_500_and_adds_up",
        "test_any_hello_is_answered_below_500",
        "test_two_wards_racing_with_one_new_uuid_end_as_the_sequential_case",  # threads racing
    },
    "test_sync_ownership.py": {
        "test_a_unit_cannot_write_onto_another_units_records",
        "test_an_event_on_another_wards_dossier_changes_nothing_there",
        "test_the_hub_admin_sees_what_was_quarantined",
    },
    "test_sync_placeholders.py": {
        "test_hub_ends_as_after_full_records",
        "test_new_hub_gets_placeholders_counted_stale",
    },
}


def is_slow(item) -> bool:
    callspec = getattr(item, "callspec", None)
    return (
        item.get_closest_marker("browser") is not None
        or (callspec is not None and "postgresql" in callspec.id)
        or item.path.name in SLOW_FILES
        or item.originalname in SLOW_TESTS.get(item.path.name, ())
    )


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)


def make_ward(instance_path, ward_code=WARD, **config):
    """An initialised ward database in ``instance_path`` with one account per role."""
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", **config}, instance_path=str(instance_path)
    )
    with app.app_context():
        upgrade_schema()
        load_reference_data()
        db.session.add(SyncNode(id=1, ward_code=ward_code))
        for username, (name, roles) in ACCOUNTS.items():
            account = User(ward_code=ward_code, username=username, full_name=name, roles=roles)
            account.set_password(PASSWORD)
            db.session.add(account)
        db.session.commit()
    return app


@pytest.fixture(scope="session")
def _template_ward(tmp_path_factory):
    """Build the migrated, seeded database once; each test gets a copy (scrypt and Alembic are
    slow enough to dominate the suite otherwise)."""
    path = tmp_path_factory.mktemp("template")
    make_ward(path, WTF_CSRF_ENABLED=False)
    return path / "ward.sqlite"


@pytest.fixture
def app(tmp_path, _template_ward):
    import sqlite3

    source = sqlite3.connect(_template_ward)
    target = sqlite3.connect(tmp_path / "ward.sqlite")
    source.backup(target)
    source.close()
    target.close()
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False},
        instance_path=str(tmp_path),
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def cli_commands(group, prefix: str):
    """Every command of a click group and its subgroups, as ("prog sub cmd", command)."""
    import click

    for name, command in group.commands.items():
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from cli_commands(command, f"{prefix} {name}")


def check_documented(cli, path: str, command) -> None:
    """The command has help, is named in the README, and ``--help`` works."""
    import click
    from click.testing import CliRunner

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert command.help, f"{path} has no help"
    if not isinstance(command, click.Group):
        assert f"`{path}" in readme or f"$ {path}" in readme, f"{path} is not in the README"
    assert CliRunner().invoke(cli, path.split()[1:] + ["--help"]).exit_code == 0


def account(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, username: str = "letan", password: str = PASSWORD):
        return self._client.post("/auth/login", data={"username": username, "password": password})

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


def intake_data(**overrides) -> dict:
    """A valid intake for a same-day birth registration, with all its required documents."""
    data = {
        "request_key": uuid.uuid4().hex,
        "procedure_code": "1.001193",
        "applicant_kind": "person",
        "applicant_name": "Nguyễn Văn Đức",
        "citizen_id": "089095001234",
        "phone": "0912345678",
        "address": "Số 12 đường Hà Hoàng Hổ, khóm 3, phường Mỹ Bình",
        "channel": "desk",
        "return_method": "desk",
        "sets_count": 1,
    }
    data.update(overrides)
    if "documents" not in overrides:
        from wardapp.models import Procedure

        procedure = db.session.get(Procedure, data["procedure_code"])
        data["documents"] = (
            [d["name"] for d in procedure.documents if d["required"]] if procedure else []
        )
    return data


def vn_time(year, month, day, hour=9, minute=0) -> dt.datetime:
    """An aware UTC instant for a Vietnam wall-clock time."""
    return local_datetime(dt.date(year, month, day), dt.time(hour, minute))


# --- Real servers -----------------------------------------------------------------------------


class LiveServer:
    """``with LiveServer(app) as url:`` serves ``app`` with waitress on a free loopback port.

    Closing a waitress server from another thread can leave its poll loop one last look at a
    closed socket (EBADF); once we are stopping, that is expected and not a test failure.
    """

    def __init__(self, app, threads: int = 4):
        import waitress

        self.server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads)
        self.stopping = False

    def _run(self):
        try:
            self.server.run()
        except (OSError, ValueError):
            if not self.stopping:
                raise

    def __enter__(self) -> str:
        import threading

        threading.Thread(target=self._run, daemon=True).start()
        return f"http://127.0.0.1:{self.server.effective_port}"

    def __exit__(self, *exc):
        self.stopping = True
        self.server.close()


# --- Sync: a real hub on a real waitress server ----------------------------------------------


class Hub:
    """A running hub: its app (for looking inside), URL, and the ward's credential."""

    def __init__(self, app, url, token):
        self.app, self.url, self.token = app, url, token

    def count(self, table: str, ward_code: str = WARD) -> int:
        from city_hub.extensions import db as hub_db
        from city_hub.models import RECORD_TABLES

        with self.app.app_context():
            t = RECORD_TABLES[table]
            return hub_db.session.scalar(
                sa.select(sa.func.count()).select_from(t).where(t.c.ward_code == ward_code)
            )

    def ward(self, code: str = WARD):
        from city_hub.extensions import db as hub_db
        from city_hub.models import Ward

        with self.app.app_context():
            return hub_db.session.get(Ward, code)


def make_hub(instance_path, wards=(WARD,), database_url=None, **config):
    """A hub with its schema, the first reference-data snapshot, and credentials for ``wards``.

    :param database_url: the hub's database (a PostgreSQL one from ``hub_database_url``);
        SQLite in ``instance_path`` when None.
    """
    from city_hub import create_app as create_hub
    from city_hub import upgrade_schema as upgrade_hub
    from city_hub.extensions import db as hub_db
    from city_hub.models import Ward
    from city_hub.refdata import publish
    from city_hub.wards import issue_credential
    from kernel.refdata import snapshot_from_files

    instance_path.mkdir(parents=True, exist_ok=True)
    if database_url:
        config["SQLALCHEMY_DATABASE_URI"] = database_url
    app = create_hub({"TESTING": True, **config}, instance_path=str(instance_path))
    tokens = {}
    with app.app_context():
        upgrade_hub()
        publish(snapshot_from_files())
        for code in wards:
            ward = Ward(code=code, name=f"Đơn vị {code}")
            tokens[code] = issue_credential(ward)
            hub_db.session.add(ward)
        hub_db.session.commit()
    return app, tokens


def add_hub_staff(app) -> None:
    """The city staff of the hub's tests: ``quantri`` (admin) and ``xem`` (viewer), both with
    PASSWORD."""
    from city_hub.extensions import db as hub_db
    from city_hub.models import HubUser

    with app.app_context():
        for username, role in (("quantri", "admin"), ("xem", "viewer")):
            user = HubUser(username=username, full_name=f"Cán bộ {role}", role=role)
            user.set_password(PASSWORD)
            hub_db.session.add(user)
        hub_db.session.commit()


def dispose_hub(app) -> None:
    """Close the hub's connections, so its PostgreSQL database can be dropped."""
    from city_hub.extensions import db as hub_db

    with app.app_context():
        hub_db.session.remove()
        hub_db.engine.dispose()


@pytest.fixture
def hub_admin(tmp_path, hub_database_url):
    """``(app, client)``: a hub with its staff (CSRF off), the client logged in as its admin."""
    app, _ = make_hub(tmp_path / "hub", database_url=hub_database_url, WTF_CSRF_ENABLED=False)
    add_hub_staff(app)
    client = app.test_client()
    client.post("/auth/login", data={"username": "quantri", "password": PASSWORD})
    yield app, client
    dispose_hub(app)


def latest_refdata(app) -> tuple[int, dict]:
    """The version and body of the hub's newest reference-data snapshot."""
    import json

    from city_hub.refdata import latest_snapshot

    with app.app_context():
        latest = latest_snapshot()
        return latest.version, json.loads(latest.body)


POSTGRES_ADMIN_URL = os.environ.get("HUB_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_database_url(request):
    """None for the hub's SQLite default, or the URL of a fresh PostgreSQL database.

    PostgreSQL runs where ``HUB_TEST_POSTGRES_URL`` names a server (CI starts one); elsewhere
    those variants skip, unless ``WARDAPP_REQUIRE_POSTGRES`` says they must run.
    """
    if request.param == "sqlite":
        yield None
        return
    with postgres_database() as url:
        yield url


@contextlib.contextmanager
def postgres_database():
    """The URL of a fresh PostgreSQL database, dropped afterwards (skips where none is set)."""
    if not POSTGRES_ADMIN_URL:
        if os.environ.get("WARDAPP_REQUIRE_POSTGRES"):
            pytest.fail("HUB_TEST_POSTGRES_URL is required here (WARDAPP_REQUIRE_POSTGRES)")
        pytest.skip("PostgreSQL not configured: set HUB_TEST_POSTGRES_URL (CI starts one)")
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield (
            sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        _drop_database(admin, name)
        admin.dispose()


def _drop_database(admin, name: str) -> None:
    """Drop a test database; an autovacuum worker may still be in it for a moment, and a role
    without pg_signal_backend cannot end that session, so wait and try again."""
    import time

    for attempt in range(20):
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        except sa.exc.DBAPIError:
            if attempt == 19:
                raise
            time.sleep(0.25)


@pytest.fixture
def hub(tmp_path, hub_database_url):
    app, tokens = make_hub(tmp_path / "hub", wards=(WARD, "30283"), database_url=hub_database_url)
    with LiveServer(app) as url:
        running = Hub(app, url, tokens[WARD])
        running.tokens = tokens
        yield running
    with app.app_context():
        from city_hub.extensions import db as hub_db

        hub_db.session.remove()
        hub_db.engine.dispose()
