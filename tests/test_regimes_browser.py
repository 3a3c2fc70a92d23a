"""The online categories' names by the rules in a real browser: a receptionist receives an
online dossier today through the form, whose channels have the 2025 names, and sees them on its
page and its receipt; a dossier of 2020 at the same desk keeps "mức độ 3"; the work list's
filter, which picks dossiers of both, names both."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from wardapp.dossiers.service import receive_dossier
from wardapp.extensions import db
from wardapp.sync.records import User

from .conftest import LiveServer, intake_data, make_ward, vn_time
from .test_browser import browser, guarded_page, login  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A ward holding one online dossier received in March 2020, on a real server."""
    app = make_ward(tmp_path_factory.mktemp("regimes-ward"))
    with app.app_context():
        clerk = db.session.scalar(sa.select(User).where(User.username == "letan"))
        dossier, _ = receive_dossier(
            intake_data(applicant_name="Trần Văn Năm Hai Mươi", channel="online_partial"),
            actor=clerk,
            now=vn_time(2020, 3, 16),
        )
        old_code = dossier.code
        db.session.remove()
    with LiveServer(app) as url:
        yield url, old_code


def test_online_names_by_the_rules_of_each_dossier(browser, server):  # noqa: F811
    url, old_code = server
    with guarded_page(browser, url) as page:
        login(page, url, "letan")
        page.click("text=+ Tiếp nhận hồ sơ")
        options = page.locator("select[name=channel] option").all_inner_texts()
        assert options == [
            "Trực tiếp tại Bộ phận một cửa",
            "Qua dịch vụ bưu chính công ích",
            "Trực tuyến một phần",
            "Trực tuyến toàn trình",
        ]
        page.select_option("#procedure-options", "1.001193")
        page.wait_for_selector("input[name=documents]")
        for box in page.query_selector_all("#documents label:has(em) input[name=documents]"):
            box.check()
        page.fill("input[name=applicant_name]", "Lê Thị Hai Không Hai Sáu")
        page.fill("input[name=citizen_id]", "089095001234")
        page.fill("input[name=address]", "Số 5 đường Trần Hưng Đạo")
        page.select_option("select[name=channel]", label="Trực tuyến một phần")
        page.click("text=Tiếp nhận và cấp giấy hẹn")
        page.wait_for_url(re.compile(r".*/dossiers/30280-\d{6}-\d{4}$"))
        shown = page.locator("dt:has-text('Hình thức nộp') + dd").inner_text()
        assert shown == "Trực tuyến một phần"
        code = page.url.rsplit("/", 1)[1]
        page.goto(f"{url}/dossiers/{code}/print/01")
        assert "Hình thức nộp: Trực tuyến một phần" in page.locator(".form-code").inner_text()

        page.goto(f"{url}/dossiers/{old_code}")
        shown = page.locator("dt:has-text('Hình thức nộp') + dd").inner_text()
        assert shown == "Trực tuyến một phần (mức độ 3)"
        page.goto(f"{url}/dossiers/{old_code}/print/01")
        assert page.locator(".form-code").inner_text() == f"Mã hồ sơ: {old_code}"

        page.goto(f"{url}/worklists/in_progress")
        page.select_option("select[name=channel]", label="Trực tuyến một phần / mức độ 3")
        assert (
            "Trực tuyến toàn trình / mức độ 4" in page.locator("select[name=channel]").inner_text()
        )
        assert page.outside_requests == []
        assert page.console_errors == []
