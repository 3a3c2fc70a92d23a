"""Logins: throttling, idle expiry, account locking and password resets, API token revocation."""

import datetime as dt

import sqlalchemy as sa
from click.testing import CliRunner

from kernel.login import LoginThrottle
from wardapp.cli import cli

from .conftest import PASSWORD


def test_throttle_counts_failures_per_account_and_address(app):
    from wardapp.extensions import db
    from wardapp.models import LoginFailure

    throttle = LoginThrottle(
        db.session,
        LoginFailure,
        max_per_account=3,
        max_per_address=5,
        window=dt.timedelta(minutes=15),
    )
    now = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
    for _ in range(3):
        assert throttle.wait("letan", "10.0.0.2", now) is None
        throttle.failed("letan", "10.0.0.2", now)
    assert throttle.wait("letan", "10.0.0.9", now) == dt.timedelta(minutes=15)
    assert throttle.wait("chuyenvien", "10.0.0.2", now) is None  # the address is still below 5
    soon = now + dt.timedelta(minutes=5)
    for _ in range(2):  # the address reaches its limit through another account
        throttle.failed("chuyenvien", "10.0.0.2", soon)
    assert throttle.wait("lanhdao", "10.0.0.2", soon) == dt.timedelta(minutes=10)
    assert throttle.wait("lanhdao", "10.0.0.3", soon) is None
    later = now + dt.timedelta(minutes=16)
    assert throttle.wait("letan", "10.0.0.2", later) is None
    throttle.failed("letan", "10.0.0.2", later)
    throttle.succeeded("letan")
    assert throttle.wait("letan", "10.0.0.2", later) is None
    # the expired failures were pruned; what is left is within the window
    assert db.session.scalar(sa.select(sa.func.min(LoginFailure.at))) == later - dt.timedelta(
        minutes=11
    )


def test_login_is_throttled_after_repeated_failures(client, auth):
    for _ in range(5):
        assert auth.login(password="sai-mat-khau").status_code == 401
    blocked = auth.login()  # even the right password waits now
    assert blocked.status_code == 429 and "thử lại sau 15 phút" in blocked.text
    assert client.get("/").status_code == 302


def test_session_expires_when_idle(app, client, auth):
    auth.login()
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.expires is not None
    lifetime = cookie.expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=1, minutes=55) < lifetime <= dt.timedelta(hours=2)
    assert cookie.http_only


def _init(tmp_path):
    instance = str(tmp_path / "ward")
    runner = CliRunner()
    runner.invoke(
        cli,
        ["init", "--unit", "30280", "--instance", instance, "--admin-password", "mot-mat-khau-dai"],
    )
    runner.invoke(
        cli,
        [
            "user",
            "add",
            "hoa",
            "--name",
            "Nguyễn Thị Hoa",
            "--role",
            "receptionist",
            "--password",
            "mat-khau-cua-hoa",
            "--instance",
            instance,
        ],
    )
    return runner, instance


def test_disable_and_reset_password(tmp_path):
    from wardapp import create_app

    runner, instance = _init(tmp_path)
    client = create_app({"WTF_CSRF_ENABLED": False}, instance_path=instance).test_client()
    assert runner.invoke(cli, ["user", "disable", "hoa", "--instance", instance]).exit_code == 0
    assert (
        client.post(
            "/auth/login", data={"username": "hoa", "password": "mat-khau-cua-hoa"}
        ).status_code
        == 401
    )
    last_admin = runner.invoke(cli, ["user", "disable", "admin", "--instance", instance])
    assert last_admin.exit_code == 1 and "quản trị cuối cùng" in last_admin.output
    reset = runner.invoke(
        cli,
        ["user", "reset-password", "hoa", "--password", "mat-khau-moi-123", "--instance", instance],
    )
    assert reset.exit_code == 0
    assert (
        client.post(
            "/auth/login", data={"username": "hoa", "password": "mat-khau-moi-123"}
        ).status_code
        == 302
    )
    assert runner.invoke(cli, ["user", "disable", "nobody", "--instance", instance]).exit_code == 1


def test_set_roles_replaces_roles_but_keeps_an_admin(tmp_path):
    import sqlite3

    runner, instance = _init(tmp_path)
    changed = runner.invoke(
        cli,
        [
            "user",
            "set-roles",
            "hoa",
            "--role",
            "officer",
            "--role",
            "leader",
            "--instance",
            instance,
        ],
    )
    assert changed.exit_code == 0 and "Chuyên viên xử lý, Lãnh đạo phường, xã" in changed.output
    last_admin = runner.invoke(
        cli, ["user", "set-roles", "admin", "--role", "leader", "--instance", instance]
    )
    assert last_admin.exit_code == 1 and "quản trị cuối cùng" in last_admin.output
    conn = sqlite3.connect(f"{instance}/ward.sqlite")
    roles = dict(conn.execute("select username, roles from user"))
    (details,) = conn.execute(
        "select details from audit_log where action = 'user.set_roles'"
    ).fetchone()
    conn.close()
    assert roles == {"admin": "admin", "hoa": "officer leader"}
    assert '"before": "receptionist"' in details


