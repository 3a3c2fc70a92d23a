"""Who may take which step on whose dossier (``lifecycle.PERMISSIONS``), tried as each role would
try it: the step's button on the dossier page, a POST of the step's form, and the JSON API, on a
dossier the user holds and on one someone else holds. The cases come from the list of all steps
and from the table, so a step added without a rule (or without a way here to reach it) fails."""

import datetime as dt

import pytest
import sqlalchemy as sa

from kernel.workdays import to_local
from wardapp.api import issue_token
from wardapp.dossiers.lifecycle import ANY, HOLDER, PERMISSIONS, STEPS
from wardapp.dossiers.service import load_calendar, receive_dossier, record_step
from wardapp.extensions import db
from wardapp.roles import ROLES
from wardapp.sync.records import Dossier

from .conftest import PASSWORD, account, intake_data

ACCOUNT_OF = {
    "receptionist": "letan",
    "officer": "chuyenvien",
    "leader": "lanhdao",
    "admin": "quantri",
}
# What a dossier needs behind it before each step can be taken (taken by the leader, which
# moves no dossier between hands), and the fields the step's form sends.
BEFORE = {
    "handed_over": (),
    "supplement_requested": (),
    "supplement_received": ("supplement_requested",),
    "refused": (),
    "apology": (),
    "resolved": (),
    "returned": ("resolved",),
    "withdrawn": (),
}
HOLDERS = ("self", "other")  # the dossier is held by the user trying the step, or by another
CASES = [
    (kind, role, held)
    for kind in sorted(set(STEPS) | set(PERMISSIONS))
    for role in ROLES
    for held in (("new",) if kind == "received" else HOLDERS)
]


def expected(kind: str, role: str, held: str) -> str | None:
    """The error code the table says the step gets (None: it is taken)."""
    scope = PERMISSIONS[kind].get(role)
    if scope == ANY or (scope == HOLDER and held == "self"):
        return None
    return "not_holder" if scope == HOLDER else "forbidden"


def test_the_table_names_every_step_and_only_known_roles():
    assert set(PERMISSIONS) == set(STEPS)
    for kind, rule in PERMISSIONS.items():
        assert rule and set(rule) <= set(ROLES) and set(rule.values()) <= {ANY, HOLDER}, kind
        assert rule.get("leader") == ANY, f"the leader may override on {kind}"


def dossier_for(kind: str, holder: str) -> str:
    """A 3-working-day dossier in the hands of ``holder`` (an account), where ``kind`` can be
    taken."""
    dossier, _ = receive_dossier(intake_data(procedure_code="1.004873"), actor=account("letan"))
    if holder != "letan":
        record_step(
            dossier.code, "handed_over", actor=account("letan"), to_user_uuid=account(holder).uuid
        )
    for prior in BEFORE[kind]:
        record_step(dossier.code, prior, actor=account("lanhdao"), reason="Thiếu tờ khai.")
    return dossier.code


def step_fields(kind: str, code: str) -> dict:
    """What the step's form sends: a receiving official, a reason, a new appointment date."""
    dossier = db.session.scalar(sa.select(Dossier).where(Dossier.code == code))
    new_day = load_calendar().add_working_days(to_local(dossier.due_at).date(), 2)
    return {
        "handed_over": {"to_user_uuid": account("lanhdao").uuid},
        "apology": {"new_due_date": new_day.isoformat()},
        "returned": {"return_method": "desk"},
    }.get(kind, {}) | ({"reason": "Công dân đề nghị."} if STEPS[kind].needs_reason else {})


def state(code: str) -> tuple:
    db.session.expire_all()
    dossier = db.session.scalar(sa.select(Dossier).where(Dossier.code == code))
    return dossier.version, dossier.status, len(dossier.events)


@pytest.mark.parametrize("kind, role, held", CASES)
def test_each_step_for_each_role_on_its_own_and_anothers_dossier(app, client, kind, role, held):
    user = ACCOUNT_OF[role]
    refusal = expected(kind, role, held)
    assert (
        client.post("/auth/login", data={"username": user, "password": PASSWORD}).status_code == 302
    )
    if kind == "received":
        page = client.post("/dossiers", data=intake_data())
        api = client.post(
            "/api/v1/dossiers",
            json=intake_data(),
            headers={"Authorization": f"Bearer {issue_token(account(user), 't')}"},
        )
        assert (page.status_code, api.status_code) == (
            (302, 201) if refusal is None else (403, 403)
        )
        if refusal:
            assert api.get_json()["error"]["code"] == refusal
        return
    holder = user if held == "self" else ("chuyenvien" if user == "letan" else "letan")
    on_page, on_api = dossier_for(kind, holder), dossier_for(kind, holder)
    action = f'action="/dossiers/{on_page}/steps/{kind}"'
    assert (action in client.get(f"/dossiers/{on_page}").text) == (refusal is None)

    before = state(on_page)
    page = client.post(
        f"/dossiers/{on_page}/steps/{kind}",
        data={"version": before[0], **step_fields(kind, on_page)},
    )
    token = issue_token(account(user), "thử")
    api = client.post(
        f"/api/v1/dossiers/{on_api}/events",
        json={"kind": kind, **step_fields(kind, on_api)},
        headers={"Authorization": f"Bearer {token}"},
    )
    if refusal is None:
        assert (page.status_code, api.status_code) == (302, 201), (page.text, api.get_json())
        assert state(on_page)[2] == before[2] + 1
        return
    assert (page.status_code, api.status_code) == (403, 403)
    error = api.get_json()["error"]
    assert error["code"] == refusal and error["message"] in page.text
    if refusal == "not_holder":
        assert f"Hồ sơ đang do {account(holder).full_name} giữ" in error["message"]
    else:
        assert "không có quyền" in error["message"]
    assert state(on_page) == before and state(on_api) == before


@pytest.mark.parametrize("kind", ["handed_over", "supplement_requested", "refused"])
def test_a_receptionist_cannot_decide_on_a_dossier_the_officer_holds(client, auth, kind):
    """The attack of issue 14: the receptionist who received the dossier, once it is with the
    processing officer, hands it elsewhere, asks for a supplement or refuses it."""
    code = dossier_for(kind, "chuyenvien")
    before = state(code)
    auth.login("letan")
    assert f"/dossiers/{code}/steps/{kind}" not in client.get(f"/dossiers/{code}").text
    response = client.post(
        f"/dossiers/{code}/steps/{kind}", data={"version": before[0], **step_fields(kind, code)}
    )
    assert response.status_code == 403 and "đang do Lê Văn Phúc giữ" in response.text
    assert state(code) == before
    auth.logout()
    auth.login("chuyenvien")  # the holder can
    assert (
        client.post(
            f"/dossiers/{code}/steps/{kind}", data={"version": before[0], **step_fields(kind, code)}
        ).status_code
        == 302
    )


def test_the_holder_changes_with_each_hand_over(client, auth):
    """Once the officer hands the dossier back to the desk, the officer no longer decides on it."""
    code = dossier_for("resolved", "chuyenvien")
    record_step(
        code,
        "handed_over",
        actor=account("chuyenvien"),
        to_user_uuid=account("letan").uuid,
        now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1),
    )
    auth.login("chuyenvien")
    response = client.post(f"/dossiers/{code}/steps/resolved", data={})
    assert response.status_code == 403 and "đang do Trần Thị Ngọc Hân giữ" in response.text
