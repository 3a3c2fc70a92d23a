"""Satisfaction ratings: the kiosk (no login, by the rating code printed on the receipt, this
ward's returned dossiers only, once per dossier, no citizen data shown, no way to any other page,
locked for an address that keeps typing wrong codes) and paper forms keyed in by an official."""

import html as htmllib
import itertools
import re

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from wardapp.dossiers.intake import DossierError
from wardapp.dossiers.service import receive_dossier, record_step
from wardapp.extensions import db
from wardapp.models import Outbox
from wardapp.rating_codes import ALPHABET, LENGTH, check_character, grouped, well_formed
from wardapp.ratings.service import record_rating
from wardapp.sync.records import Dossier, Rating

from .conftest import account, intake_data
from .test_access import WARD_MATRIX

RATED = {
    "overall": "very_satisfied",
    "attitude": "satisfied",
    "timeliness": "satisfied",
    "guidance": "not_satisfied",
}
CITIZEN = {
    "applicant_name": "Đặng Thị Hoa Mai",
    "citizen_id": "089185001234",
    "phone": "0939111222",
    "address": "Số 9 Trần Hưng Đạo, khóm Đông Thịnh",
}
CITIZEN_DATA = ("Đặng Thị Hoa Mai", "089185001234", "0939111222", "Trần Hưng Đạo")


@pytest.fixture
def dossier(app):
    return returned(receive_dossier(intake_data(**CITIZEN), actor=account("letan"))[0])


def returned(dossier):
    """The dossier, resolved and its result handed back: what a rating needs."""
    record_step(dossier.code, "resolved", actor=account("lanhdao"))
    record_step(dossier.code, "returned", actor=account("letan"))
    return dossier


def test_kiosk_rates_once_by_the_receipts_code_and_shows_no_citizen_data(client, dossier):
    page = client.get(f"/kiosk/?code={dossier.rating_code}").get_data(as_text=True)
    assert dossier.rating_code in page and not any(item in page for item in CITIZEN_DATA)
    typed = grouped(dossier.rating_code).lower()  # as printed, in small letters
    response = client.post(
        "/kiosk/", data={"code": typed, **RATED, "comment": "Cán bộ nhiệt tình."}
    )
    assert response.status_code == 200 and "Cảm ơn" in response.get_data(as_text=True)
    rating = Rating.query.one()
    assert (rating.dossier_uuid, rating.channel, rating.desk) == (dossier.uuid, "kiosk", "Hộ tịch")
    assert rating.entered_by_uuid is None and rating.comment == "Cán bộ nhiệt tình."
    again = client.post("/kiosk/", data={"code": dossier.rating_code, **RATED})
    text = again.get_data(as_text=True)
    assert again.status_code == 409 and "chỉ đánh giá một lần" in text
    assert not any(item in text for item in CITIZEN_DATA) and Rating.query.count() == 1


def test_guessing_sequential_dossier_codes_rates_nothing(client, dossier):
    """The attack of issue 14: dossier codes count up, so typing the next ones would rate other
    citizens' dossiers. Every one of them, returned and unrated, is refused."""
    others = [
        returned(receive_dossier(intake_data(), actor=account("letan"))[0]).code for _ in range(3)
    ]
    prefix, number = dossier.code.rsplit("-", 1)
    for n in range(int(number), int(number) + 5):
        response = client.post("/kiosk/", data={"code": f"{prefix}-{n:04d}", **RATED})
        assert response.status_code == 422
        assert "không nhận mã hồ sơ" in response.get_data(as_text=True)
    assert set(others) < {f"{prefix}-{n:04d}" for n in range(int(number), int(number) + 5)}
    assert Rating.query.count() == 0


