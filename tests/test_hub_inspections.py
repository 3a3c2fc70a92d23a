"""The hub's inspection page: wards that have not submitted a self-inspection stand out, and the
admin records the city's direct inspections (bad input refused, nothing written)."""

import sqlalchemy as sa

from .conftest import PASSWORD
from .test_access import hub_app  # noqa: F401  (the fixture: a hub with a viewer and an admin)

DIRECT = {
    "ward_code": "30280",
    "plan": "Kế hoạch 12/KH-UBND",
    "inspected_on": "2025-11-20",
    "rating": "pass",
    "findings": "Niêm yết thủ tục đầy đủ; còn đi trễ.",
}


def login(app, username):
    client = app.test_client()
    client.post("/auth/login", data={"username": username, "password": PASSWORD})
    return client


def direct_inspections(app):
    from city_hub.extensions import db
    from city_hub.models import CityInspection

    with app.app_context():
        rows = db.session.scalars(sa.select(CityInspection)).all()
        db.session.remove()
        return rows


def test_admin_records_a_direct_inspection(hub_app):  # noqa: F811
    viewer = login(hub_app, "xem")
    page = viewer.get("/inspections/").get_data(as_text=True)
    assert "Chưa nộp bản tự kiểm tra nào." in page and "Ghi kết quả" not in page
    assert viewer.post("/inspections/", data=DIRECT).status_code == 403
    admin = login(hub_app, "quantri")
    assert admin.post("/inspections/", data=DIRECT).status_code == 302
    page = admin.get("/inspections/").get_data(as_text=True)
    assert "Kế hoạch 12/KH-UBND" in page and "còn đi trễ" in page and "20/11/2025" in page
    [recorded] = direct_inspections(hub_app)
    assert (recorded.ward_code, recorded.rating, recorded.recorded_by) == (
        "30280",
        "pass",
        "quantri",
    )


def test_bad_direct_inspection_is_refused(hub_app):  # noqa: F811
    admin = login(hub_app, "quantri")
    response = admin.post(
        "/inspections/",
        data={**DIRECT, "ward_code": "99999", "inspected_on": "20/11", "rating": "A+"},
        follow_redirects=True,
    )
    text = response.get_data(as_text=True)
    assert "Chưa ghi kết quả kiểm tra" in text and "chọn đơn vị" in text
    assert "ngày kiểm tra hợp lệ" in text and "kết quả đánh giá" in text
    assert direct_inspections(hub_app) == []
