"""Sessions and accounts attacked as issue 14 did, on real waitress servers over real HTTP, for
the ward and the hub: a session cookie replayed after logout or an account change, a ``next``
that leads the browser elsewhere, a login lock that a restart forgot."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from urllib.parse import urljoin, urlsplit

import pytest
import requests
import sqlalchemy as sa

from .conftest import PASSWORD, LiveServer, make_hub, postgres_database

NEW_PASSWORD = "mat-khau-moi-123"


def login(url: str, username: str, password: str = PASSWORD, query: str = ""):
    """Post the login form as a browser does (to the form's own address, ``next`` and all)."""
    return requests.post(
        f"{url}/auth/login{query}",
        allow_redirects=False,
        timeout=30,
        data={"username": username, "password": password},
    )


def replay(url: str, cookie: str, path: str):
    """A request carrying nothing but a copied session cookie."""
    return requests.get(
        f"{url}{path}", cookies={"session": cookie}, allow_redirects=False, timeout=30
    )


def sent_to_login(response) -> bool:
    return (
        response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/auth/login"
    )


def browser_target(url: str, location: str) -> str:
    """Where a browser goes for ``location``: it drops tabs and line breaks, reads a backslash
    as a slash, and resolves the rest against the page's address."""
    for ch in "\t\r\n":
        location = location.replace(ch, "")
    return urljoin(f"{url}/auth/login", location.replace("\\", "/"))


# --- The two apps, served ---------------------------------------------------------------------


def run_cli(arguments: list[str], env: dict | None = None) -> None:
    """The admin's command, in its own process beside the running server's."""
    done = subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


class Site:
    """A site to attack: its instance folder, how to serve it and run its CLI, and its audit.

    Accounts: ``letan`` (the ward's receptionist, a viewer at the hub) and ``quantri`` (admin).
    """

    home = page = "/"
    role_change: tuple[tuple[str, ...], str]  # the CLI's arguments, and the audit action

    def __init__(self, instance):
        self.instance = instance

    def change(self, kind: str, username: str) -> str:
        """Make the account change ``kind`` with the CLI; the audit action it must leave."""
        if kind == "reset-password":
            self.cli("user", "reset-password", username, "--password", NEW_PASSWORD)
            return "user.reset_password"
        if kind == "role":
            arguments, action = self.role_change
            self.cli("user", arguments[0], username, *arguments[1:])
            return action
        self.cli("user", "disable", username)
        return "user.disable"


class Ward(Site):
    """A served ward whose accounts are those of conftest.ACCOUNTS."""

    role_change = ("set-roles", "--role", "officer", "--role", "leader"), "user.set_roles"

    def __init__(self, instance):
        from wardapp import write_secret_key

        super().__init__(instance)
        write_secret_key(str(instance))  # as ``wardapp init`` would; the CLI needs it

    def app(self):
        from wardapp import create_app

        return create_app(
            {"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False},
            instance_path=str(self.instance),
        )

    def cli(self, *args: str):
        run_cli(["-m", "wardapp", *args, "--instance", str(self.instance)])

    def audited(self, action: str, username: str) -> bool:
        conn = sqlite3.connect(self.instance / "ward.sqlite")
        try:
            return (
                conn.execute(
                    "SELECT count(*) FROM audit_log WHERE action = ? AND target = ?",
                    (action, username),
                ).fetchone()[0]
                == 1
            )
        finally:
            conn.close()


class Hub(Site):
    """A served hub, on SQLite or on PostgreSQL, with a viewer and an admin."""

    home, page = "/reports/", "/reports/?period=2025-11"
    role_change = ("set-role", "--role", "admin"), "user.set_role"

    def __init__(self, instance, database_url):
        from city_hub.extensions import db
        from city_hub.models import HubUser

        super().__init__(instance)
        self.database_url = database_url
        app, _ = make_hub(instance, database_url=database_url)
        with app.app_context():
            for username, role in (("letan", "viewer"), ("quantri", "admin")):
                user = HubUser(username=username, full_name="Cán bộ thành phố", role=role)
                user.set_password(PASSWORD)
                db.session.add(user)
            db.session.commit()
            db.engine.dispose()
        self.engine = sa.create_engine(database_url or f"sqlite:///{instance / 'hub.sqlite'}")

    def app(self):
        from city_hub import create_app

        config = {"TESTING": True, "WTF_CSRF_ENABLED": False}
        if self.database_url:
            config["SQLALCHEMY_DATABASE_URI"] = self.database_url
        return create_app(config, instance_path=str(self.instance))

    def cli(self, *args: str):
        env = {"CITY_HUB_DATABASE_URL": self.database_url} if self.database_url else {}
        run_cli(
            ["-c", "from city_hub.cli import cli; cli()", *args, "--instance", str(self.instance)],
            env,
        )

    def audited(self, action: str, username: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.scalar(
                    sa.text("SELECT count(*) FROM hub_audit WHERE action = :a AND target = :t"),
                    {"a": action, "t": username},
                )
                == 1
            )


class Served:
    """``with Served(site) as url``: one run of a site's server; leaving it stops the server
    and closes the app's database connections, as a stopped process would."""

    def __init__(self, site):
        self.app = site.app()
        self.server = LiveServer(self.app)

    def __enter__(self) -> str:
        return self.server.__enter__()

    def __exit__(self, *exc):
        self.server.__exit__(*exc)
        with self.app.app_context():
            self.app.extensions["sqlalchemy"].engine.dispose()


@pytest.fixture(params=["ward", "hub-sqlite", "hub-postgresql"])
def site(request, tmp_path):
    """Each attack on the ward (a copy of the ``app`` fixture's seeded template, served by new
    apps) and on the hub, on both of its databases."""
    if request.param == "ward":
        request.getfixturevalue("app")
        yield Ward(tmp_path)
        return
    with contextlib.ExitStack() as stack:
        url = (
            stack.enter_context(postgres_database()) if request.param == "hub-postgresql" else None
        )
        hub = Hub(tmp_path / "hub", url)
        stack.callback(hub.engine.dispose)
        yield hub


# --- A copied cookie ends with the session ----------------------------------------------------


def test_a_cookie_copied_before_logout_opens_nothing_after(site):
    with Served(site) as url:
        copied = login(url, "letan").cookies["session"]
        other_pc = login(url, "letan").cookies["session"]
        assert replay(url, copied, site.page).status_code == 200
        out = requests.post(
            f"{url}/auth/logout", cookies={"session": copied}, allow_redirects=False, timeout=30
        )
        assert sent_to_login(out)
        assert sent_to_login(replay(url, copied, site.page))
        assert sent_to_login(replay(url, other_pc, site.page))  # every session of the account
        assert replay(url, login(url, "letan").cookies["session"], site.page).status_code == 200
    assert site.audited("user.logout_everywhere", "letan")


@pytest.mark.parametrize("change", ["reset-password", "role", "disable"])
def test_an_account_change_ends_its_sessions_at_once(site, change):
    with Served(site) as url:
        copied = login(url, "letan").cookies["session"]
        bystander = login(url, "quantri").cookies["session"]
        assert replay(url, copied, site.page).status_code == 200
        action = site.change(change, "letan")
        assert sent_to_login(replay(url, copied, site.page))
        assert replay(url, bystander, site.page).status_code == 200  # other accounts go on
        again = login(url, "letan", NEW_PASSWORD if change == "reset-password" else PASSWORD)
        assert again.status_code == (401 if change == "disable" else 302)
    assert site.audited(action, "letan")


# --- next= leads only to this site ------------------------------------------------------------

# As they stand in the query string of a link an attacker sends.
HOSTILE_NEXT = [
    "/%09/evil.example/",
    "/%0D/evil.example/",
    "/%0A/evil.example/",
    "/%0D%0ALocation:%20x",
    "%09//evil.example",
    "/%5Cevil.example",
    "/%5C/evil.example",
    "%5C%5Cevil.example",
    "//evil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "///evil.example",
    "https://evil.example/",
    "https:%2F%2Fevil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "%20//evil.example",
    "/%20/evil.example",
    "/%C2%A0/evil.example",
    "/%E2%80%8B/evil.example",
    "/%00/evil.example",
    "/%E3%80%80/evil.example",
    "",
]


def test_next_never_leads_to_another_site(site):
    with Served(site) as url:
        for raw in HOSTILE_NEXT:
            response = login(url, "letan", query=f"?next={raw}")
            assert response.status_code == 302, (raw, response.status_code)
            target = browser_target(url, response.headers["Location"])
            assert target == f"{url}{site.home}", (raw, target)


def test_next_to_a_page_of_this_site_is_followed(site):
    with Served(site) as url:
        for raw, path in (
            ("/audit/%3Fx%3D1", "/audit/?x=1"),
            ("/%252F%252Fevil.example", "/%2F%2Fevil.example"),
        ):
            response = login(url, "letan", query=f"?next={raw}")
            assert browser_target(url, response.headers["Location"]) == f"{url}{path}"


# --- The login lock outlives the server -------------------------------------------------------


def test_the_login_lock_survives_a_restart(site):
    with Served(site) as url:
        for _ in range(5):
            assert login(url, "letan", "sai-mat-khau").status_code == 401
        assert login(url, "letan").status_code == 429
    with Served(site) as url:  # a new process on the same instance
        locked = login(url, "letan")
        assert locked.status_code == 429 and "thử lại sau 15 phút" in locked.text
        assert login(url, "quantri").status_code == 302  # the address is below its 20


def test_an_address_is_locked_after_20_failures_whatever_the_names(site):
    with Served(site) as url:
        for n in range(20):
            assert login(url, f"doan-{n % 4}", "sai-mat-khau").status_code == 401
    with Served(site) as url:
        assert login(url, "quantri").status_code == 429
