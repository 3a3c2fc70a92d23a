"""The hub's report in chromium at 1366×768, as a city official reads it: the period picked
("Quý II năm 2020") and named in the title, the table fitting the screen, a number opened to the
dossiers behind it, their second page, and the Excel file of them all."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from .conftest import PASSWORD, LiveServer
from .test_browser import browser, guarded_page, shot  # noqa: F401
from .test_report_screens import QUARTER, WARD, synced_hub

pytestmark = pytest.mark.browser
WIDTH = 1366


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The hub with the ward's synced dossiers on a real waitress server, CSRF on."""
    app = synced_hub(tmp_path_factory.mktemp("report-browser"))
    with LiveServer(app) as url:
        yield url
    from city_hub.extensions import db as hub_db

    with app.app_context():
        hub_db.engine.dispose()


@pytest.fixture
def page(browser, server):  # noqa: F811
    """A 1366×768 screen (the city's office laptops) that blocks every request leaving the
    server."""
    with guarded_page(browser, server, (WIDTH, 768), accept_downloads=True) as page:
        yield page


def fits(page) -> None:
    """No horizontal scroll: not of the page, nor inside any table's box."""
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    overflowing = page.evaluate(
        """[...document.querySelectorAll('table')]
             .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)
             .map(t => t.scrollWidth + ' > ' + t.parentElement.clientWidth)"""
    )
    assert overflowing == []


def test_quarter_report_drill_down_pages_and_excel(page, server):
    import openpyxl

    page.goto(f"{server}/auth/login")
    page.fill("input[name=username]", "xem")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/reports/"))

    page.select_option("select[name=period]", label="Quý II năm 2020")
    page.locator("form.period", has=page.locator("select")).locator("button").click()
    page.wait_for_url(re.compile(r".*period=2020-Q2"))
    assert "Quý II năm 2020" in page.locator("h1").inner_text()
    assert page.title().startswith("Báo cáo Quý II năm 2020")
    fits(page)
    shot(page, "hub-report-quarter")

    # The ward's received figure opens the 60 dossiers behind it, a page at a time.
    ward_row = page.locator("table.figures tr", has_text=f"Đơn vị {WARD}").first
    ward_row.locator("td").nth(2).locator("a").click()
    page.wait_for_url(re.compile(r".*/reports/dossiers\?.*indicator=received"))
    assert f"{QUARTER} hồ sơ · Quý II năm 2020" in page.locator("h1").inner_text()
    assert "Trang 1/2" in page.locator("nav.pager").first.inner_text()
    assert page.locator("tbody tr").count() == 50
    fits(page)
    page.locator("nav.pager").first.locator("text=Trang sau »").click()
    page.wait_for_url(re.compile(r".*page=2"))
    assert "Trang 2/2" in page.locator("nav.pager").first.inner_text()
    assert page.locator("tbody tr").count() == QUARTER - 50
    fits(page)
    shot(page, "hub-drilldown-page-2")

    # The Excel file holds all 60, under the title block and above the signatures.
    with page.expect_download() as download:
        page.locator("p.prints").locator("text=Excel").click()
    data = Path(download.value.path()).read_bytes()
    rows = [
        [c for c in r if c is not None]
        for r in openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)
    ]
    assert rows[0] == ["Ủy ban nhân dân thành phố Long Xuyên"]
    assert any("Quý II năm 2020" in str(c) for r in rows[:6] for c in r)
    assert sum(1 for r in rows if r and str(r[0]).startswith(f"{WARD}-")) == QUARTER
    assert ["NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ"] in rows
    assert page.outside_requests == []
