"""Odd query values against every GET route of both apps: an answer below 500, never a traceback.

The routes come from the apps' URL maps (a route added without an entry in ``WARD_ARGS`` or
``HUB_ARGS`` fails ``test_every_get_route_has_its_arguments``), and the query arguments each
route reads are recorded while it answers a valid request: a route that reads an argument its
entry does not name fails too, so no argument escapes the odd values.
"""

from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import quote

import pytest
import requests
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.utils import cached_property

from wardapp.api import issue_token
from wardapp.dossiers.queries import WORK_LISTS

from .conftest import PASSWORD, WARD, LiveServer, account, make_hub
from .test_access import (
    HUB_MATRIX,
    HUB_ROLES,
    HUB_TOKEN_ONLY,
    WARD_KIOSK,
    WARD_LOGGED,
    WARD_MATRIX,
    WARD_OPEN,
    WARD_ROLES,
    WARD_TOKEN_ONLY,
    records,
)

# Sent raw in the query string (already percent-encoded): a byte that is not UTF-8, and a lone
# surrogate written as UTF-8 would write it.
RAW = {"%ff", "%ED%A0%80"}
ODD = [
    "1" * 20,
    "-1",
    "0",
    "0000",
    "9999",
    "9999-12",
    "0001-01-01",
    "9999-12-31",
    "\x00",
    "a" * 5000,
    "%ff",
    "%ED%A0%80",
    "../..",
    "<script>",
    "-" + "9" * 20,
    "2025-13-45",
    "9999-Q4",
    "0000-9M",
    " ",
    "",
]
PERIOD = {"period": "2025-11", "from": "2025-11-01", "to": "2025-11-30"}
REPORT = {**PERIOD, "map": "today"}  # a report's period and the map it is drawn on

# endpoint: (path with {ids}, {argument: a valid value}); GET routes only.
WARD_ARGS = {
    "dossiers.home": ("/", {}),
    "dossiers.new": ("/dossiers/new", {}),
    "dossiers.procedure_options": ("/procedures/options", {"q": "khai"}),
    "dossiers.procedure_documents": ("/procedures/documents", {"procedure_code": "1.001193"}),
    "dossiers.prefill": (
        "/dossiers/prefill",
        {
            "citizen_id": "089095001234",
            "prefill_consent": "1",
            "procedure_code": "1.001193",
            "documents": "Tờ khai đăng ký khai sinh",
            "applicant_name": "Nguyễn Văn Đức",
            "sets_count": "1",
            "channel": "desk",
            "return_method": "desk",
        },
    ),
    "dossiers.show": ("/dossiers/{code}", {}),
    "dossiers.work_list": (
        "/worklists/{work_list}",
        {
            "page": "1",
            "procedure": "1.001193",
            "status": "4",
            "channel": "desk",
            "from": "2020-01-01",
            "to": "2020-12-31",
            "sort": "due",
        },
    ),
    "favicon": ("/favicon.ico", {}),
    "dossiers.search": ("/search", {"q": "nguyen"}),
    "dossiers.logbook": ("/logbook", {"from": "2025-11-01", "to": "2025-11-30"}),
    "dossiers.print_form": ("/dossiers/{code}/print/{form}", {}),
    "sync.panel": ("/sync/", {}),
    "sync.run_status": ("/sync/run", {}),
    "sync.footer_line": ("/sync/footer", {}),
    "audit.trail": ("/audit/", {}),
    "letters.print_letter": ("/dossiers/{lettered}/letter", {}),
    "ratings.paper": ("/ratings/paper", {}),
    "feedback.index": ("/feedback/", {"list": "overdue", "page": "1"}),
    "feedback.new": ("/feedback/new", {}),
    "feedback.show": ("/feedback/{feedback}", {}),
    "inspections.index": ("/inspections/", {}),
    "inspections.show": ("/inspections/{inspection}", {}),
    "kiosk.start": ("/kiosk/", {"code": "{code}"}),
    "kiosk.elsewhere": ("/kiosk/{rest}", {}),
    "auth.login": ("/auth/login", {}),
    "auth.password": ("/auth/password", {}),
    "accounts.index": ("/accounts/", {}),
    "static": ("/static/{filename}", {}),
    "api.openapi": ("/api/v1/openapi.json", {}),
    "api.procedures": ("/api/v1/procedures", {}),
    "api.get_dossier": ("/api/v1/dossiers/{code}", {}),
}
# Routes that read every argument they are given (the writing desk copies them into the form).
WHOLE_ARGS = {"dossiers.prefill"}
HUB_ARGS = {
    "index": ("/", {}),
    "reports.overview": ("/reports/", {**REPORT, "field": "Hộ tịch"}),  # kept by the form
    "reports.ward": ("/reports/ward/{ward}", {**REPORT, "field": "Hộ tịch"}),
    "reports.dossiers": (
        "/reports/dossiers",
        {
            **REPORT,
            "indicator": "received",
            "ward": WARD,
            "field": "Hộ tịch",
            "procedure": "1.001193",
            "page": "2",
        },
    ),
    "reports.dossiers_export": (
        "/reports/dossiers.{fmt}",
        {
            **REPORT,
            "indicator": "received",
            "ward": WARD,
            "field": "Hộ tịch",
            "procedure": "1.001193",
        },
    ),
    "reports.export_table": ("/reports/export.{fmt}", REPORT),
    "reports.chart": ("/reports/chart/{chart}.svg", {**REPORT, "ward": WARD}),
    "admin.wards": ("/admin/wards", {}),
    "admin.quarantine": ("/admin/wards/{ward}/quarantine", {"page": "1"}),
    "admin.refdata": ("/admin/refdata", {}),
    "inspections.index": ("/inspections/", {}),
    "auth.login": ("/auth/login", {}),
    "auth.password": ("/auth/password", {}),
    "accounts.index": ("/accounts/", {}),
    "static": ("/static/{filename}", {}),
    "favicon": ("/favicon.ico", {}),
    "sync.openapi": ("/api/sync/v1/openapi.json", {}),
    "sync.refdata": ("/api/sync/v1/refdata", {"have": "1"}),
    "sync.reconcile": ("/api/sync/v1/reconcile", {}),
    "sync.records": ("/api/sync/v1/records", {"table": "dossier", "limit": "10", "after": ""}),
}
# Every value a path placeholder takes besides the odd ones: each work list, form, chart...
WARD_PATHS = {
    "work_list": list(WORK_LISTS),
    "form": ["01", "02", "03", "04", "05", "viet-ho"],
    "rest": ["khong-co"],
    "filename": ["app.js"],
}
HUB_PATHS = {
    "ward": [WARD, "30283"],
    "fmt": ["csv", "xlsx", "json"],
    "chart": ["on-time", "ranking", "channels"],
    "filename": ["css/app.css"],
}


