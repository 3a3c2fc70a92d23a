"""The access-control matrix: every route of both apps, as anonymous and as each role, gets
exactly what the README's matrix says. A route added without an entry here fails the test."""

import pytest

from wardapp.dossiers.service import receive_dossier

from .conftest import PASSWORD, account, intake_data, make_hub

# Ward identities: anonymous, then the accounts of conftest.ACCOUNTS by role.
WARD_ROLES = {
    "anonymous": None,
    "receptionist": "letan",
    "officer": "chuyenvien",
    "leader": "lanhdao",
    "admin": "quantri",
}
DESK = {"receptionist", "officer", "leader", "admin"}
INTAKE = {"receptionist", "leader"}
STAFF = {"receptionist", "officer", "leader"}
# endpoint: (method, path, roles allowed); anonymous gets the login page (302), others 403.
WARD_MATRIX = {
    "dossiers.home": ("GET", "/", DESK),
    "dossiers.new": ("GET", "/dossiers/new", INTAKE),
    "dossiers.create": ("POST", "/dossiers", INTAKE),
    "dossiers.procedure_options": ("GET", "/procedures/options?q=khai", INTAKE),
    "dossiers.procedure_documents": (
        "GET",
        "/procedures/documents?procedure_code=1.001193",
        INTAKE,
    ),
    "dossiers.show": ("GET", "/dossiers/{code}", DESK),
    # a withdrawal at the desk, on a dossier the receptionist holds (which step, on whose
    # dossier: test_step_permissions.py, over lifecycle.PERMISSIONS)
    "dossiers.step": ("POST", "/dossiers/{code}/steps/withdrawn", {"receptionist", "leader"}),
    "dossiers.work_list": ("GET", "/worklists/today", DESK),
    "dossiers.search": ("GET", "/search?q=nguyen", DESK),
    "dossiers.logbook": ("GET", "/logbook", DESK),
    "dossiers.print_form": ("GET", "/dossiers/{code}/print/01", DESK),
    "sync.panel": ("GET", "/sync/", {"leader", "admin"}),
    # "Đồng bộ ngay" (this ward has no hub configured: refused, no run) and its progress
    "sync.run_now": ("POST", "/sync/run", {"leader", "admin"}),
    "sync.run_status": ("GET", "/sync/run", {"leader", "admin"}),
    "sync.footer_line": ("GET", "/sync/footer", DESK),
    "audit.trail": ("GET", "/audit/", {"leader", "admin"}),
    "dossiers.prefill": (
        "GET",
        "/dossiers/prefill?citizen_id=089095001234&prefill_consent=1",
        INTAKE,
    ),
    "letters.issue": ("POST", "/dossiers/{resolved}/letter", STAFF),
    "letters.print_letter": ("GET", "/dossiers/{lettered}/letter", DESK),
    "ratings.paper": ("GET", "/ratings/paper", STAFF),
    "feedback.index": ("GET", "/feedback/?list=overdue", DESK),
    "feedback.new": ("GET", "/feedback/new", STAFF),
    "feedback.create": ("POST", "/feedback/", STAFF),
    "feedback.show": ("GET", "/feedback/{feedback}", DESK),
    "feedback.assign": ("POST", "/feedback/{feedback}/assign", {"leader"}),
    "feedback.answer": ("POST", "/feedback/{feedback}/answer", {"officer", "leader"}),
    "inspections.index": ("GET", "/inspections/", {"officer", "leader"}),
    "inspections.create": ("POST", "/inspections/", {"officer", "leader"}),
    "inspections.show": ("GET", "/inspections/{inspection}", {"officer", "leader"}),
    "inspections.save": ("POST", "/inspections/{inspection}", {"officer", "leader"}),
    "inspections.correct": ("POST", "/inspections/{submitted}/correct", {"officer", "leader"}),
    "accounts.index": ("GET", "/accounts/", {"admin"}),
    "accounts.create": ("POST", "/accounts/", {"admin"}),
    "accounts.change": ("POST", "/accounts/{officer}/enable", {"admin"}),
}
# What each POST sends (a valid request, so an allowed role gets through to a redirect).
POST_DATA = {
    "dossiers.create": lambda ids: intake_data(),
    "dossiers.step": lambda ids: {"reason": "Công dân xin rút"},
    "feedback.create": lambda ids: {
        "channel": "phone",
        "sender_name": "Lê Thị Lan",
        "subject": "Thời hạn",
        "content": "Đề nghị rút ngắn.",
        "regulation": "Thủ tục đăng ký khai sinh",
    },
    "feedback.assign": lambda ids: {"assignee_uuid": ids["officer"]},
    "feedback.answer": lambda ids: {"answer": "Đã tiếp thu."},
    "inspections.create": lambda ids: {"plan": "Năm 2099"},
    "inspections.save": lambda ids: {"action": "save"},
    "accounts.create": lambda ids: {
        "username": "moi",
        "full_name": "Cán bộ mới",
        "roles": "officer",
    },
}
# The kiosk takes no login, for anyone: its page, and a rating (refused here: no fields).
WARD_KIOSK = {
    "kiosk.start": ("GET", "/kiosk/", 200),
    "kiosk.rate": ("POST", "/kiosk/", 422),
    "kiosk.elsewhere": ("GET", "/kiosk/khong-co", 404),
}
# Routes open to everyone, and the token-only API (a browser session is not enough).
WARD_OPEN = {
    "auth.login": ("GET", "/auth/login"),
    "static": ("GET", "/static/app.js"),
    "favicon": ("GET", "/favicon.ico"),
    "api.openapi": ("GET", "/api/v1/openapi.json"),
}
WARD_LOGGED = {
    "auth.password": ("GET", "/auth/password"),
    "auth.logout": ("POST", "/auth/logout"),
    "auth.logout_everywhere": ("POST", "/auth/logout-everywhere"),
}
WARD_TOKEN_ONLY = {
    "api.procedures": ("GET", "/api/v1/procedures"),
    "api.create_dossier": ("POST", "/api/v1/dossiers"),
    "api.get_dossier": ("GET", "/api/v1/dossiers/{code}"),
    "api.add_event": ("POST", "/api/v1/dossiers/{code}/events"),
}


