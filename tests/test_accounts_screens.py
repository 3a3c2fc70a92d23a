"""Accounts from the screen, at the ward and at the hub: only an admin manages them (403 for
anyone else), every change is audited (and at the ward written with its outbox row), changing
what an account may do ends its sessions, a reset gives a one-time password that must be
changed at the next login, and bad input gets a Vietnamese message, never a 500."""

import json
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from wardapp.extensions import db
from wardapp.models import Outbox
from wardapp.sync.records import AuditEntry

from . import conftest
from .conftest import PASSWORD, add_hub_staff, dispose_hub, make_hub, make_ward

NEW_PASSWORD = "mat-khau-rieng-cua-toi"


class Browser(FlaskClient):
    """A test client whose every request has its own app context (its own ``g`` and database
    session), as in a served app: inside the ``app`` fixture's context, the account the last
    request logged in would otherwise be the next request's too, whoever's browser sends it."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = Browser
    return app.test_client()


def account(username):
    """The account as the database holds it now (the test's session reads afresh)."""
    db.session.rollback()
    return conftest.account(username)


def login(client, username, password=PASSWORD):
    return client.post("/auth/login", data={"username": username, "password": password})


def temporary(page: str) -> str:
    return re.search(r'id="temporary-password">([^<]+)<', page).group(1)


def audited(action: str) -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(AuditEntry.target).where(AuditEntry.action == action)))


# --- The ward ---------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["letan", "chuyenvien", "lanhdao"])
def test_only_the_admin_manages_accounts(app, client, username):
    login(client, username)
    officer = account("chuyenvien").uuid
    assert client.get("/accounts/").status_code == 403
    form = {"username": "moi", "full_name": "Cán bộ mới", "roles": "admin"}
    assert client.post("/accounts/", data=form).status_code == 403
    for action in ("roles", "disable", "enable", "reset-password"):
        assert (
            client.post(f"/accounts/{officer}/{action}", data={"roles": "admin"}).status_code == 403
        )
    assert account("moi") is None and account("chuyenvien").roles == "officer"
    assert 'href="/accounts/"' not in client.get("/").text


def test_admin_creates_an_account_who_must_choose_a_password(app, client):
    login(client, "quantri")
    assert 'href="/accounts/"' in client.get("/").text
    listing = client.get("/accounts/").text
    assert "Trần Thị Ngọc Hân" in listing and "Chuyên viên xử lý" in listing
    page = client.post(
        "/accounts/",
        data={
            "username": "NgocAnh",
            "full_name": "Võ Ngọc Ánh",
            "roles": ["officer", "receptionist"],
        },
    )
    assert page.status_code == 200 and "Mật khẩu tạm thời" in page.text
    password = temporary(page.text)
    created = account("ngocanh")
    assert created.full_name == "Võ Ngọc Ánh" and created.roles == "receptionist officer"
    assert created.must_change_password and created.check_password(password)
    assert audited("user.add") == ["ngocanh"]
    payloads = [
        json.loads(o.payload)
        for o in db.session.scalars(sa.select(Outbox).where(Outbox.record_uuid == created.uuid))
    ]
    assert payloads and all("must_change_password" not in p for p in payloads)
    assert all("password_hash" not in p for p in payloads)

    user = app.test_client()
    assert login(user, "ngocanh", password).status_code == 302
    for path in ("/", "/logbook", "/dossiers/new", "/search?q=an"):
        response = user.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/auth/password"
    assert "mật khẩu tạm thời" in user.get("/auth/password").text
    change = {"old_password": password, "new_password": NEW_PASSWORD}
    for form, message in (
        ({**change, "old_password": "sai"}, "Mật khẩu hiện tại không đúng."),
        ({**change, "new_password_again": NEW_PASSWORD + "x"}, "Hai lần nhập mật khẩu mới"),
        ({**change, "new_password": "ngan", "new_password_again": "ngan"}, "ít nhất 10 ký tự"),
        ({**change, "new_password": password, "new_password_again": password}, "phải khác"),
    ):
        refused = user.post("/auth/password", data={"new_password_again": NEW_PASSWORD, **form})
        assert refused.status_code == 422 and message in refused.text
    assert account("ngocanh").must_change_password
    done = user.post("/auth/password", data={**change, "new_password_again": NEW_PASSWORD})
    assert done.status_code == 302
    assert user.get("/").status_code == 200  # works now, in the same browser
    assert not account("ngocanh").must_change_password
    assert audited("user.change_password") == ["ngocanh"]
    other = app.test_client()
    assert login(other, "ngocanh", NEW_PASSWORD).status_code == 302
    assert other.get("/").status_code == 200