def test_each_refusal_has_its_own_message(client, dossier):
    """A slip of one character or a swap of two, a code that does not exist, a dossier not yet
    returned and one already rated each say what happened, in words of their own."""
    code = dossier.rating_code
    slipped = code[:2] + next(c for c in ALPHABET if c != code[2]) + code[3:]
    swapped = next(
        code[:i] + code[i + 1] + code[i] + code[i + 2 :] for i in range(8) if code[i] != code[i + 1]
    )
    body = next(b for b in ("ABCDEFGH", "HGFEDCBA") if b != code[:8])
    unknown = body + check_character(body)
    waiting = receive_dossier(intake_data(), actor=account("letan"))[0].rating_code
    answers = {}
    for name, typed in (
        ("slipped", slipped),
        ("swapped", swapped),
        ("unknown", unknown),
        ("waiting", waiting),
        ("with O", code[:8] + "O"),
        ("short", code[:5]),
    ):
        response = client.post("/kiosk/", data={"code": typed, **RATED})
        answers[name] = (response.status_code, message_of(response))
    client.post("/kiosk/", data={"code": code, **RATED})
    response = client.post("/kiosk/", data={"code": code, **RATED})
    answers["rated"] = (response.status_code, message_of(response))
    for name in ("slipped", "swapped", "with O", "short"):
        assert answers[name][0] == 422 and answers[name][1].startswith("Mã đánh giá gõ sai"), name
    assert answers["unknown"][0] == 422 and "Không tìm thấy mã đánh giá" in answers["unknown"][1]
    assert answers["waiting"][0] == 409 and "chưa trả kết quả" in answers["waiting"][1]
    assert answers["rated"][0] == 409 and "chỉ đánh giá một lần" in answers["rated"][1]
    assert len({answers[name][1] for name in ("slipped", "unknown", "waiting", "rated")}) == 4
    assert Rating.query.count() == 1


def message_of(response) -> str:
    match = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.get_data(as_text=True))
    return htmllib.unescape(match.group(1)) if match else ""


