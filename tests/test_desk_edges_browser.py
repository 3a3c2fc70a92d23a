"""The rough edges a receptionist and an officer met in their first hour (issue 16), in chromium
against a real waitress server: each test does what the official did and checks what they saw.
"""

# ruff: noqa: F811  (the tests take the fixtures imported from test_browser as parameters)
from __future__ import annotations

import datetime as dt

import pytest

from kernel.columns import utcnow
from kernel.workdays import WorkCalendar, to_local
from wardapp.dossiers.service import receive_dossier, record_step

from .conftest import LiveServer, account, intake_data, make_ward

# Importing from test_browser also skips this module, with its reason, where chromium is absent.
from .test_browser import browser, login, page, shot  # noqa: F401  (fixtures used by name)

pytestmark = pytest.mark.browser
MARITAL_STATUS = "1.004873"  # Cấp Giấy xác nhận tình trạng hôn nhân: 3 working days


@pytest.fixture(scope="module")
def ward(tmp_path_factory):
    """A ward with an officer's dossier to apologise for, a returned one, and namesakes."""
    app = make_ward(tmp_path_factory.mktemp("desk-edges"))
    with app.app_context():
        open_dossier, _ = receive_dossier(
            intake_data(procedure_code=MARITAL_STATUS, applicant_name="Đoàn Văn Tâm"),
            actor=account("letan"),
        )
        record_step(
            open_dossier.code,
            "handed_over",
            actor=account("letan"),
            to_user_uuid=account("chuyenvien").uuid,
        )
        returned, _ = receive_dossier(
            intake_data(applicant_name="Huỳnh Thị Mai"), actor=account("letan")
        )
        record_step(
            returned.code,
            "handed_over",
            actor=account("letan"),
            to_user_uuid=account("chuyenvien").uuid,
        )
        record_step(returned.code, "resolved", actor=account("chuyenvien"))
        record_step(returned.code, "returned", actor=account("letan"))
        namesakes = [
            ("Trần Thị Ngọc Hân", "089195002003"),  # the oldest: newest-first put it last
            ("Lê Thị Ngọc Hằng", "089195002001"),
            ("Phạm Thị Ngọc Hạnh", "089195002002"),
            ("Võ Thị Ngọc Hà", "089195002004"),
        ]
        start = utcnow() - dt.timedelta(minutes=len(namesakes))
        for minute, (name, citizen_id) in enumerate(namesakes):
            receive_dossier(
                intake_data(applicant_name=name, citizen_id=citizen_id),
                actor=account("letan"),
                now=start + dt.timedelta(minutes=minute),
            )
        # A later working day than the one appointed, as the calendar counts (holidays too).
        new_due = WorkCalendar().add_working_days(to_local(open_dossier.due_at).date(), 3)
        codes = {
            "open": open_dossier.code,
            "returned": returned.code,
            "new_due": new_due.isoformat(),
        }
    with LiveServer(app) as url:
        yield url, codes


@pytest.fixture(scope="module")
def server(ward):
    return ward[0]


def test_enter_in_the_procedure_search_picks_the_first_match(page, server):
    login(page, server, "letan")
    page.goto(f"{server}/dossiers/new")
    page.fill("input[data-picks]", "tinh trang hon nhan")
    page.keyboard.press("Enter")
    page.wait_for_selector("input[name=documents]")  # the picked procedure's documents
    assert page.url.endswith("/dossiers/new")  # the form was not submitted
    assert page.eval_on_selector("#procedure-options", "s => s.value") == MARITAL_STATUS
    assert "Thời hạn: 3 ngày làm việc" in page.inner_text("#documents")
    assert page.query_selector(".field-error") is None
    assert page.console_errors == []


def test_no_favicon_404_and_no_request_leaves_the_lan(page, server):
    failures = []
    page.on("response", lambda r: r.status >= 400 and failures.append((r.status, r.url)))
    login(page, server, "letan")
    page.goto(f"{server}/dossiers/new")
    page.wait_for_load_state("networkidle")  # the browser's own ask for /favicon.ico included
    assert failures == []
    response = page.request.get(f"{server}/favicon.ico")
    assert response.status == 200 and response.body()[:4] == b"\x00\x00\x01\x00"  # an icon
    assert page.outside_requests == []


def test_a_returned_dossier_is_held_by_nobody(page, ward):
    server, codes = ward
    login(page, server, "letan")
    page.goto(f"{server}/dossiers/{codes['returned']}")
    details = page.inner_text(".dossier dl")
    assert "Đã trả" in details and "Đang giữ" not in details
    page.goto(f"{server}/dossiers/{codes['open']}")
    assert "Đang giữ" in page.inner_text(".dossier dl")
    assert "Lê Văn Phúc" in page.inner_text(".dossier dl")


def test_a_second_apology_is_not_offered(page, ward):
    server, codes = ward
    login(page, server, "chuyenvien")
    page.goto(f"{server}/dossiers/{codes['open']}")
    apology = "button:has-text('Xin lỗi và hẹn lại ngày trả')"
    assert page.is_visible(apology)
    page.fill("input[name=new_due_date]", codes["new_due"])
    page.fill("form:has(input[name=new_due_date]) textarea[name=reason]", "Cần xác minh thêm.")
    page.click(apology)
    page.wait_for_selector("text=Hẹn lại (Mẫu 04)")
    assert not page.is_visible(apology)  # offered once, and only what a press would accept
    assert page.query_selector(".error") is None


def test_search_lists_the_letters_typed_first(page, server):
    login(page, server, "letan")
    page.fill("input[name=q][type=search]", "ngọc hân")
    page.keyboard.press("Enter")
    page.wait_for_selector("#search-results table")
    names = page.locator("#search-results tbody tr td:nth-child(2)").all_inner_texts()
    assert names[0] == "Trần Thị Ngọc Hân"
    shot(page, "search-ranked")
    assert set(names) >= {"Lê Thị Ngọc Hằng", "Phạm Thị Ngọc Hạnh", "Trần Thị Ngọc Hân"}
