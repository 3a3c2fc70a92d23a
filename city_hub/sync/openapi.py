"""The OpenAPI 3.1 description of the hub's sync API, served at ``/api/sync/v1/openapi.json``."""

from __future__ import annotations

from wardapp.sync.protocol import DB_INSTANCE_ID, MAX_SEQ

from ..models import RECORD_TABLES

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def _answers(ok: dict, *errors: int) -> dict:
    return {
        "200": ok,
        **{
            str(s): {"description": "Lỗi", "content": {"application/json": {"schema": _ERROR}}}
            for s in errors
        },
    }


def openapi_document() -> dict:
    json_ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "API đồng bộ phường, xã – thành phố", "version": "1"},
        "servers": [{"url": "/api/sync/v1"}],
        "security": [{"ward": []}],
        "components": {"securitySchemes": {"ward": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/hello": {
                "post": {
                    "summary": "Chào: phiên bản, mã cơ sở dữ liệu, số thứ tự",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": [
                                        "ward_code",
                                        "db_instance_id",
                                        "protocol_version",
                                        "schema_version",
                                        "outbox_head_seq",
                                    ],
                                    "properties": {
                                        "ward_code": {"type": "string"},
                                        "db_instance_id": {
                                            "type": "string",
                                            "pattern": f"^{DB_INSTANCE_ID.pattern}$",
                                        },
                                        "protocol_version": {"type": "integer"},
                                        "schema_version": {"type": "integer"},
                                        "app_version": {"type": "string"},
                                        "outbox_head_seq": {
                                            "type": "integer",
                                            "minimum": 0,
                                            "maximum": MAX_SEQ,
                                        },
                                        "local_acked_seq": {"type": "integer", "minimum": 0},
                                        "ward_utc": {"type": "string", "format": "date-time"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": _answers(json_ok, 400, 401, 403, 409, 413),
                }
            },
            "/push": {
                "post": {
                    "summary": "Gửi một lô bản ghi (JSON nén gzip)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    },
                    # 503: the database could not take the batch now; the ward sends it again
                    "responses": _answers(json_ok, 400, 401, 403, 409, 413, 503),
                }
            },
            "/refdata": {
                "get": {
                    "summary": "Danh mục mới nhất",
                    "parameters": [
                        {
                            "name": "have",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        **_answers(json_ok, 401, 404),
                        "304": {"description": "Đã có phiên bản này"},
                    },
                }
            },
            "/reconcile": {
                "get": {
                    "summary": "Số lượng và mã kiểm tra theo bảng",
                    "responses": _answers(json_ok, 401),
                }
            },
            "/records": {
                "get": {
                    "summary": "Bản ghi của chính phường, xã (cấp lại máy, sửa sau khôi phục)",
                    "parameters": [
                        {
                            "name": "table",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "enum": list(RECORD_TABLES)},
                        },
                        {
                            "name": "after",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "maxLength": 64},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 5000},
                        },
                    ],
                    "responses": _answers(json_ok, 400, 401),
                }
            },
        },
    }