def test_guessing_codes_locks_the_kiosk_for_that_address(client, dossier):
    """Well-formed codes typed at random (a script that knows the check character): after ten
    wrong ones the address may not try any code, right or wrong, for a while; others may."""
    for n in range(10):
        body = ALPHABET[n] + "ABCDEFG"
        response = client.post("/kiosk/", data={"code": body + check_character(body), **RATED})
        assert response.status_code == 422
    locked = client.post("/kiosk/", data={"code": dossier.rating_code, **RATED})
    assert locked.status_code == 429 and "quá nhiều lần" in locked.get_data(as_text=True)
    assert Rating.query.count() == 0
    elsewhere = client.post(
        "/kiosk/",
        data={"code": dossier.rating_code, **RATED},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert elsewhere.status_code == 200 and Rating.query.count() == 1


def test_a_dossier_received_before_rating_codes_is_rated_on_paper(client, auth, dossier):
    """A dossier migrated without a rating code cannot be rated at the kiosk, even by its own
    dossier code; the desk keys in its paper form by the dossier code."""
    dossier.rating_code = None
    db.session.commit()
    response = client.post("/kiosk/", data={"code": dossier.code, **RATED})
    assert response.status_code == 422 and "phiếu giấy tại quầy" in response.get_data(as_text=True)
    auth.login("letan")
    slip = client.get(f"/dossiers/{dossier.code}/print/01").get_data(as_text=True)
    assert "Mã đánh giá:" not in slip and "phiếu giấy tại quầy" in slip
    assert client.post("/ratings/paper", data={"code": dossier.code, **RATED}).status_code == 302
    assert Rating.query.one().dossier_uuid == dossier.uuid


@pytest.mark.parametrize(
    "typed, message",
    [
        ("", "Vui lòng nhập mã đánh giá"),
        ("30283-251103-0001", "không nhận mã hồ sơ"),  # a dossier code, even another ward's
    ],
)
def test_kiosk_refuses_empty_and_dossier_codes(client, dossier, typed, message):
    response = client.post("/kiosk/", data={"code": typed, **RATED})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert Rating.query.count() == 0


def test_kiosk_refuses_missing_or_invented_levels(client, dossier):
    response = client.post(
        "/kiosk/",
        data={
            "code": dossier.rating_code,
            "overall": "excellent",
            "attitude": "satisfied",
            "comment": "x" * 1001,
        },
    )
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
            response = client.get(
                path.format(
                    code=dossier.code,
                    resolved=dossier.code,
                    lettered=dossier.code,
                    feedback="x",
                    inspection="x",
                )
            )
            assert response.status_code == 302, endpoint
            assert "/auth/login" in response.headers["Location"], endpoint


def test_kiosk_is_bound_to_this_ward_even_for_a_known_dossier_of_another(app, dossier):
    """A dossier record of another ward in this database (never normal) cannot be rated here."""

    dossier.ward_code = "30283"
    db.session.commit()
    with pytest.raises(DossierError) as refused:
        record_rating({"code": dossier.rating_code, **RATED}, channel="kiosk")
    assert refused.value.code == "not_found"


def test_paper_form_keyed_in_by_an_official(client, auth, dossier):
    auth.login("letan")
    waiting = receive_dossier(intake_data(), actor=account("letan"))[0]
    early = client.post("/ratings/paper", data={"code": waiting.code, **RATED})
    assert early.status_code == 409 and "chưa trả kết quả" in early.get_data(as_text=True)
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


def test_receipt_slip_carries_the_rating_code_and_its_qr_code(app, client, auth, dossier):
    from wardapp.ratings.routes import kiosk_qr, kiosk_url

    auth.login("letan")
    slip = client.get(f"/dossiers/{dossier.code}/print/01").get_data(as_text=True)
    assert "đánh giá mức độ hài lòng" in slip
    assert f'Mã đánh giá: <strong class="rating-code">{grouped(dossier.rating_code)}' in slip
    with app.test_request_context("/"):
        assert f'src="{kiosk_qr(dossier.rating_code)}"' in slip  # the QR opens the kiosk on it
        assert kiosk_qr(dossier.code) not in slip
    with app.test_request_context("/", base_url="http://10.0.0.5:8080"):
        assert kiosk_url(dossier.code) == f"http://10.0.0.5:8080/kiosk/?code={dossier.code}"
        app.config["KIOSK_URL"] = "http://mot-cua.lan/kiosk/"
        assert kiosk_url(dossier.code) == f"http://mot-cua.lan/kiosk/?code={dossier.code}"


def test_kiosk_form_needs_its_csrf_token(tmp_path):
    from .conftest import make_ward

    app = make_ward(tmp_path)  # CSRF on, as served
    with app.app_context():
        dossier = returned(receive_dossier(intake_data(), actor=account("letan"))[0])
        response = app.test_client().post("/kiosk/", data={"code": dossier.rating_code, **RATED})
        assert response.status_code == 400 and "hết hạn" in response.get_data(as_text=True)
        assert Rating.query.count() == 0


def test_each_receipt_gets_its_own_code_stored_and_synced_with_the_dossier(app):
    dossiers = [receive_dossier(intake_data(), actor=account("letan"))[0] for _ in range(20)]
    codes = [d.rating_code for d in dossiers]
    assert len(set(codes)) == 20 and all(well_formed(c) for c in codes)
    payload = db.session.scalar(
        sa.select(Outbox.payload).where(
            Outbox.table_name == "dossier", Outbox.record_uuid == dossiers[0].uuid
        )
    )
    assert f'"rating_code":"{codes[0]}"' in payload
    assert dossiers[0].rating_code not in db.session.get(Dossier, dossiers[0].uuid).search_text


@given(
    st.text(ALPHABET, min_size=LENGTH - 1, max_size=LENGTH - 1),
    st.integers(0, LENGTH - 1),
    st.sampled_from(ALPHABET),
)
def test_the_check_character_catches_every_slip_and_swap(body, at, typo):
    code = body + check_character(body)
    assert well_formed(code)
    if typo != code[at]:
        assert not well_formed(code[:at] + typo + code[at + 1 :])
    for i, j in itertools.combinations(range(LENGTH), 2):
        if code[i] != code[j]:
            swapped = list(code)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            assert not well_formed("".join(swapped))


def test_guessing_at_a_served_kiosk_rates_nothing_and_is_locked_out(tmp_path):
    """The same guesses over real HTTP to a ward served by waitress, CSRF on: counting up the
    dossier codes of returned dossiers rates none of them, and the address is soon locked."""
    import requests

    from .conftest import LiveServer, make_ward

    app = make_ward(tmp_path)
    with app.app_context():
        codes = [
            returned(receive_dossier(intake_data(), actor=account("letan"))[0]).code
            for _ in range(3)
        ]
        prefix = codes[0].rsplit("-", 1)[0]
        with LiveServer(app) as url, requests.Session() as tablet:
            token = re.search(
                r'name="csrf_token" value="([^"]+)"', tablet.get(f"{url}/kiosk/").text
            ).group(1)
            answers = [
                tablet.post(
                    f"{url}/kiosk/",
                    data={"code": f"{prefix}-{n:04d}", "csrf_token": token, **RATED},
                    timeout=10,
                ).status_code
                for n in range(1, 13)
            ]
        assert answers == [422] * 10 + [429] * 2
        assert Rating.query.count() == 0
        db.session.remove()
        db.engine.dispose()
