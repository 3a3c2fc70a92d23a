"""The desk screens through the test client: login, intake, steps, work lists, search."""

import datetime as dt

import pytest
import sqlalchemy as sa

from kernel.columns import utcnow
from wardapp.dossiers.service import receive_dossier, record_step
from wardapp.extensions import db
from wardapp.models import Outbox
from wardapp.sync.records import Dossier

from .conftest import account, intake_data

HX = {"HX-Request": "true"}


def dossier_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Dossier))


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/dossiers/new",
        "/worklists/today",
        "/search?q=a",
        "/logbook",
        "/dossiers/x",
        "/procedures/options",
    ],
)
def test_pages_need_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_login_wrong_password_and_logout(client, auth):
    response = auth.login(password="sai-mat-khau")
    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in response.text
    assert auth.login().status_code == 302
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302


def test_login_next_never_leaves_the_site(client):
    response = client.post(
        "/auth/login?next=//evil.example/x",
        data={"username": "letan", "password": "mat-khau-thu-nghiem"},
    )
    assert response.headers["Location"] == "/"


def test_intake_form_creates_dossier_and_redirects(client, auth):
    auth.login()
    assert "Tiếp nhận hồ sơ" in client.get("/dossiers/new").text
    response = client.post("/dossiers", data=intake_data())
    assert response.status_code == 302
    code = response.headers["Location"].rsplit("/", 1)[1]
    page = client.get(f"/dossiers/{code}")
    assert page.status_code == 200
    assert "Nguyễn Văn Đức" in page.text and "Mẫu 01" in page.text


def test_intake_by_htmx_redirects_with_header(client, auth):
    auth.login()
    response = client.post("/dossiers", data=intake_data(), headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/dossiers/30280-")


def test_bad_intake_rerenders_form_with_errors_and_writes_nothing(client, auth):
    auth.login()
    response = client.post(
        "/dossiers", data=intake_data(citizen_id="12ab", applicant_name=""), headers=HX
    )
    assert response.status_code == 422
    assert "12 chữ số" in response.text
    assert "Vui lòng nhập họ tên người nộp" in response.text
    assert 'value="12ab"' in response.text  # what was typed is kept
    assert dossier_count() == 0


def test_double_submitted_form_makes_one_dossier(client, auth):
    auth.login()
    data = intake_data()
    first = client.post("/dossiers", data=data)
    second = client.post("/dossiers", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert dossier_count() == 1


def test_officer_cannot_open_intake(client, auth):
    auth.login("chuyenvien")
    assert client.get("/dossiers/new").status_code == 403
    assert client.post("/dossiers", data=intake_data()).status_code == 403


def receive(now=None):
    dossier, _ = receive_dossier(intake_data(), actor=account("letan"), now=now)
    return dossier.code


def test_step_through_the_screen(client, auth):
    code = receive()
    officer = account("chuyenvien")
    auth.login()
    response = client.post(
        f"/dossiers/{code}/steps/handed_over",
        data={"to_user_uuid": officer.uuid, "version": 1},
        headers=HX,
    )
    assert response.status_code == 200
    assert "Đang xử lý" in response.text and 'id="dossier"' in response.text
    auth.logout()
    auth.login("chuyenvien")
    response = client.post(f"/dossiers/{code}/steps/resolved", data={})
    assert response.status_code == 302
    assert "Đã có kết quả" in client.get(f"/dossiers/{code}").text


def test_illegal_step_through_the_screen_is_explained(client, auth):
    code = receive()
    auth.login()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Outbox))
    response = client.post(f"/dossiers/{code}/steps/returned", data={}, headers=HX)
    assert response.status_code == 409
    assert "Chỉ trả được kết quả" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Outbox)) == before


def test_stale_form_is_refused(client, auth):
    code = receive()
    auth.login()
    response = client.post(
        f"/dossiers/{code}/steps/withdrawn", data={"version": 7, "reason": "Rút"}, headers=HX
    )
    assert response.status_code == 409
    assert "người khác cập nhật" in response.text


def test_unknown_dossier_is_404(client, auth):
    auth.login()
    assert client.get("/dossiers/30280-000000-0000").status_code == 404
    assert client.post("/dossiers/30280-000000-0000/steps/resolved").status_code == 404
    assert client.get("/worklists/nothing").status_code == 404


def test_home_counters_and_work_lists(client, auth):
    now = utcnow()
    fresh = receive(now)
    overdue, _ = receive_dossier(
        intake_data(received_at=(now - dt.timedelta(days=10)).isoformat()),
        actor=account("letan"),
        now=now,
    )
    record_step(
        fresh,
        "supplement_requested",
        actor=account("letan"),
        reason="Thiếu giấy chứng sinh",
        now=now + dt.timedelta(seconds=1),
    )
    auth.login()
    home = client.get("/")
    assert home.status_code == 200 and "Quá hạn hiện tại" in home.text
    assert fresh in client.get("/worklists/waiting").text
    assert overdue.code in client.get("/worklists/overdue").text
    assert fresh not in client.get("/worklists/overdue").text
    assert overdue.code in client.get("/worklists/in_progress").text
    assert fresh in client.get("/worklists/today").text


