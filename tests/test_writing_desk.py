"""The "no-appointment day" and the writing desk: same-day dossiers marked on return and counted
on the home page, forms prefilled from the citizen's earlier dossiers only with consent, and the
written form printed for signature."""

from wardapp.dossiers.service import receive_dossier, record_step

from .conftest import account, intake_data
from .test_reports import at


def test_same_day_is_marked_on_return_and_counted_today(app, client, auth):
    clerk, leader = account("letan"), account("lanhdao")  # the leader needs no hand-over
    today, _ = receive_dossier(intake_data(), actor=clerk)  # a same-day birth registration
    record_step(today.code, "resolved", actor=leader)
    record_step(today.code, "returned", actor=clerk)
    assert today.same_day
    marital, _ = receive_dossier(intake_data(procedure_code="1.004873"), actor=clerk)
    record_step(marital.code, "resolved", actor=leader)
    record_step(marital.code, "returned", actor=clerk)
    assert not marital.same_day  # a three-day procedure is never "không hẹn"
    earlier, _ = receive_dossier(intake_data(), actor=clerk, now=at("2025-11-03 09:00"))
    record_step(earlier.code, "resolved", actor=leader, now=at("2025-11-03 10:00"))
    record_step(earlier.code, "returned", actor=clerk)  # came back for it another day
    assert not earlier.same_day
    auth.login()
    page = client.get("/").get_data(as_text=True)
    assert 'class="value">1</span><span class="label">Trả ngay trong ngày' in page


def test_intake_records_the_writing_desk_and_prints_the_form(app, client, auth):
    auth.login()
    response = client.post("/dossiers", data=intake_data(writing_assist="1", prefill_consent="1"))
    assert response.status_code == 302
    code = response.headers["Location"].rsplit("/", 1)[1]
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert "Tờ khai do Bàn viết hộ điền" in page
    form = client.get(f"/dossiers/{code}/print/viet-ho").get_data(as_text=True)
    # a birth registration: its own form (tests/test_application_forms.py)
    assert "Tờ khai đăng ký khai sinh" in form and "CÁN BỘ VIẾT HỘ" in form
    assert "Nguyễn Văn Đức" in form
    assert "với sự đồng ý của công dân" in form
    plain = client.post("/dossiers", data=intake_data()).headers["Location"].rsplit("/", 1)[1]
    assert client.get(f"/dossiers/{plain}/print/viet-ho").status_code == 404


def test_prefill_needs_consent_and_matches_the_citizen_id(app, client, auth):
    receive_dossier(
        intake_data(
            applicant_name="Võ Thị Sáu", phone="0987654321", address="Khóm 5, phường Mỹ Bình"
        ),
        actor=account("letan"),
    )
    auth.login()
    query = {"citizen_id": "089095001234", "applicant_name": ""}
    refused = client.get("/dossiers/prefill", query_string=query).get_data(as_text=True)
    assert "Cần công dân đồng ý" in refused and "Võ Thị Sáu" not in refused
    filled = client.get("/dossiers/prefill", query_string={**query, "prefill_consent": "1"})
    text = filled.get_data(as_text=True)
    assert filled.status_code == 200 and "Võ Thị Sáu" in text and "0987654321" in text
    assert "Khóm 5, phường Mỹ Bình" in text and "Đã điền từ hồ sơ" in text
    other = client.get(
        "/dossiers/prefill", query_string={"citizen_id": "079201009999", "prefill_consent": "1"}
    ).get_data(as_text=True)
    assert "Không có hồ sơ trước" in other and "Võ Thị Sáu" not in other


def test_bad_writing_desk_flag_is_refused(app):
    import pytest

    from wardapp.dossiers.intake import DossierError

    with pytest.raises(DossierError) as refused:
        receive_dossier(intake_data(writing_assist="maybe"), actor=account("letan"))
    assert "writing_assist" in refused.value.fields
