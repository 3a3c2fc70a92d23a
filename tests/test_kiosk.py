"""Satisfaction ratings: the kiosk (no login, this ward's dossiers only, once per dossier, no
citizen data shown, no way to any other page) and paper forms keyed in by an official."""
import re

import pytest

from wardapp.dossiers.service import DossierError, receive_dossier
from wardapp.models import Rating
from wardapp.ratings.service import record_rating

from .conftest import account, intake_data
from .test_access import WARD_MATRIX

RATED = {"overall": "very_satisfied", "attitude": "satisfied", "timeliness": "satisfied",
         "guidance": "not_satisfied"}
CITIZEN = {"applicant_name": "Đặng Thị Hoa Mai", "citizen_id": "089185001234",
           "phone": "0939111222", "address": "Số 9 Trần Hưng Đạo, khóm Đông Thịnh"}
CITIZEN_DATA = ("Đặng Thị Hoa Mai", "089185001234", "0939111222", "Trần Hưng Đạo")


@pytest.fixture
def dossier(app):
    return receive_dossier(intake_data(**CITIZEN), actor=account("letan"))[0]


def test_kiosk_rates_once_and_shows_no_citizen_data(client, dossier):
    page = client.get(f"/kiosk/?code={dossier.code}").get_data(as_text=True)
    assert dossier.code in page and not any(item in page for item in CITIZEN_DATA)
    response = client.post("/kiosk/", data={"code": dossier.code.lower(), **RATED,
                                            "comment": "Cán bộ nhiệt tình."})
    assert response.status_code == 200 and "Cảm ơn" in response.get_data(as_text=True)
    rating = Rating.query.one()
    assert (rating.dossier_uuid, rating.channel, rating.desk) == (dossier.uuid, "kiosk", "Hộ tịch")
    assert rating.entered_by_uuid is None and rating.comment == "Cán bộ nhiệt tình."
    again = client.post("/kiosk/", data={"code": dossier.code, **RATED})
    text = again.get_data(as_text=True)
    assert again.status_code == 409 and "chỉ đánh giá một lần" in text
    assert not any(item in text for item in CITIZEN_DATA) and Rating.query.count() == 1


@pytest.mark.parametrize("code, message", [
    ("30283-251103-0001", "không phải của phường, xã nơi đặt máy"),  # Mỹ Long's dossier
    ("30280-990101-0001", "Không tìm thấy hồ sơ"),
    ("", "Vui lòng nhập mã hồ sơ"),
])
def test_kiosk_refuses_other_wards_and_unknown_codes(client, dossier, code, message):
    response = client.post("/kiosk/", data={"code": code, **RATED})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert Rating.query.count() == 0


def test_kiosk_refuses_missing_or_invented_levels(client, dossier):
    response = client.post("/kiosk/", data={"code": dossier.code, "overall": "excellent",
                                            "attitude": "satisfied", "comment": "x" * 1001})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and Rating.query.count() == 0
    assert "Mức độ hài lòng chung" in text and "Thời gian giải quyết hồ sơ" in text
    assert "dài quá 1000 ký tự" in text


def test_kiosk_leads_nowhere_else(client, dossier):
    for path in ("/kiosk/", f"/kiosk/?code={dossier.code}", "/kiosk/khong-co"):
        html = client.get(path).get_data(as_text=True)
        assert re.findall(r"<a\b", html) == [], path
        assert set(re.findall(r'action="([^"]*)"', html)) <= {"/kiosk/"}, path
        assert "Đăng xuất" not in html and "Tiếp nhận hồ sơ" not in html
    # Every desk screen needs a login, so from the kiosk's browser each is the login page.
    for endpoint, (method, path, _) in WARD_MATRIX.items():
        if method == "GET":
            response = client.get(path.format(code=dossier.code, resolved=dossier.code,
                                              lettered=dossier.code, feedback="x",
                                              inspection="x"))
            assert response.status_code == 302, endpoint
            assert "/auth/login" in response.headers["Location"], endpoint


def test_kiosk_is_bound_to_this_ward_even_for_a_known_dossier_of_another(app, dossier):
    """A dossier record of another ward in this database (never normal) cannot be rated here."""
    from wardapp.extensions import db

    dossier.ward_code = "30283"
    db.session.commit()
    with pytest.raises(DossierError):
        record_rating({"code": dossier.code, **RATED}, channel="kiosk")


def test_paper_form_keyed_in_by_an_official(client, auth, dossier):
    auth.login("letan")
    assert client.post("/ratings/paper", data=RATED).status_code == 302  # no code on the form
    assert client.post("/ratings/paper", data={"code": dossier.code, **RATED}).status_code == 302
    again = client.post("/ratings/paper", data={"code": dossier.code, **RATED})
    assert again.status_code == 409
    ratings = Rating.query.order_by(Rating.rated_at).all()
    assert [r.channel for r in ratings] == ["paper", "paper"]
    assert ratings[0].dossier_uuid is None and ratings[0].desk == "Không rõ quầy"
    assert ratings[1].entered_by_uuid == account("letan").uuid
    auth.logout()
    auth.login("quantri")
    assert client.get("/ratings/paper").status_code == 403


def test_receipt_slip_carries_the_kiosk_qr_code(app, client, auth, dossier):
    from wardapp.ratings.routes import kiosk_url

    auth.login("letan")
    slip = client.get(f"/dossiers/{dossier.code}/print/01").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in slip and "đánh giá mức độ hài lòng" in slip
    with app.test_request_context("/", base_url="http://10.0.0.5:8080"):
        assert kiosk_url(dossier.code) == f"http://10.0.0.5:8080/kiosk/?code={dossier.code}"
        app.config["KIOSK_URL"] = "http://mot-cua.lan/kiosk/"
        assert kiosk_url(dossier.code) == f"http://mot-cua.lan/kiosk/?code={dossier.code}"


def test_kiosk_form_needs_its_csrf_token(tmp_path):
    from .conftest import make_ward

    app = make_ward(tmp_path)  # CSRF on, as served
    with app.app_context():
        dossier, _ = receive_dossier(intake_data(), actor=account("letan"))
        response = app.test_client().post("/kiosk/", data={"code": dossier.code, **RATED})
        assert response.status_code == 400 and "hết hạn" in response.get_data(as_text=True)
        assert Rating.query.count() == 0