@pytest.mark.parametrize(
    "query",
    ["nguyen van duc", "NGUYỄN VĂN ĐỨC", "duc", "089095001234", "0912 345 678", "0912.345.678"],
)
def test_search_ignores_diacritics(client, auth, query):
    code = receive()
    auth.login()
    response = client.get("/search", query_string={"q": query}, headers=HX)
    assert response.status_code == 200
    assert code in response.text


def test_search_by_code_and_hostile_queries(client, auth):
    code = receive()
    auth.login()
    assert code in client.get("/search", query_string={"q": code}).text
    for hostile in ['"', "*", "NEAR(", "') OR 1=1 --", "đ" * 300, "\x00"]:
        response = client.get("/search", query_string={"q": hostile})
        assert response.status_code == 200
        assert code not in response.text


def test_procedure_picker_filters_without_diacritics(client, auth):
    auth.login()
    response = client.get("/procedures/options", query_string={"q": "ket hon"}, headers=HX)
    assert "Đăng ký kết hôn" in response.text
    assert "Chứng thực" not in response.text
    docs = client.get("/procedures/documents", query_string={"procedure_code": "1.001193"})
    assert "Tờ khai đăng ký khai sinh" in docs.text


def test_escaped_output(client, auth):
    dossier, _ = receive_dossier(
        intake_data(applicant_name="<script>alert(1)</script> Lê"), actor=account("letan")
    )
    auth.login()
    page = client.get(f"/dossiers/{dossier.code}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Lê" in page


def test_security_headers(client):
    response = client.get("/auth/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_form_post_without_csrf_token_is_refused(tmp_path):
    from .conftest import PASSWORD, make_ward

    app = make_ward(tmp_path)  # CSRF on, as in production
    client = app.test_client()
    response = client.post("/auth/login", data={"username": "letan", "password": PASSWORD})
    assert response.status_code == 400
    assert "Phiên làm việc đã hết hạn" in response.text
    page = client.get("/auth/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/auth/login", data={"username": "letan", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    intake = client.get("/dossiers/new").text
    assert 'hx-headers=\'{"X-CSRFToken": "' in intake
    with app.app_context():
        data = intake_data()
    assert client.post("/dossiers", data=data).status_code == 400
    header_token = intake.split('"X-CSRFToken": "')[1].split('"')[0]
    response = client.post("/dossiers", data=data, headers={"X-CSRFToken": header_token, **HX})
    assert response.status_code == 204


@pytest.mark.parametrize(
    "name",
    [
        "Robert'); DROP TABLE dossier;--",
        "<img src=x onerror=alert(1)> Trần",
        "Nguyễn\u200bVăn\u202eĐức",  # zero-width space, right-to-left override
        "Lê Thị 🌸 Hoa",
        "{{ 7*7 }} ${7*7}",
    ],
)
def test_unusual_input_is_stored_and_shown_as_text(client, auth, name):
    dossier, _ = receive_dossier(
        intake_data(applicant_name=name, address=name, note=name), actor=account("letan")
    )
    assert dossier.applicant_name == name
    auth.login()
    page = client.get(f"/dossiers/{dossier.code}").text
    from markupsafe import escape

    assert str(escape(name)) in page
    assert "<img src=x" not in page and "49" not in page.split("Người nộp")[1][:200]
    assert client.get("/search", query_string={"q": name}).status_code == 200
    assert dossier_count() == 1


def test_the_home_counters_and_work_list_tabs_read_no_whole_table(app):
    """At 200,000 dossiers a count that reads the whole table costs 70 ms (bench/bench_desk.py):
    every statement of the home page's counters and the work lists' tabs must find its rows
    through an index."""
    from wardapp.dossiers.queries import home_counters, work_list_counts
    from wardapp.dossiers.service import load_calendar

    statements = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", remember)
    try:
        now = utcnow()
        home_counters(now)
        work_list_counts(now, load_calendar(), account("letan").uuid)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", remember)
    counted = [s for s in statements if "count(" in s[0].lower()]
    assert len(counted) >= 12
    for statement, parameters in counted:
        plan = (
            db.session.connection()
            .exec_driver_sql("EXPLAIN QUERY PLAN " + statement, tuple(parameters))
            .all()
        )
        scans = [row[3] for row in plan if row[3].startswith("SCAN dossier")]
        assert not scans, f"{statement}: {scans}"