@pytest.mark.parametrize(
    "form, message",
    [
        ({"username": "Nguyễn An", "full_name": "Nguyễn An", "roles": "officer"}, "Tên đăng nhập"),
        ({"username": "an", "full_name": "  ", "roles": "officer"}, "Cần ghi họ và tên"),
        ({"username": "an", "full_name": "Nguyễn An"}, "Cần chọn ít nhất một vai trò"),
        ({"username": "an", "full_name": "Nguyễn An", "roles": "boss"}, "Cần chọn ít nhất"),
        ({"username": "LeTan", "full_name": "Nguyễn An", "roles": "officer"}, "Đã có tài khoản"),
        ({}, "Tên đăng nhập"),
    ],
)
def test_bad_new_accounts_are_refused_in_vietnamese(app, client, form, message):
    login(client, "quantri")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    response = client.post("/accounts/", data=form)
    assert response.status_code == 422 and message in response.text
    assert 'id="temporary-password"' not in response.text
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == before
    assert account("an") is None


def test_each_change_ends_the_accounts_sessions_and_is_audited(app, client):
    login(client, "quantri")
    desk = app.test_client()
    login(desk, "letan")
    uuid = account("letan").uuid

    done = client.post(f"/accounts/{uuid}/roles", data={"roles": ["receptionist", "leader"]})
    assert done.status_code == 302
    assert "Đã đổi vai trò của letan" in client.get("/accounts/").text
    assert account("letan").roles == "receptionist leader"
    assert "/auth/login" in desk.get("/").headers["Location"]  # the old session is over

    login(desk, "letan")
    client.post(f"/accounts/{uuid}/disable")
    assert not account("letan").active
    assert "/auth/login" in desk.get("/").headers["Location"]
    assert login(desk, "letan").status_code == 401
    client.post(f"/accounts/{uuid}/enable")
    assert login(desk, "letan").status_code == 302 and desk.get("/").status_code == 200

    page = client.post(f"/accounts/{uuid}/reset-password")
    assert page.status_code == 200
    password = temporary(page.text)
    assert "/auth/login" in desk.get("/").headers["Location"]
    assert login(desk, "letan").status_code == 401  # the old password is gone
    assert login(desk, "letan", password).status_code == 302
    assert desk.get("/").headers["Location"] == "/auth/password"
    db.session.rollback()
    assert [
        (e.action, e.actor)
        for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.target == "letan").order_by(AuditEntry.at)
        )
    ] == [
        ("user.set_roles", "quantri"),
        ("user.disable", "quantri"),
        ("user.enable", "quantri"),
        ("user.reset_password", "quantri"),
    ]


def test_an_admin_keeps_their_own_access(app, client):
    login(client, "quantri")
    uuid = account("quantri").uuid
    refused = client.post(f"/accounts/{uuid}/disable", follow_redirects=True)
    assert "Không thể tự khóa tài khoản đang đăng nhập." in refused.text
    refused = client.post(
        f"/accounts/{uuid}/roles", data={"roles": "leader"}, follow_redirects=True
    )
    assert "Không thể bỏ vai trò quản trị của chính tài khoản đang đăng nhập." in refused.text
    assert account("quantri").active and account("quantri").roles == "admin"
    assert audited("user.disable") == [] and audited("user.set_roles") == []
    # adding a role to oneself is fine, and this browser stays logged in (the others do not)
    client.post(f"/accounts/{uuid}/roles", data={"roles": ["admin", "leader"]})
    assert account("quantri").roles == "leader admin"
    assert client.get("/accounts/").status_code == 200
    assert client.post("/accounts/nobody/disable").status_code == 404
    assert client.post(f"/accounts/{uuid}/explode").status_code == 404


