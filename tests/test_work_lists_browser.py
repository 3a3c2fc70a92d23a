"""Work lists that fit the work (issue 16), in chromium against a real waitress server: an
officer's own queue with what is late by how many days, filters that narrow every tab and its
count and survive paging, and the receptionist's results waiting to be returned."""

# ruff: noqa: F811  (the tests take the fixtures imported from test_browser as parameters)
from __future__ import annotations

import datetime as dt
import re

import pytest

from kernel.columns import utcnow
from kernel.workdays import WorkCalendar, to_local
from wardapp.dossiers.service import receive_dossier, record_step

from .conftest import LiveServer, account, intake_data, make_ward

# Importing from test_browser also skips this module, with its reason, where chromium is absent.
from .test_browser import browser, login, page, shot  # noqa: F401  (fixtures used by name)

pytestmark = pytest.mark.browser
BIRTH, MARITAL_STATUS = "1.001193", "1.004873"  # same day; 3 working days
POSTAL_BIRTHS = 57  # more than a page (50) of one procedure and channel


@pytest.fixture(scope="module")
def ward(tmp_path_factory):
    """Three weeks ago the officer got two marital-status dossiers (both late now), and one this
    morning; the receptionist holds a page and more of postal births; one result waits."""
    app = make_ward(tmp_path_factory.mktemp("work-lists"))
    now = utcnow()
    with app.app_context():
        letan, officer = account("letan"), account("chuyenvien")
        codes = {}
        for key, when in [
            ("late", now - dt.timedelta(days=21)),
            ("later", now - dt.timedelta(days=20)),
            ("fresh", now - dt.timedelta(minutes=30)),
        ]:
            dossier, _ = receive_dossier(
                intake_data(procedure_code=MARITAL_STATUS, applicant_name=f"Hồ sơ {key}"),
                actor=letan,
                now=when,
            )
            record_step(
                dossier.code,
                "handed_over",
                actor=letan,
                to_user_uuid=officer.uuid,
                now=when + dt.timedelta(minutes=5),
            )
            codes[key] = dossier.code
            if key == "late":  # its working days past the due day, counted by the calendar
                codes["late_days"] = WorkCalendar().working_days_between(
                    to_local(dossier.due_at).date(), to_local(now).date()
                )
        for i in range(POSTAL_BIRTHS):
            receive_dossier(
                intake_data(
                    applicant_name=f"Người gửi bưu điện {i:02d}",
                    channel="postal",
                    return_method="postal",
                    return_address="Số 1 đường Lý Thái Tổ, phường Mỹ Bình",
                ),
                actor=letan,
                now=now - dt.timedelta(minutes=200 - i),
            )
        ready, _ = receive_dossier(intake_data(applicant_name="Chờ trả kết quả"), actor=letan)
        record_step(ready.code, "handed_over", actor=letan, to_user_uuid=officer.uuid)
        record_step(ready.code, "resolved", actor=officer)
        codes["ready"] = ready.code
    with LiveServer(app) as url:
        yield url, codes


@pytest.fixture(scope="module")
def server(ward):
    return ward[0]


def tab_count(page, label: str) -> int:
    return int(page.locator(f"nav.tabs a:has-text('{label}') .count").inner_text())


def applicants(page) -> list[str]:
    return page.locator("#dossier-table tbody tr td:nth-child(2)").all_inner_texts()


def test_the_officers_own_queue_most_urgent_first_with_days_late(page, ward):
    server, codes = ward
    login(page, server, "chuyenvien")
    page.goto(f"{server}/worklists/mine")
    assert applicants(page) == ["Hồ sơ late", "Hồ sơ later", "Hồ sơ fresh"]  # by due date
    assert tab_count(page, "Của tôi") == 3
    late = page.locator("#dossier-table tbody tr").nth(0).locator("td").nth(6).inner_text()
    days = int(re.fullmatch(r"(\d+) ngày", late)[1])
    assert days == codes["late_days"] and days >= 1  # 21 days ago, 3 working days allowed
    fresh = page.locator("#dossier-table tbody tr").nth(2).locator("td").nth(6).inner_text()
    assert fresh == ""
    shot(page, "work-list-mine")
    assert tab_count(page, "Quá hạn") == 2
    page.click("nav.tabs a:has-text('Quá hạn')")
    assert sorted(applicants(page)) == ["Hồ sơ late", "Hồ sơ later"]


def test_filters_narrow_every_tab_and_survive_paging(page, ward):
    server, _ = ward
    login(page, server, "letan")
    page.goto(f"{server}/worklists/mine")
    total_mine = tab_count(page, "Của tôi")
    assert total_mine == POSTAL_BIRTHS  # the receptionist holds what she has not handed over
    page.select_option("form.filters select[name=channel]", "postal")
    page.select_option("form.filters select[name=procedure]", BIRTH)
    page.select_option("form.filters select[name=sort]", "received")
    page.click("form.filters button:has-text('Lọc')")
    assert tab_count(page, "Của tôi") == POSTAL_BIRTHS
    assert tab_count(page, "Đang giải quyết") == POSTAL_BIRTHS  # the officer's three are gone
    assert "Trang 1/2" in page.inner_text(".pager")
    shot(page, "work-list-filtered", full_page=False)
    first_page = applicants(page)
    assert first_page[0] == f"Người gửi bưu điện {POSTAL_BIRTHS - 1:02d}"  # newest first
    page.click("text=Trang sau »")
    assert "Trang 2/2" in page.inner_text(".pager")
    assert len(applicants(page)) == POSTAL_BIRTHS - 50
    assert "channel=postal" in page.url and f"procedure={BIRTH}" in page.url
    assert page.eval_on_selector("form.filters select[name=channel]", "s => s.value") == "postal"
    page.click("nav.tabs a:has-text('Quá hạn')")  # another tab keeps the filter
    assert "channel=postal" in page.url and applicants(page) == []
    page.click("text=Bỏ lọc")
    assert tab_count(page, "Quá hạn") == 2


def test_a_date_range_and_a_bad_value_are_explained(page, ward):
    server, _ = ward
    login(page, server, "letan")
    today = dt.date.today()
    page.goto(
        f"{server}/worklists/in_progress?from={(today - dt.timedelta(days=22)).isoformat()}"
        f"&to={(today - dt.timedelta(days=19)).isoformat()}"
    )
    assert sorted(applicants(page)) == ["Hồ sơ late", "Hồ sơ later"]
    page.goto(f"{server}/worklists/in_progress?from=2020-02-30&status=99")
    alerts = page.locator("p.error").all_inner_texts()
    assert any("Ngày tiếp nhận từ không hợp lệ" in a for a in alerts)
    assert any("Trạng thái không hợp lệ" in a for a in alerts)
    assert tab_count(page, "Đang giải quyết") == POSTAL_BIRTHS + 3  # the rest still applies


def test_the_receptionist_returns_a_result_from_her_list(page, ward):
    server, codes = ward
    login(page, server, "letan")
    page.goto(f"{server}/worklists/ready")
    assert applicants(page) == ["Chờ trả kết quả"]
    assert tab_count(page, "Có kết quả, chờ trả") == 1
    page.click(f"text={codes['ready']}")
    page.click("button:has-text('Trả kết quả')")
    page.wait_for_selector(".status-10")
    page.goto(f"{server}/worklists/ready")
    assert applicants(page) == [] and tab_count(page, "Có kết quả, chờ trả") == 0
