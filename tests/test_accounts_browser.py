"""Accounts from the screen in a real browser: the ward's admin creates an account and resets its
password, the official logs in with the temporary password, is made to choose their own and then
works; the city's admin registers a unit, and issues and revokes its sync credential."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from . import test_browser
from .conftest import PASSWORD, LiveServer, make_hub
from .test_browser import logout, shot

# test_browser's fixtures, used by name: chromium, a served ward (CSRF on) and a page on it
browser, server, page = test_browser.browser, test_browser.server, test_browser.page

pytestmark = pytest.mark.browser
OWN_PASSWORD = "mat-khau-cua-ngoc-anh"


def sign_in(page, url, username, password=PASSWORD):
    page.goto(f"{url}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_admin_creates_and_resets_an_account_that_then_chooses_its_password(page, server):
    sign_in(page, server, "quantri")
    page.wait_for_url(f"{server}/")
    page.click("nav >> text=Tài khoản")
    page.wait_for_url(f"{server}/accounts/")
    form = page.locator("#new-account")
    form.locator("input[name=full_name]").fill("Võ Ngọc Ánh")
    form.locator("input[name=username]").fill("ngocanh")
    form.get_by_label("Tiếp nhận và trả kết quả").check()
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#temporary-password")
    first = page.inner_text("#temporary-password")
    assert "Đã tạo tài khoản: ngocanh" in page.inner_text("h1")
    page.click("text=Về danh sách tài khoản")
    row = page.locator("#account-ngocanh")
    assert "Chờ đổi mật khẩu tạm thời" in row.inner_text()
    shot(page, "accounts-list")
    row.get_by_role("button", name="Đặt lại mật khẩu").click()
    page.wait_for_selector("#temporary-password")
    temporary = page.inner_text("#temporary-password")
    assert temporary != first and len(temporary) >= 10
    shot(page, "accounts-temporary-password")
    logout(page)

    sign_in(page, server, "ngocanh", first)  # the first one was replaced by the reset
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in page.inner_text(".error")
    sign_in(page, server, "ngocanh", temporary)
    page.wait_for_url(f"{server}/auth/password")
    assert "mật khẩu tạm thời" in page.inner_text("main")
    page.goto(f"{server}/dossiers/new")  # every page leads back here until it is changed
    page.wait_for_url(f"{server}/auth/password")
    page.fill("input[name=old_password]", temporary)
    page.fill("input[name=new_password]", OWN_PASSWORD)
    page.fill("input[name=new_password_again]", OWN_PASSWORD + "!")
    page.click("main button[type=submit]")
    assert "Hai lần nhập mật khẩu mới không giống nhau." in page.inner_text(".error")
    page.fill("input[name=old_password]", temporary)
    page.fill("input[name=new_password]", OWN_PASSWORD)
    page.fill("input[name=new_password_again]", OWN_PASSWORD)
    shot(page, "accounts-own-password")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server}/")
    assert "Đã đổi mật khẩu." in page.inner_text(".flash")
    page.click("text=+ Tiếp nhận hồ sơ")
    page.wait_for_url(f"{server}/dossiers/new")
    assert page.locator("#intake").is_visible()
    assert not page.outside_requests
    # the only console lines: the refused login (401) and the refused change (422) above
    assert [re.search(r"status of (\d+)", e)[1] for e in page.console_errors] == ["401", "422"]
    logout(page)
    sign_in(page, server, "ngocanh", OWN_PASSWORD)
    page.wait_for_url(f"{server}/")


@pytest.fixture
def hub_server(tmp_path):
    from city_hub.extensions import db as hub_db
    from city_hub.models import HubUser

    app, _ = make_hub(tmp_path / "hub")  # CSRF on, as in production
    with app.app_context():
        admin = HubUser(username="quantri", full_name="Quản trị thành phố", role="admin")
        admin.set_password(PASSWORD)
        hub_db.session.add(admin)
        hub_db.session.commit()
    with LiveServer(app) as url:
        yield app, url
    with app.app_context():
        hub_db.engine.dispose()


def test_hub_admin_registers_a_unit_and_issues_and_revokes_its_credential(browser, hub_server):
    from city_hub.extensions import db as hub_db
    from city_hub.models import HubAudit

    app, url = hub_server
    context = browser.new_context(locale="vi-VN", viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        sign_in(page, url, "quantri")
        page.wait_for_url(re.compile(r".*/reports/"))
        page.click("nav >> text=Đơn vị và đồng bộ")
        page.select_option("#register-unit select[name=code]", "30283")
        page.click("#register-unit button[type=submit]")
        token = page.inner_text("#sync-credential")
        assert token.startswith("ws_") and "Phường Mỹ Long" in page.inner_text("h1")

        def hello() -> int:
            answer = page.request.post(
                f"{url}/api/sync/v1/hello",
                headers={"Authorization": f"Bearer {token}"},
                data="{}",
            )
            return answer.status

        assert hello() != 401  # the credential opens the door (the empty hello is refused)
        page.click("text=Về danh sách đơn vị")
        cell = page.locator("#credential-30283")
        assert "cấp lúc" in cell.inner_text() and token not in page.content()
        shot(page, "hub-units-credentials")
        cell.get_by_role("button", name="Thu hồi khóa").click()
        page.wait_for_selector("text=Đã thu hồi khóa đồng bộ")
        assert "đã thu hồi" in page.locator("#credential-30283").inner_text()
        assert hello() == 401
        page.locator("#credential-30283").get_by_role("button", name="Cấp khóa mới").click()
        renewed = page.inner_text("#sync-credential")
        assert renewed.startswith("ws_") and renewed != token
        token = renewed
        assert hello() != 401
    finally:
        context.close()
    with app.app_context():
        trail = hub_db.session.scalars(sa.select(HubAudit.action).order_by(HubAudit.id)).all()
    assert trail == ["ward.add", "ward.revoke", "ward.rotate"]