def request(client, method, path, ids, endpoint=None):
    path = path.format(**ids)
    if method == "GET":
        return client.get(path)
    return client.post(path, data=POST_DATA[endpoint](ids) if endpoint in POST_DATA else {})


def records(app) -> dict:
    """One of each record a route may name: an open dossier, a resolved one with and without
    its letter, a feedback, a draft and a submitted self-inspection."""
    from wardapp.dossiers.service import record_step
    from wardapp.feedback.service import receive_feedback
    from wardapp.inspections.service import start_inspection, submit_inspection
    from wardapp.letters.service import issue_letter
    from wardapp.sync.records import INSPECTION_CONTENTS

    app.config["CHAIRMAN_NAME"] = "Nguyễn Văn Chủ"
    officer, leader = account("chuyenvien"), account("lanhdao")
    ids = {"officer": officer.uuid}
    ids["code"] = receive_dossier(intake_data(), actor=account("letan"))[0].code
    for name in ("resolved", "lettered"):
        ids[name] = receive_dossier(intake_data(), actor=account("letan"))[0].code
        record_step(ids[name], "resolved", actor=leader)
    issue_letter(ids["lettered"], actor=officer)
    ids["feedback"] = receive_feedback(POST_DATA["feedback.create"](ids), actor=officer).uuid
    ids["inspection"] = start_inspection("Năm 2024", actor=officer).uuid
    ids["submitted"] = start_inspection("Năm 2023", actor=officer).uuid
    submit_inspection(
        ids["submitted"], {f"rating_{c}": "pass" for c in INSPECTION_CONTENTS}, actor=leader
    )
    return ids


