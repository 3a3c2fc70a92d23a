"""The officer records the result's number and date when resolving, in a real browser (see
tests/test_result_document.py for the rules), sees them on the dossier and in the logbook."""

# ruff: noqa: F811  (the tests take the fixtures imported from test_browser as parameters)
from __future__ import annotations

import re

from kernel.columns import utcnow
from kernel.workdays import to_local

from .test_browser import browser, fill_intake, login, logout, page, server  # noqa: F401


def test_officer_resolves_with_the_result_number_and_date(page, server):
    today = to_local(utcnow()).date()
    login(page, server, "letan")
    page.goto(f"{server}/dossiers/new")
    fill_intake(page, "1.004873", "Phan Thị Kim Yến", "089185004321", "Số 9 đường Lê Lợi, khóm 2")
    page.click("text=Tiếp nhận và cấp giấy hẹn")
    page.wait_for_url(re.compile(r".*/dossiers/30280-\d{6}-\d{4}$"))
    code = page.url.rsplit("/", 1)[1]
    page.select_option("select[name=to_user_uuid]", label="Lê Văn Phúc (Chuyên viên xử lý)")
    page.click("button:has-text('Chuyển xử lý')")
    page.wait_for_selector(".status-4")
    logout(page)

    login(page, server, "chuyenvien")
    page.goto(f"{server}/dossiers/{code}")
    # the form takes a number of at most 50 characters, as the desk stores
    page.fill("input[name=result_number]", "x" * 60)
    assert len(page.input_value("input[name=result_number]")) == 50
    page.fill("input[name=result_number]", "125/XNHN")
    page.fill("input[name=result_date]", today.isoformat())
    page.click("button:has-text('Hoàn thành giải quyết')")
    page.wait_for_selector(".status-9")
    shown = page.locator(".result-document").inner_text()
    assert shown == f"Số 125/XNHN, ngày {today:%d/%m/%Y}"

    page.goto(f"{server}/logbook?from={today}&to={today}")
    # the column "Nhận kết quả từ cơ quan giải quyết": the day, then the number (its date is
    # that day, so not repeated)
    cell = page.locator("table.logbook tbody tr", has_text=code).locator("td").nth(10)
    assert cell.inner_text().split("\n")[1] == "Số 125/XNHN"
    assert f"{today:%d/%m/%Y}" in cell.inner_text()
    page.goto(f"{server}/dossiers/{code}/print/05")
    slip = page.locator("table.control").inner_text()
    assert f"Kết quả: Số 125/XNHN, ngày {today:%d/%m/%Y}" in slip
    assert page.outside_requests == [] and page.console_errors == []
