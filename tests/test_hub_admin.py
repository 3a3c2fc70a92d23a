"""The hub admin's screens: ward sync state, and reference data edited then published."""

import pytest

from city_hub.extensions import db as hub_db
from city_hub.models import RefProcedure

from .conftest import PASSWORD, latest_refdata


def test_ward_sync_state_screen(hub_admin):
    app, client = hub_admin
    page = client.get("/admin/wards").text
    assert "30280" in page and "im lặng quá 24 giờ" in page


def test_override_published_as_a_new_snapshot(hub_admin):
    app, client = hub_admin
    response = client.post(
        "/admin/refdata",
        data={
            "action": "add_override",
            "day": "2026-12-31",
            "kind": "off",
            "reason": "Quyết định nghỉ bù của UBND tỉnh",
        },
        follow_redirects=True,
    )
    assert "Đã công bố danh mục phiên bản 2" in response.text
    version, body = latest_refdata(app)
    assert version == 2
    trail = client.get("/admin/wards").text
    assert "Công bố danh mục" in trail and "quantri" in trail and "ngày 31/12/2026" in trail
    assert body["calendar_overrides"] == [
        {"day": "2026-12-31", "is_working_day": False, "reason": "Quyết định nghỉ bù của UBND tỉnh"}
    ]
    client.post("/admin/refdata", data={"action": "remove_override", "day": "2026-12-31"})
    assert latest_refdata(app)[1]["calendar_overrides"] == []


def test_procedure_level_edit_reaches_the_report_table(hub_admin):
    app, client = hub_admin
    client.post(
        "/admin/refdata",
        data={
            "action": "procedure",
            "code": "2.000815",
            "online_level": "partial",
            "postal_allowed": "on",
        },
    )
    version, body = latest_refdata(app)
    entry = next(p for p in body["procedures"] if p["code"] == "2.000815")
    assert version == 2 and entry["online_level"] == "partial" and entry["postal_allowed"]
    with app.app_context():
        assert hub_db.session.get(RefProcedure, "2.000815").online_level == "partial"


@pytest.mark.parametrize(
    "form",
    [
        {"action": "add_override", "day": "31/12/2026", "kind": "off", "reason": "x"},
        {"action": "add_override", "day": "2026-12-31", "kind": "off", "reason": ""},
        {"action": "procedure", "code": "9.999999", "online_level": "full"},
        {"action": "procedure", "code": "2.000815", "online_level": "level5"},
        {"action": "remove_override", "day": "2026-01-01"},
        {"action": "drop"},
    ],
)
def test_bad_edits_publish_nothing(hub_admin, form):
    app, client = hub_admin
    response = client.post("/admin/refdata", data=form, follow_redirects=True)
    assert response.status_code == 200 and "Chưa công bố" in response.text
    assert latest_refdata(app)[0] == 1


def test_viewer_cannot_administer(hub_admin):
    app, _ = hub_admin
    viewer = app.test_client()
    viewer.post("/auth/login", data={"username": "xem", "password": PASSWORD})
    assert viewer.get("/reports/").status_code == 200
    assert viewer.get("/admin/wards").status_code == 403
    assert viewer.post("/admin/refdata", data={"action": "drop"}).status_code == 403