def test_changing_ones_own_password_ends_the_other_sessions(app, client):
    login(client, "lanhdao")
    elsewhere = app.test_client()
    login(elsewhere, "lanhdao")
    assert 'href="/auth/password"' in client.get("/").text
    client.post(
        "/auth/password",
        data={
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert client.get("/").status_code == 200
    assert "/auth/login" in elsewhere.get("/").headers["Location"]
    assert account("lanhdao").check_password(NEW_PASSWORD)
    assert client.get("/auth/password").status_code == 200
    assert app.test_client().get("/auth/password").status_code == 302  # anonymous: log in


def test_account_forms_need_their_csrf_token(tmp_path):
    app = make_ward(tmp_path)  # CSRF on, as in production
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/auth/login").text)[1]
    client.post(
        "/auth/login", data={"username": "quantri", "password": PASSWORD, "csrf_token": token}
    )
    form = {"username": "moi", "full_name": "Cán bộ mới", "roles": "officer"}
    assert client.post("/accounts/", data=form).status_code == 400
    change = {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert client.post("/auth/password", data=change).status_code == 400
    page = client.get("/accounts/").text
    assert page.count('name="csrf_token"') >= 4 * 3 + 2  # each account's forms, the new one
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    assert client.post("/accounts/", data={**form, "csrf_token": token}).status_code == 200
    with app.app_context():
        assert account("moi").must_change_password
        db.session.remove()
        db.engine.dispose()


def test_a_temporary_password_sends_htmx_requests_to_the_change_too(app, client):
    login(client, "quantri")
    password = temporary(client.post(f"/accounts/{account('letan').uuid}/reset-password").text)
    desk = app.test_client()
    login(desk, "letan", password)
    response = desk.get("/search?q=an", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/auth/password"


# --- The hub ----------------------------------------------------------------------------------


@pytest.fixture
def hub(tmp_path, hub_database_url):
    app, _ = make_hub(tmp_path / "hub", database_url=hub_database_url, WTF_CSRF_ENABLED=False)
    app.test_client_class = Browser
    add_hub_staff(app)
    yield app
    dispose_hub(app)


def hub_account(app, username):
    from city_hub.extensions import db as hub_db
    from city_hub.models import HubUser

    with app.app_context():
        return hub_db.session.scalar(sa.select(HubUser).where(HubUser.username == username))


def hub_trail(app) -> list[tuple[str, str]]:
    from city_hub.extensions import db as hub_db
    from city_hub.models import HubAudit

    with app.app_context():
        return [
            (e.action, e.target)
            for e in hub_db.session.scalars(sa.select(HubAudit).order_by(HubAudit.id))
        ]


def test_a_viewer_cannot_manage_accounts_or_units(hub):
    viewer = hub.test_client()
    login(viewer, "xem")
    assert viewer.get("/accounts/").status_code == 403
    assert (
        viewer.post(
            "/accounts/", data={"username": "moi", "full_name": "M", "roles": "admin"}
        ).status_code
        == 403
    )
    assert viewer.post("/accounts/2/roles", data={"roles": "admin"}).status_code == 403
    assert viewer.post("/admin/wards", data={"code": "30283"}).status_code == 403
    assert viewer.post("/admin/wards/30280/credential").status_code == 403
    assert viewer.post("/admin/wards/30280/revoke").status_code == 403
    assert hub_account(hub, "xem").role == "viewer" and hub_trail(hub) == []

    assert viewer.get("/auth/password").status_code == 200  # their own password, though


def test_hub_admin_manages_city_staff(hub):
    admin = hub.test_client()
    login(admin, "quantri")
    assert 'href="/accounts/"' in admin.get("/reports/").text
    refused = admin.post(
        "/accounts/", data={"username": "tk", "full_name": "Lê Thu", "roles": ["viewer", "admin"]}
    )
    assert refused.status_code == 422 and "Cần chọn một vai trò" in refused.text
    page = admin.post(
        "/accounts/", data={"username": "thu", "full_name": "Lê Thu", "roles": "viewer"}
    )
    password = temporary(page.text)
    thu = hub_account(hub, "thu")
    assert thu.role == "viewer" and thu.must_change_password

    staff = hub.test_client()
    assert login(staff, "thu", password).status_code == 302
    assert staff.get("/reports/").headers["Location"] == "/auth/password"
    staff.post(
        "/auth/password",
        data={
            "old_password": password,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert staff.get("/reports/").status_code == 200

    admin.post(f"/accounts/{thu.id}/roles", data={"roles": "admin"})
    assert hub_account(hub, "thu").role == "admin"
    assert "/auth/login" in staff.get("/reports/").headers["Location"]
    admin.post(f"/accounts/{thu.id}/disable")
    assert login(staff, "thu", NEW_PASSWORD).status_code == 401
    admin.post(f"/accounts/{thu.id}/enable")
    password = temporary(admin.post(f"/accounts/{thu.id}/reset-password").text)
    assert login(staff, "thu", password).status_code == 302
    assert staff.get("/admin/wards").headers["Location"] == "/auth/password"

    me = hub_account(hub, "quantri").id
    refused = admin.post(f"/accounts/{me}/disable", follow_redirects=True)
    assert "Không thể tự khóa" in refused.text
    refused = admin.post(f"/accounts/{me}/roles", data={"roles": "viewer"}, follow_redirects=True)
    assert "Không thể bỏ vai trò quản trị" in refused.text
    assert hub_account(hub, "quantri").role == "admin"
    assert admin.post("/accounts/abc/disable").status_code == 404
    assert hub_trail(hub) == [
        ("user.add", "thu"),
        ("user.change_password", "thu"),
        ("user.set_role", "thu"),
        ("user.disable", "thu"),
        ("user.enable", "thu"),
        ("user.reset_password", "thu"),
    ]


def test_hub_admin_registers_a_unit_and_issues_and_revokes_its_credential(hub):
    from city_hub.extensions import db as hub_db
    from city_hub.models import Ward
    from city_hub.sync import token_digest

    admin = hub.test_client()
    login(admin, "quantri")
    wards = admin.get("/admin/wards").text
    assert "Đăng ký đơn vị" in wards and 'value="30283"' in wards and 'value="30280"' not in wards
    page = admin.post("/admin/wards", data={"code": "30283"})
    assert page.status_code == 200
    token = re.search(r'id="sync-credential">(ws_[^<]+)<', page.text)[1]
    with hub.app_context():
        ward = hub_db.session.get(Ward, "30283")
        assert ward.active and ward.token_sha256 == token_digest(token)
        assert ward.credential_issued_utc is not None
    wards = admin.get("/admin/wards").text
    assert token not in wards  # shown once only
    assert "cấp lúc" in wards and "Đăng ký đơn vị, cấp khóa đồng bộ" in wards

    again = admin.post("/admin/wards", data={"code": "30283"}, follow_redirects=True)
    assert "Đã đăng ký 30283" in again.text
    unknown = admin.post("/admin/wards", data={"code": "99999"}, follow_redirects=True)
    assert "Không có đơn vị mã 99999" in unknown.text

    revoked = admin.post("/admin/wards/30283/revoke", follow_redirects=True)
    assert "Đã thu hồi khóa đồng bộ" in revoked.text
    with hub.app_context():
        assert not hub_db.session.get(Ward, "30283").active
    new = admin.post("/admin/wards/30283/credential")
    new_token = re.search(r'id="sync-credential">(ws_[^<]+)<', new.text)[1]
    assert new_token != token
    with hub.app_context():
        ward = hub_db.session.get(Ward, "30283")
        assert ward.active and ward.token_sha256 == token_digest(new_token)
    missing = admin.post("/admin/wards/99999/revoke", follow_redirects=True)
    assert "Chưa đăng ký đơn vị 99999" in missing.text
    assert hub_trail(hub) == [
        ("ward.add", "30283"),
        ("ward.revoke", "30283"),
        ("ward.rotate", "30283"),
    ]


@pytest.mark.parametrize(
    "path, form",
    [
        ("/accounts/99999999999999999999999999/disable", {}),  # past any integer column
        ("/accounts/-5/roles", {"roles": "admin"}),
        ("/accounts/1e5/enable", {}),
        ("/accounts/", {"username": "nul", "full_name": "Lê\x00Thu", "roles": "viewer"}),
        ("/accounts/", {"username": "ctl", "full_name": "Lê\x1bThu", "roles": "viewer"}),
        ("/accounts/", {"username": "x" * 5000, "full_name": "Lê Thu", "roles": "viewer"}),
        ("/accounts/", {"username": "many", "full_name": "Lê Thu", "roles": ["viewer"] * 500}),
        ("/admin/wards", {"code": "\x00"}),
        ("/admin/wards", {"code": "9" * 5000}),
        ("/admin/wards/99999/credential", {}),
    ],
)
def test_hostile_account_and_unit_input_is_refused_never_a_500(hub, path, form):
    """What a careless or hostile admin may send: a number too big for the id column (a 500
    on both engines before), a NUL in a name (PostgreSQL refuses to store it), 5,000
    characters, a role 500 times, a unit code that is none."""
    admin = hub.test_client()
    login(admin, "quantri")
    before = hub_trail(hub)
    response = admin.post(path, data=form)
    if form.get("username") == "many":  # the one role it names, however often
        assert response.status_code == 200 and hub_account(hub, "many").role == "viewer"
        return
    assert response.status_code in (302, 404, 422), response.text[:300]
    if form.get("username") in ("nul", "ctl"):
        assert "ký tự điều khiển" in response.text
    assert hub_trail(hub) == before  # nothing written
