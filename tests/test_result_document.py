"""The result's number and date (số, ngày của giấy tờ kết quả): asked when a dossier is resolved,
kept in the resolve event's ``data`` (no column of its own, so it syncs as the event does), shown
on the dossier, on the control slip (Mẫu 05, where the result's return is signed for) and in the
logbook (Mẫu 06)."""

import datetime as dt
import re

import sqlalchemy as sa

from kernel.columns import utcnow
from kernel.workdays import to_local
from wardapp.dossiers.service import receive_dossier
from wardapp.extensions import db
from wardapp.sync.records import Dossier, DossierEvent

from .conftest import account, intake_data, vn_time
from .test_print import full_history_dossier, get_page, step, text_of

# The desk resolves at the clock's time: the dossier was received three days ago.
TODAY = to_local(utcnow()).date()
RECEIVED = TODAY - dt.timedelta(days=3)


def resolvable(app) -> str:
    """A dossier received three days ago, held by the officer."""
    dossier, _ = receive_dossier(
        intake_data(procedure_code="1.004873"),
        actor=account("letan"),
        now=vn_time(RECEIVED.year, RECEIVED.month, RECEIVED.day, 9),
    )
    step(
        dossier.code,
        "handed_over",
        vn_time(RECEIVED.year, RECEIVED.month, RECEIVED.day, 10),
        who="letan",
        to_user_uuid=account("chuyenvien").uuid,
    )
    return dossier.code


def day(offset: int) -> dt.date:
    return RECEIVED + dt.timedelta(days=offset)


def resolve_event(code: str) -> DossierEvent:
    db.session.expire_all()
    dossier = db.session.scalar(sa.select(Dossier).where(Dossier.code == code))
    return next(e for e in dossier.events if e.kind == "resolved")


def post_resolve(client, code: str, **fields):
    dossier = db.session.scalar(sa.select(Dossier).where(Dossier.code == code))
    return client.post(
        f"/dossiers/{code}/steps/resolved", data={"version": dossier.version, **fields}
    )


def test_resolve_records_the_result_number_and_date(app, client, auth):
    code = resolvable(app)
    auth.login("chuyenvien")
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert 'name="result_number" maxlength="50"' in page
    assert f'name="result_date" min="{RECEIVED}" max="{TODAY}"' in page
    response = post_resolve(client, code, result_number=" 125/TLKS-BS ", result_date=f"{day(1)}")
    assert response.status_code == 302
    event = resolve_event(code)
    assert event.data == {"result_number": "125/TLKS-BS", "result_date": f"{day(1)}"}
    wording = f"Số 125/TLKS-BS, ngày {day(1):%d/%m/%Y}"
    assert f"Giấy tờ kết quả {wording}" in text_of(get_page(client, f"/dossiers/{code}"))
    slip = text_of(get_page(client, f"/dossiers/{code}/print/05"))
    assert f"Kết quả: {wording}" in slip
    logbook = get_page(client, f"/logbook?from={RECEIVED}&to={RECEIVED}")
    rows = re.findall(r"<tbody>(.*?)</tbody>", logbook, re.S)[0]
    cells = [text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", rows, re.S)]
    assert cells[10].endswith(wording)  # Nhận kết quả từ cơ quan giải quyết


def test_result_number_and_date_are_optional(app, client, auth):
    code = resolvable(app)
    auth.login("chuyenvien")
    assert post_resolve(client, code, result_number="", result_date="").status_code == 302
    assert resolve_event(code).data == {}
    assert "Giấy tờ kết quả" not in get_page(client, f"/dossiers/{code}")
    code = resolvable(app)
    assert post_resolve(client, code, result_date=f"{RECEIVED}").status_code == 302
    assert resolve_event(code).data == {"result_date": f"{RECEIVED}"}
    assert f"ngày {RECEIVED:%d/%m/%Y}" in text_of(get_page(client, f"/dossiers/{code}"))


def test_bad_result_number_or_date_is_refused_in_vietnamese(app, client, auth):
    code = resolvable(app)
    auth.login("chuyenvien")
    for fields, message in (
        ({"result_number": "1" * 51}, "Số giấy tờ kết quả dài quá 50 ký tự."),
        ({"result_date": f"{day(1):%d/%m/%Y}"}, "Ngày của giấy tờ kết quả không hợp lệ"),
        ({"result_date": f"{day(4)}"}, "Ngày của giấy tờ kết quả không được sau hôm nay."),
        (
            {"result_date": f"{day(-1)}"},
            f"không được trước ngày tiếp nhận hồ sơ ({RECEIVED:%d/%m/%Y}).",
        ),
    ):
        response = post_resolve(client, code, **fields)
        assert response.status_code == 422, fields
        assert message in response.get_data(as_text=True), fields
        db.session.expire_all()
        dossier = db.session.scalar(sa.select(Dossier).where(Dossier.code == code))
        assert dossier.resolved_at is None and dossier.events[-1].kind == "handed_over"


def test_other_steps_carry_no_result_document(app):
    code = full_history_dossier()
    assert resolve_event(code).data == {}


def test_result_document_reaches_the_hub_unchanged(app, hub):
    """The hub copies the event's ``data`` column as it is: the number and date arrive with no
    change to the wire or either schema."""
    from city_hub.extensions import db as hub_db
    from city_hub.models import RECORD_TABLES
    from wardapp.dossiers.service import record_step

    from .test_sync import EXIT_OK, run

    code = resolvable(app)
    record_step(
        code,
        "resolved",
        actor=account("chuyenvien"),
        result_number="125/TLKS-BS",
        result_date=f"{day(1)}",
    )
    uuid = resolve_event(code).uuid
    assert run(hub) == EXIT_OK
    events = RECORD_TABLES["dossier_event"]
    with hub.app.app_context():
        data = hub_db.session.scalar(sa.select(events.c.data).where(events.c.uuid == uuid))
    assert data == {"result_number": "125/TLKS-BS", "result_date": f"{day(1)}"}


def test_the_api_resolves_with_the_result_document(app, client):
    from wardapp.api import issue_token

    token = issue_token(account("lanhdao"), "Cổng DVC")
    db.session.commit()
    code = resolvable(app)
    headers = {"Authorization": f"Bearer {token}"}
    bad = client.post(
        f"/api/v1/dossiers/{code}/events",
        json={"kind": "resolved", "result_number": 125},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"]["result_number"]
    late = client.post(
        f"/api/v1/dossiers/{code}/events",
        json={"kind": "resolved", "result_date": f"{day(4)}"},
        headers=headers,
    )
    assert late.status_code == 422
    assert "không được sau hôm nay" in late.get_json()["error"]["message"]
    done = client.post(
        f"/api/v1/dossiers/{code}/events",
        json={"kind": "resolved", "result_number": "7/CT", "result_date": f"{day(2)}"},
        headers=headers,
    )
    assert done.status_code == 201
    assert done.get_json()["events"][-1]["data"] == {
        "result_number": "7/CT",
        "result_date": f"{day(2)}",
    }
