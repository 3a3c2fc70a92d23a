"""The ward's JSON API (``/api/v1``): intake and lifecycle steps for the provincial portal's
online dossiers and for scripts. Authenticated by bearer tokens, not by the browser session."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from flask import Blueprint, g, jsonify, request

from kernel.errors import error_response
from wardapp.dossiers.intake import DossierError
from wardapp.sync.records import Dossier, User

from ..dossiers.lifecycle import STEPS
from ..dossiers.service import receive_dossier, record_step, this_ward
from ..extensions import db
from ..models import ApiToken, Procedure
from ..outbox import snapshot
from ..roles import API_SCOPES
from .openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, name: str, scopes=tuple(API_SCOPES)) -> str:
    """Create a token for ``user`` limited to ``scopes``; the plain value is returned once and
    stored only hashed."""
    token = "wt_" + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(
            name=name,
            token_sha256=token_digest(token),
            user_uuid=user.uuid,
            scopes=" ".join(sorted(set(scopes))),
        )
    )
    return token


# The scope each endpoint needs.
ENDPOINT_SCOPES = {
    "api.procedures": "read",
    "api.get_dossier": "read",
    "api.create_dossier": "intake",
    "api.add_event": "steps",
}


@bp.before_request
def authenticate():
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return error_response(
            401, "Thiếu mã truy cập (Authorization: Bearer …).", code="unauthorized"
        )
    api_token = db.session.scalar(
        sa.select(ApiToken).where(
            ApiToken.token_sha256 == token_digest(token.strip()), ApiToken.revoked_at.is_(None)
        )
    )
    if api_token is None or not api_token.user.active:
        return error_response(
            401, "Mã truy cập không hợp lệ hoặc đã bị thu hồi.", code="unauthorized"
        )
    needed = ENDPOINT_SCOPES.get(request.endpoint)
    if needed and needed not in api_token.scopes.split():
        return error_response(
            403, f"Mã truy cập không có quyền «{API_SCOPES[needed]}».", code="insufficient_scope"
        )
    g.api_user = api_token.user
    return None


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise DossierError(
            "Nội dung yêu cầu phải là một đối tượng JSON.", code="bad_json", status=400
        )
    return body


@bp.errorhandler(DossierError)
def dossier_error(e: DossierError):
    return error_response(e.status, e.message, code=e.code, fields=e.fields)


def dossier_json(dossier: Dossier) -> dict:
    body = snapshot(dossier)
    body["events"] = [snapshot(e) for e in dossier.events]
    return body


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/procedures")
def procedures():
    rows = db.session.scalars(sa.select(Procedure).where(Procedure.active).order_by(Procedure.code))
    return jsonify(
        {
            "procedures": [
                {
                    "code": p.code,
                    "name": p.name,
                    "field": p.field,
                    "duration_value": p.duration_value,
                    "duration_unit": p.duration_unit,
                    "online_level": p.online_level,
                    "postal_allowed": p.postal_allowed,
                    "documents": p.documents,
                }
                for p in rows
            ]
        }
    )


@bp.post("/dossiers")
def create_dossier():
    dossier, created = receive_dossier(_json_body(), actor=g.api_user)
    return jsonify(dossier_json(dossier)), 201 if created else 200


@bp.get("/dossiers/<code>")
def get_dossier(code: str):
    dossier = db.session.scalar(sa.select(Dossier).where(Dossier.code == code))
    if dossier is None or dossier.ward_code != this_ward().ward_code:
        raise DossierError("Không tìm thấy hồ sơ này tại phường, xã.", code="not_found", status=404)
    return jsonify(dossier_json(dossier))


@bp.post("/dossiers/<code>/events")
def add_event(code: str):
    body = _json_body()
    fields = {}
    for name in (
        "kind",
        "to_user_uuid",
        "reason",
        "new_due_date",
        "return_method",
        "result_number",
        "result_date",
    ):
        if body.get(name) is not None and not isinstance(body[name], str):
            fields[name] = "Phải là chuỗi ký tự."
    version = body.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        fields["version"] = "Phải là số nguyên."
    if not isinstance(body.get("kind"), str) or body["kind"] not in STEPS:
        fields["kind"] = "Bước xử lý không hợp lệ."
    if fields:
        raise DossierError(
            "Yêu cầu không hợp lệ.", code="validation_failed", fields=fields, status=422
        )
    dossier = record_step(
        code,
        body["kind"],
        actor=g.api_user,
        expected_version=version,
        to_user_uuid=body.get("to_user_uuid"),
        reason=body.get("reason"),
        new_due_date=body.get("new_due_date"),
        return_method=body.get("return_method"),
        result_number=body.get("result_number"),
        result_date=body.get("result_date"),
    )
    return jsonify(dossier_json(dossier)), 201
