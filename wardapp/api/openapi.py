"""The OpenAPI 3.1 description of ``/api/v1``, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from kernel.regimes import CHANNELS
from kernel.statuses import RETURN_METHODS

from ..dossiers.lifecycle import STEPS

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string", "description": "Thông báo tiếng Việt cho người dùng"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}
_INTAKE = {
    "type": "object",
    "required": ["request_key", "procedure_code", "applicant_name", "address"],
    "properties": {
        "request_key": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{8,64}$",
            "description": "Idempotency key: the same key returns the same dossier",
        },
        "procedure_code": {"type": "string"},
        "applicant_kind": {"type": "string", "enum": ["person", "organisation"]},
        "applicant_name": {"type": "string", "maxLength": 200},
        "citizen_id": {"type": "string", "description": "12 digits for a person"},
        "phone": {"type": "string"},
        "email": {"type": "string"},
        "address": {"type": "string", "maxLength": 300},
        "channel": {"type": "string", "enum": list(CHANNELS)},
        "return_method": {"type": "string", "enum": list(RETURN_METHODS)},
        "return_address": {"type": "string", "maxLength": 300},
        "documents": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Names of the procedure's documents received",
        },
        "sets_count": {"type": "integer", "minimum": 1, "maximum": 20},
        "note": {"type": "string", "maxLength": 2000},
        "received_at": {
            "type": "string",
            "format": "date-time",
            "description": "Defaults to now; never in the future, at most 30 days back",
        },
        "writing_assist": {
            "type": "boolean",
            "description": "The writing desk filled in the form for the citizen",
        },
        "prefill_consent": {
            "type": "boolean",
            "description": "The citizen agreed that their "
            "earlier dossiers at this ward prefill the form",
        },
    },
}
_STEP = {
    "type": "object",
    "required": ["kind"],
    "properties": {
        "kind": {"type": "string", "enum": [k for k in STEPS if k != "received"]},
        "version": {"type": "integer", "description": "The dossier version the caller saw"},
        "to_user_uuid": {"type": "string", "description": "handed_over: the receiving official"},
        "reason": {"type": "string", "maxLength": 2000},
        "new_due_date": {"type": "string", "format": "date", "description": "apology"},
        "return_method": {"type": "string", "enum": list(RETURN_METHODS)},
        "result_number": {
            "type": "string",
            "maxLength": 50,
            "description": "resolved: the number of the result's document",
        },
        "result_date": {
            "type": "string",
            "format": "date",
            "description": "resolved: the date of the result's document",
        },
    },
}
_DOSSIER = {
    "type": "object",
    "required": ["uuid", "code", "status", "events"],
    "properties": {
        "uuid": {"type": "string"},
        "code": {"type": "string"},
        "status": {"type": "integer"},
        "version": {"type": "integer"},
        "due_at": {"type": "string"},
        "events": {"type": "array", "items": {"type": "object"}},
    },
}


def _errors(*statuses: int) -> dict:
    return {
        str(s): {
            "description": "Lỗi",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for s in statuses
    }


def _json(schema_ref: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }


def openapi_document() -> dict:
    code_param = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "API Bộ phận một cửa phường, xã", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _ERROR, "Intake": _INTAKE, "Step": _STEP, "Dossier": _DOSSIER},
        },
        "paths": {
            "/procedures": {
                "get": {
                    "summary": "Danh mục thủ tục",
                    "responses": {
                        "200": {
                            "description": "Danh mục",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **_errors(401),
                    },
                }
            },
            "/dossiers": {
                "post": {
                    "summary": "Tiếp nhận hồ sơ",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Intake"}}
                        },
                    },
                    "responses": {
                        "201": _json("Dossier", "Đã tiếp nhận"),
                        "200": _json("Dossier", "Đã tiếp nhận trước đó (cùng request_key)"),
                        **_errors(400, 401, 403, 409, 422),
                    },
                }
            },
            "/dossiers/{code}": {
                "get": {
                    "summary": "Một hồ sơ và các bước xử lý",
                    "parameters": code_param,
                    "responses": {"200": _json("Dossier", "Hồ sơ"), **_errors(401, 404)},
                }
            },
            "/dossiers/{code}/events": {
                "post": {
                    "summary": "Thực hiện một bước xử lý",
                    "parameters": code_param,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Step"}}
                        },
                    },
                    "responses": {
                        "201": _json("Dossier", "Đã ghi bước xử lý"),
                        **_errors(400, 401, 403, 404, 409, 422),
                    },
                }
            },
        },
    }
