"""Units that change, in chromium on a real server with CSRF on: a city official picks today's
map for 2024 and finds Phường Long Xuyên summing its predecessors, down to a Đông Xuyên dossier
under its old code; the hub admin sees the new units' provisional codes marked and corrects one.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from .conftest import PASSWORD, LiveServer, add_hub_staff, dispose_hub, make_hub
from .test_browser import browser, page, shot  # noqa: F401
from .test_reports_by_map import (
    DESKS,
    DONG_XUYEN,
    DOSSIERS,
    LONG_XUYEN,
    PERIODS,
    received_in,
    today_of,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from city_hub.extensions import db as hub_db
    from city_hub.models import RECORD_TABLES

    app, _ = make_hub(tmp_path_factory.mktemp("units-browser"), wards=DESKS)
    add_hub_staff(app)
    with app.app_context():
        hub_db.session.execute(sa.insert(RECORD_TABLES["dossier"]), DOSSIERS)
        hub_db.session.commit()
    with LiveServer(app) as url:
        yield url
    dispose_hub(app)


def sign_in(page, server, username):  # noqa: F811
    page.goto(f"{server}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_official_reads_2024_on_todays_map(page, server):  # noqa: F811
    sign_in(page, server, "xem")
    page.goto(f"{server}/reports/?period=2024")
    assert "Đơn vị hành chính của kỳ báo cáo" in page.locator("h1").inner_text()
    assert page.locator("table").first.get_by_text("Phường Mỹ Bình").count() == 0  # "Đơn vị …"
    period_form = page.locator("form.period").first
    period_form.get_by_label("Đơn vị hành chính hiện nay").check()
    period_form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*map=today.*"))
    assert "Đơn vị hành chính hiện nay" in page.locator("h1").inner_text()
    assert "Năm 2024" in page.locator("h1").inner_text()
    assert page.get_by_text("Phường Long Xuyên").first.is_visible()
    shot(page, "report-2024-todays-map")
    expected = sum(n for c, n in received_in(*PERIODS["2024"]).items() if today_of(c) == LONG_XUYEN)
    link = page.locator(f'a[href*="indicator=received"][href*="ward={LONG_XUYEN}"]').first
    assert link.inner_text().replace(".", "") == str(expected)
    link.click()
    page.wait_for_url(re.compile(r".*/reports/dossiers.*"))
    heading = page.locator("h1").inner_text()
    assert f"{expected} hồ sơ" in heading.replace(".", "") and "hiện nay" in heading
    while not page.get_by_text(re.compile(rf"^{DONG_XUYEN}-24")).count():
        page.click("a[rel=next]")  # the pages of the 2024 dossiers, to Đông Xuyên's
    assert page.get_by_text(re.compile(rf"^{DONG_XUYEN}-24")).first.is_visible()


def test_admin_corrects_a_provisional_code(page, server):  # noqa: F811
    sign_in(page, server, "quantri")
    page.goto(f"{server}/admin/refdata")
    row = page.locator('tr[data-unit="99003"]')
    assert "Mã chưa xác nhận" in row.inner_text() and "Phường Mỹ Thới" in row.inner_text()
    shot(page, "refdata-units")
    # Mỹ Thới's desk already syncs under its provisional code: refused, with the reason
    row.locator("input[name=new_code]").fill("30999")
    row.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "đã đăng ký đồng bộ với mã 99003" in page.locator(".flash").inner_text()
    # the province's code, which no desk holds, is corrected and confirmed
    row = page.locator('tr[data-unit="99"]')
    assert "Tỉnh An Giang" in row.inner_text() and "Mã chưa xác nhận" in row.inner_text()
    row.locator("input[name=new_code]").fill("91")
    row.locator("input[name=code_confirmed]").check()
    row.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "Đã công bố danh mục phiên bản 2" in page.locator(".flash").inner_text()
    fixed = page.locator('tr[data-unit="91"]')
    assert "Tỉnh An Giang" in fixed.inner_text() and "Mã chưa xác nhận" not in fixed.inner_text()
    assert page.locator('tr[data-unit="99"]').count() == 0
    assert "Mã chưa xác nhận" in page.locator('tr[data-unit="99003"]').inner_text()
    page.goto(f"{server}/admin/wards")
    assert "Sửa mã, tên đơn vị" in page.content()
