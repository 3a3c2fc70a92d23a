"""The JSON API: bearer tokens, intake and steps, structured errors, never a 500."""

import pytest
import sqlalchemy as sa

from kernel.columns import utcnow
from wardapp.api import issue_token
from wardapp.extensions import db
from wardapp.models import ApiToken
from wardapp.sync.records import Dossier

from .conftest import account, intake_data


@pytest.fixture
def token(app):
    value = issue_token(account("letan"), "Cổng DVC")
    db.session.commit()
    return value


def headers(token):
    return {"Authorization": f"Bearer {token}"}


def test_openapi_document_is_public(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert "/dossiers/{code}/events" in doc["paths"]


@pytest.mark.parametrize("auth_header", [None, "Bearer", "Bearer wt_nope", "Basic abc"])
def test_token_required(client, auth_header):
    h = {"Authorization": auth_header} if auth_header else {}
    response = client.get("/api/v1/procedures", headers=h)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_revoked_token_refused(client, token):
    db.session.execute(sa.update(ApiToken).values(revoked_at=utcnow()))
    db.session.commit()
    assert client.get("/api/v1/procedures", headers=headers(token)).status_code == 401


def test_intake_and_steps(client, token):
    response = client.post("/api/v1/dossiers", json=intake_data(), headers=headers(token))
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == 2 and body["events"][0]["kind"] == "received"
    replay = client.post(
        "/api/v1/dossiers",
        json=intake_data(request_key=body["request_key"]),
        headers=headers(token),
    )
    assert replay.status_code == 200 and replay.get_json()["uuid"] == body["uuid"]
    officer = account("chuyenvien")
    step = client.post(
        f"/api/v1/dossiers/{body['code']}/events",
        headers=headers(token),
        json={"kind": "handed_over", "to_user_uuid": officer.uuid, "version": body["version"]},
    )
    assert step.status_code == 201
    assert step.get_json()["status"] == 4
    got = client.get(f"/api/v1/dossiers/{body['code']}", headers=headers(token)).get_json()
    assert [e["kind"] for e in got["events"]] == ["received", "handed_over"]


@pytest.mark.parametrize(
    "payload, status, code",
    [
        ("not json", 400, "bad_json"),
        ([1, 2], 400, "bad_json"),
        ({}, 422, "validation_failed"),
        ({"procedure_code": 5}, 422, "validation_failed"),
        ({"sets_count": {"x": 1}}, 422, "validation_failed"),
    ],
)
def test_bad_intake_payloads(client, token, payload, status, code):
    if isinstance(payload, str):
        response = client.post(
            "/api/v1/dossiers",
            data=payload,
            headers={**headers(token), "Content-Type": "application/json"},
        )
    elif payload == {} or isinstance(payload, list):
        response = client.post("/api/v1/dossiers", json=payload, headers=headers(token))
    else:
        response = client.post(
            "/api/v1/dossiers", json=intake_data(**payload), headers=headers(token)
        )
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)) == 0


def test_bad_steps(client, token):
    code = client.post("/api/v1/dossiers", json=intake_data(), headers=headers(token)).get_json()[
        "code"
    ]
    cases = [
        ({"kind": "returned"}, 409, "illegal_transition"),
        ({"kind": "nope"}, 422, "validation_failed"),
        ({"kind": "resolved", "version": "1"}, 422, "validation_failed"),
        ({"kind": "handed_over", "to_user_uuid": 7}, 422, "validation_failed"),
        ({"kind": "resolved"}, 403, "forbidden"),  # the token acts as a receptionist
    ]
    for payload, status, error_code in cases:
        response = client.post(
            f"/api/v1/dossiers/{code}/events", json=payload, headers=headers(token)
        )
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, error_code)
    missing = client.post(
        "/api/v1/dossiers/30280-000000-0000/events",
        json={"kind": "withdrawn", "reason": "Rút"},
        headers=headers(token),
    )
    assert missing.status_code == 404
    assert client.get("/api/v1/dossiers/none", headers=headers(token)).status_code == 404


def test_api_404_is_json(client, token):
    response = client.get("/api/v1/nothing", headers=headers(token))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "http_404"


def test_token_scopes_limit_what_it_may_do(client):
    reader = issue_token(account("letan"), "Bảng thông tin", scopes=("read",))
    db.session.commit()
    h = headers(reader)
    assert client.get("/api/v1/procedures", headers=h).status_code == 200
    refused = client.post("/api/v1/dossiers", json=intake_data(), headers=h)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "insufficient_scope"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)) == 0