def test_token_list_and_revoke(tmp_path):
    from wardapp import create_app

    runner, instance = _init(tmp_path)
    token = runner.invoke(
        cli,
        [
            "token",
            "create",
            "--user",
            "hoa",
            "--name",
            "Cổng DVC",
            "--scope",
            "read",
            "--scope",
            "intake",
            "--instance",
            instance,
        ],
    ).output.strip()
    client = create_app(instance_path=instance).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/procedures", headers=headers).status_code == 200
    listed = runner.invoke(cli, ["token", "list", "--instance", instance]).output
    assert "Cổng DVC" in listed and token not in listed and "hiệu lực" in listed
    assert "[intake read]" in listed
    assert runner.invoke(cli, ["token", "revoke", "1", "--instance", instance]).exit_code == 0
    assert client.get("/api/v1/procedures", headers=headers).status_code == 401
    assert "thu hồi" in runner.invoke(cli, ["token", "list", "--instance", instance]).output
    assert runner.invoke(cli, ["token", "revoke", "9", "--instance", instance]).exit_code == 1


def test_hub_user_disable_and_reset(tmp_path):
    from city_hub import create_app as create_hub
    from city_hub.cli import cli as hub_cli

    runner = CliRunner()
    instance = ["--instance", str(tmp_path / "hub")]
    runner.invoke(hub_cli, ["init", *instance])
    runner.invoke(
        hub_cli, ["user", "add", "xem", "--name", "Cán bộ", "--password", PASSWORD, *instance]
    )
    client = create_hub(
        {"WTF_CSRF_ENABLED": False}, instance_path=str(tmp_path / "hub")
    ).test_client()
    assert runner.invoke(hub_cli, ["user", "disable", "xem", *instance]).exit_code == 0
    assert (
        client.post("/auth/login", data={"username": "xem", "password": PASSWORD}).status_code
        == 401
    )
    runner.invoke(
        hub_cli, ["user", "reset-password", "xem", "--password", "mat-khau-moi-123", *instance]
    )
    assert (
        client.post(
            "/auth/login", data={"username": "xem", "password": "mat-khau-moi-123"}
        ).status_code
        == 302
    )


def test_audit_trail_records_changes_and_syncs(tmp_path):
    """Who changed what, visible to the leader and admin, and carried to the hub."""
    import sqlite3

    from wardapp import create_app

    runner, instance = _init(tmp_path)
    runner.invoke(cli, ["user", "disable", "hoa", "--instance", instance])
    runner.invoke(
        cli, ["token", "create", "--user", "admin", "--name", "Cổng DVC", "--instance", instance]
    )
    conn = sqlite3.connect(f"{instance}/ward.sqlite")
    actions = [r[0] for r in conn.execute("select action from audit_log order by at")]
    outboxed = conn.execute("select count(*) from outbox where table_name='audit_log'").fetchone()
    conn.close()
    assert actions == ["ward.init", "user.add", "user.add", "user.disable", "token.create"]
    assert outboxed[0] == len(actions)
    client = create_app({"WTF_CSRF_ENABLED": False}, instance_path=instance).test_client()
    client.post("/auth/login", data={"username": "admin", "password": "mot-mat-khau-dai"})
    page = client.get("/audit/").text
    assert "Khóa tài khoản" in page and "hoa" in page and "Tạo mã truy cập API" in page
    assert "account: admin" in page  # the details, from the entry's JSON


def test_logout_everywhere_ends_every_session(app, auth):
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        client.post("/auth/login", data={"username": "lanhdao", "password": PASSWORD})
        assert client.get("/").status_code == 200
    assert first.post("/auth/logout-everywhere").status_code == 302
    assert second.get("/").status_code == 302  # the other PC's session is over too
    assert first.get("/").status_code == 302
    third = app.test_client()
    third.post("/auth/login", data={"username": "lanhdao", "password": PASSWORD})
    assert third.get("/").status_code == 200
    assert "Đăng xuất mọi máy" in third.get("/audit/").text


def test_new_password_ends_old_sessions(tmp_path):
    from wardapp import create_app

    runner, instance = _init(tmp_path)
    client = create_app({"WTF_CSRF_ENABLED": False}, instance_path=instance).test_client()
    client.post("/auth/login", data={"username": "hoa", "password": "mat-khau-cua-hoa"})
    assert client.get("/").status_code == 200
    runner.invoke(
        cli,
        ["user", "reset-password", "hoa", "--password", "mat-khau-moi-123", "--instance", instance],
    )
    assert client.get("/").status_code == 302


def test_hub_logout_everywhere(tmp_path):
    from city_hub.extensions import db as hub_db
    from city_hub.models import HubUser

    from .conftest import make_hub

    app, _ = make_hub(tmp_path / "hub", WTF_CSRF_ENABLED=False)
    with app.app_context():
        viewer = HubUser(username="xem", full_name="Cán bộ", role="viewer")
        viewer.set_password(PASSWORD)
        hub_db.session.add(viewer)
        hub_db.session.commit()
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        client.post("/auth/login", data={"username": "xem", "password": PASSWORD})
    assert second.get("/reports/?period=2025-11").status_code == 200
    first.post("/auth/logout-everywhere")
    assert second.get("/reports/?period=2025-11").status_code == 302