class Recording(ImmutableMultiDict):
    """Query arguments that note each name a view reads (``*`` when it reads them all)."""

    reads: set[str] | None = None

    def _note(self, key):
        if Recording.reads is not None:
            Recording.reads.add(key)

    def get(self, key, default=None, type=None):
        self._note(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        self._note(key)
        return super().getlist(key, type)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def to_dict(self, flat=True):
        self._note("*")
        return super().to_dict(flat)

    def items(self, multi=False):
        self._note("*")
        return super().items(multi)

    def lists(self):
        self._note("*")
        return super().lists()


def record_reads(app) -> None:
    class RecordingRequest(app.request_class):
        @cached_property
        def args(self):
            return Recording(super().args.items(multi=True))

    app.request_class = RecordingRequest


def query(args: dict[str, list[str]]) -> str:
    return "&".join(
        f"{quote(k)}={v if v in RAW else quote(v)}" for k, values in args.items() for v in values
    )


def variants(valid: dict[str, str]):
    """Query arguments to send: every argument odd at once; each one odd alone, odd among the
    valid others, and given twice (valid, then odd)."""
    for odd in ODD:
        if not valid:
            yield {"odd": [odd]}  # an argument nobody reads is harmless too
            continue
        yield {k: [odd] for k in valid}
        for name in valid:
            yield {name: [odd]}
            yield {**{k: [v] for k, v in valid.items()}, name: [odd]}
            yield {**{k: [v] for k, v in valid.items()}, name: [valid[name], odd]}


def paths(template: str, ids: dict, choices: dict[str, list[str]]):
    """The path with its placeholders filled by real values, then each placeholder odd."""
    names = [n for n in ids | choices if "{" + n + "}" in template]
    real = {n: (choices.get(n) or [ids[n]])[0] for n in names}
    yield template.format(**real)
    for name in names:
        for value in (choices.get(name) or [ids[name]])[1:]:
            yield template.format(**{**real, name: value})
    for name in names:
        for odd in ODD:
            # A raw value stays raw; others are quoted ("/" too, so "../.." stays in one segment).
            yield template.format(**{**real, name: odd if odd in RAW else quote(odd, safe="")})


def attack(client, endpoint, template, valid, ids, choices, headers=None) -> list[str]:
    """Send every odd path and query; the list of what answered 500 or showed a traceback."""
    failures = []
    valid = {k: v.format(**ids) for k, v in valid.items()}

    def send(path, args):
        try:
            with client.get(path, query_string=query(args), headers=headers) as response:
                body = response.get_data()
                if response.status_code >= 500 or b"Traceback" in body:
                    failures.append(
                        f"{endpoint} {path[:80]} {str(args)[:120]}: {response.status_code}"
                    )
        except Exception as e:  # TESTING propagates the error a browser would see as a 500
            failures.append(f"{endpoint} {path[:80]} {str(args)[:120]}: {e!r:.200}")

    good_path = next(paths(template, ids, choices))
    Recording.reads = set()
    send(good_path, {k: [v] for k, v in valid.items()})
    reads, Recording.reads = Recording.reads, None
    unlisted = reads - set(valid) - ({"*"} if endpoint in WHOLE_ARGS else set())
    assert not unlisted, f"{endpoint} reads {unlisted}: add them to its entry"
    for path in list(paths(template, ids, choices))[1:]:
        send(path, {k: [v] for k, v in valid.items()})
    for args in variants(valid):
        send(good_path, args)
    return failures


def test_every_get_route_has_its_arguments(app, tmp_path):
    ward_get = {r.endpoint for r in app.url_map.iter_rules() if "GET" in r.methods}
    assert ward_get == set(WARD_ARGS)
    hub, _ = make_hub(tmp_path / "hub")
    assert {r.endpoint for r in hub.url_map.iter_rules() if "GET" in r.methods} == set(HUB_ARGS)


def ward_roles(endpoint: str) -> set[str]:
    if endpoint in WARD_MATRIX:
        return WARD_MATRIX[endpoint][2]
    if endpoint in WARD_KIOSK or endpoint in WARD_OPEN:
        return {"anonymous"}
    assert endpoint in WARD_TOKEN_ONLY or endpoint in WARD_LOGGED, endpoint
    return {"token"}


@pytest.mark.parametrize("role", [*WARD_ROLES, "token"])
def test_odd_ward_queries(app, client, role):
    record_reads(app)
    ids = records(app)
    headers = None
    if role == "token":
        headers = {"Authorization": f"Bearer {issue_token(account('letan'), 'Cổng DVC')}"}
    elif WARD_ROLES[role]:
        client.post("/auth/login", data={"username": WARD_ROLES[role], "password": PASSWORD})
    failures = []
    for endpoint, (template, valid) in WARD_ARGS.items():
        if role in ward_roles(endpoint):
            failures += attack(client, endpoint, template, valid, ids, WARD_PATHS, headers)
    assert not failures, f"{len(failures)} answers of 500:\n" + "\n".join(failures[:60])


@pytest.fixture
def odd_hub(tmp_path, hub_database_url):
    from city_hub.extensions import db as hub_db
    from city_hub.models import HubUser

    app, tokens = make_hub(
        tmp_path / "hub",
        wards=(WARD, "30283"),
        database_url=hub_database_url,
        WTF_CSRF_ENABLED=False,
    )
    with app.app_context():
        for username, role in (("xem", "viewer"), ("quantri", "admin")):
            user = HubUser(username=username, full_name=username, role=role)
            user.set_password(PASSWORD)
            hub_db.session.add(user)
        hub_db.session.commit()
    app.tokens = tokens
    yield app
    with app.app_context():
        hub_db.session.remove()
        hub_db.engine.dispose()


@pytest.mark.parametrize("role", [*HUB_ROLES, "token"])
def test_odd_hub_queries(odd_hub, role):
    record_reads(odd_hub)
    client = odd_hub.test_client()
    headers = None
    if role == "token":
        headers = {"Authorization": f"Bearer {odd_hub.tokens[WARD]}"}
    elif HUB_ROLES[role]:
        client.post("/auth/login", data={"username": HUB_ROLES[role], "password": PASSWORD})
    failures = []
    for endpoint, (template, valid) in HUB_ARGS.items():
        allowed = {"token"} if endpoint in HUB_TOKEN_ONLY else HUB_MATRIX[endpoint][2]
        if role in allowed:
            failures += attack(client, endpoint, template, valid, {}, HUB_PATHS, headers)
    assert not failures, f"{len(failures)} answers of 500:\n" + "\n".join(failures[:60])


class HttpClient:
    """What :func:`attack` needs of a test client, over real HTTP to a waitress server (the
    bytes of an odd query pass through waitress's parsing too)."""

    def __init__(self, url: str):
        self.url, self.session = url, requests.Session()

    def post(self, path: str, data: dict):
        return self.session.post(self.url + path, data=data, allow_redirects=False)

    @contextmanager
    def get(self, path: str, query_string: str = "", headers=None):
        response = self.session.get(
            f"{self.url}{path}?{query_string}", headers=headers, allow_redirects=False
        )
        response.get_data = lambda: response.content
        yield response


def test_odd_queries_over_http(app, odd_hub):
    """The leader at the ward and the admin at the hub open every page of their app: both
    attacked through real servers."""
    record_reads(app)
    record_reads(odd_hub)
    ids = records(app)
    failures = []
    with LiveServer(app) as ward_url, LiveServer(odd_hub) as hub_url:
        ward = HttpClient(ward_url)
        ward.post("/auth/login", {"username": "lanhdao", "password": PASSWORD})
        for endpoint, (template, valid) in WARD_ARGS.items():
            if "leader" in ward_roles(endpoint):
                failures += attack(ward, endpoint, template, valid, ids, WARD_PATHS)
        hub = HttpClient(hub_url)
        hub.post("/auth/login", {"username": "quantri", "password": PASSWORD})
        for endpoint, (template, valid) in HUB_ARGS.items():
            if endpoint not in HUB_TOKEN_ONLY and "admin" in HUB_MATRIX[endpoint][2]:
                failures += attack(hub, endpoint, template, valid, {}, HUB_PATHS)
    assert not failures, f"{len(failures)} answers of 500:\n" + "\n".join(failures[:60])


def test_ward_clamps_or_explains(client):
    """A page number past any list is the empty last page; a date outside 2000-2100 leaves the
    logbook on this month with the reason; an unknown list is a 400 that names it."""
    client.post("/auth/login", data={"username": "lanhdao", "password": PASSWORD})
    assert client.get("/worklists/today?page=" + "9" * 20).status_code == 200
    assert client.get("/feedback/?page=-1").status_code == 200
    logbook = client.get("/logbook?from=0001-01-01&to=9999-12-31")
    assert logbook.status_code == 200
    assert (
        "Ngày bắt đầu phải trong khoảng từ năm 2000 đến năm 2100. Đang hiển thị tháng này."
        in logbook.text
    )
    unknown = client.get("/feedback/?list=khac")
    assert unknown.status_code == 400 and "Danh sách phản ánh không hợp lệ." in unknown.text


HUB_EXPLAINED = [
    ("/reports/?period=9999", 400, "Năm phải trong khoảng từ năm 2000 đến năm 2100."),
    ("/reports/?period=0000-Q1", 400, "Năm phải trong khoảng từ năm 2000 đến năm 2100."),
    (
        "/reports/export.csv?from=9999-12-30&to=9999-12-31",
        400,
        "Ngày bắt đầu phải trong khoảng từ năm 2000 đến năm 2100.",
    ),
    (
        "/reports/chart/on-time.svg?from=2025-11-01&to=2025-11-31",
        400,
        "Ngày kết thúc không hợp lệ (định dạng yyyy-mm-dd).",
    ),
    ("/reports/dossiers?period=2025-11&indicator=on_time_rate", 400, "Chỉ tiêu không hợp lệ."),
    ("/reports/dossiers?period=2025-11&indicator=received&ward=%00", 404, "Không có đơn vị này."),
]


@pytest.mark.parametrize(
    "query, status, message", HUB_EXPLAINED, ids=[query for query, _, _ in HUB_EXPLAINED]
)
def test_hub_explains(odd_hub, query, status, message):
    client = odd_hub.test_client()
    client.post("/auth/login", data={"username": "xem", "password": PASSWORD})
    response = client.get(query)
    assert response.status_code == status and message in response.text


@pytest.mark.parametrize(
    "args",
    [
        ["--period", "9999"],
        ["--period", "0000-12"],
        ["--from", "0001-01-01", "--to", "0001-01-02"],
        ["--from", "2025-11-01", "--to", "9999-12-31"],
    ],
)
def test_hub_cli_report_refuses_the_same_periods(tmp_path, args):
    from click.testing import CliRunner

    from city_hub.cli import cli as hub_cli

    result = CliRunner().invoke(hub_cli, ["report", *args, "--instance", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "phải trong khoảng từ năm 2000 đến năm 2100." in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