def test_every_ward_route_is_in_the_matrix(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert endpoints == set(WARD_MATRIX) | set(WARD_OPEN) | set(WARD_LOGGED) | set(
        WARD_TOKEN_ONLY
    ) | set(WARD_KIOSK)


@pytest.mark.parametrize("role", list(WARD_ROLES))
@pytest.mark.parametrize("endpoint", list(WARD_MATRIX))
def test_ward_matrix(app, client, role, endpoint):
    ids = records(app)
    if WARD_ROLES[role]:
        client.post("/auth/login", data={"username": WARD_ROLES[role], "password": PASSWORD})
    method, path, allowed = WARD_MATRIX[endpoint]
    response = request(client, method, path, ids, endpoint)
    if role == "anonymous":
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    elif role in allowed:
        assert response.status_code in (200, 302), response.status_code
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", list(WARD_ROLES))
def test_ward_open_logged_and_token_routes(app, client, role):
    dossier, _ = receive_dossier(intake_data(), actor=account("letan"))
    ids = {"code": dossier.code}
    if WARD_ROLES[role]:
        client.post("/auth/login", data={"username": WARD_ROLES[role], "password": PASSWORD})
    for method, path in WARD_OPEN.values():
        with request(client, method, path, ids) as response:
            assert response.status_code in (200, 302)
    for method, path, status in WARD_KIOSK.values():
        assert request(client, method, path, ids).status_code == status
    for method, path in WARD_TOKEN_ONLY.values():
        assert request(client, method, path, ids).status_code == 401
    for endpoint, (method, path) in WARD_LOGGED.items():
        status = 200 if role != "anonymous" and method == "GET" else 302
        assert request(client, method, path, ids, endpoint).status_code == status, endpoint


HUB_ROLES = {"anonymous": None, "viewer": "xem", "admin": "quantri"}
HUB_MATRIX = {
    "index": ("GET", "/", {"anonymous", "viewer", "admin"}),  # a redirect to the reports
    "reports.overview": ("GET", "/reports/?period=2025-11", {"viewer", "admin"}),
    "reports.ward": ("GET", "/reports/ward/30280?period=2025-11", {"viewer", "admin"}),
    "reports.dossiers": (
        "GET",
        "/reports/dossiers?period=2025-11&indicator=received",
        {"viewer", "admin"},
    ),
    "reports.dossiers_export": (
        "GET",
        "/reports/dossiers.xlsx?period=2025-11&indicator=received",
        {"viewer", "admin"},
    ),
    "reports.export_table": ("GET", "/reports/export.csv?period=2025-11", {"viewer", "admin"}),
    "reports.chart": ("GET", "/reports/chart/on-time.svg?period=2025-11", {"viewer", "admin"}),
    "admin.wards": ("GET", "/admin/wards", {"admin"}),
    "admin.quarantine": ("GET", "/admin/wards/30280/quarantine", {"admin"}),
    "admin.refdata": ("GET", "/admin/refdata", {"admin"}),
    "admin.register": ("POST", "/admin/wards", {"admin"}),  # no unit named: refused, back
    "admin.issue": ("POST", "/admin/wards/30280/credential", {"admin"}),
    "admin.revoke": ("POST", "/admin/wards/30280/revoke", {"admin"}),
    "accounts.index": ("GET", "/accounts/", {"admin"}),
    "accounts.create": ("POST", "/accounts/", {"admin"}),  # nothing typed: refused (422)
    "accounts.change": ("POST", "/accounts/1/enable", {"admin"}),
    "auth.password": ("GET", "/auth/password", {"viewer", "admin"}),
    "inspections.index": ("GET", "/inspections/", {"viewer", "admin"}),
    "inspections.record": ("POST", "/inspections/", {"admin"}),
    "auth.login": ("GET", "/auth/login", {"anonymous", "viewer", "admin"}),
    "auth.logout": ("POST", "/auth/logout", {"viewer", "admin"}),
    "auth.logout_everywhere": ("POST", "/auth/logout-everywhere", {"viewer", "admin"}),
    "static": ("GET", "/static/css/app.css", {"anonymous", "viewer", "admin"}),
    "favicon": ("GET", "/favicon.ico", {"anonymous", "viewer", "admin"}),
    "sync.openapi": ("GET", "/api/sync/v1/openapi.json", {"anonymous", "viewer", "admin"}),
}
HUB_TOKEN_ONLY = {
    "sync.hello": ("POST", "/api/sync/v1/hello"),
    "sync.push": ("POST", "/api/sync/v1/push"),
    "sync.refdata": ("GET", "/api/sync/v1/refdata"),
    "sync.reconcile": ("GET", "/api/sync/v1/reconcile"),
    "sync.records": ("GET", "/api/sync/v1/records?table=dossier"),
}


@pytest.fixture
def hub_app(tmp_path):
    from city_hub.extensions import db as hub_db
    from city_hub.models import HubUser

    app, _ = make_hub(tmp_path / "hub", WTF_CSRF_ENABLED=False)
    with app.app_context():
        for username, role in (("xem", "viewer"), ("quantri", "admin")):
            user = HubUser(username=username, full_name=username, role=role)
            user.set_password(PASSWORD)
            hub_db.session.add(user)
        hub_db.session.commit()
    yield app
    with app.app_context():
        hub_db.engine.dispose()


def test_every_hub_route_is_in_the_matrix(hub_app):
    endpoints = {r.endpoint for r in hub_app.url_map.iter_rules()}
    assert endpoints == set(HUB_MATRIX) | set(HUB_TOKEN_ONLY)


@pytest.mark.parametrize("role", list(HUB_ROLES))
def test_hub_matrix(hub_app, role):
    client = hub_app.test_client()
    if HUB_ROLES[role]:
        client.post("/auth/login", data={"username": HUB_ROLES[role], "password": PASSWORD})
    for endpoint, (method, path, allowed) in HUB_MATRIX.items():
        with client.get(path) if method == "GET" else client.post(path) as response:
            if role in allowed:
                assert response.status_code in (200, 302, 422), endpoint
                if method == "GET" and endpoint.startswith(("reports.", "admin.")):
                    assert response.status_code == 200, endpoint
            elif role == "anonymous":
                assert response.status_code == 302, endpoint
                assert "/auth/login" in response.headers["Location"], endpoint
            else:
                assert response.status_code == 403, endpoint
    for method, path in HUB_TOKEN_ONLY.values():
        response = client.get(path) if method == "GET" else client.post(path)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "UNAUTHORIZED"
