"""What a citizen's dossier brings to the desk, checked: the intake form's fields (from the desk's
form or the JSON API) and the text and flag fields every service checks alike, each refusal a
:class:`DossierError` in Vietnamese that names the field. Nothing here writes; the service layer
(:mod:`.service`) writes what passes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from kernel.regimes import CHANNELS
from kernel.statuses import RETURN_METHODS
from kernel.text import has_control_characters, nfc
from kernel.workdays import LOCAL_TZ, to_local

from ..extensions import db
from ..models import Procedure

# Province prefixes of the 12-digit citizen ID (Circular 07/2016/TT-BCA, 63 provinces).
PROVINCE_PREFIXES = frozenset(
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 "
    "035 036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 "
    "070 072 074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095 096".split()
)


PHONE = re.compile(r"^(?:0|\+84)\d{9,10}$")


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


ORG_ID = re.compile(r"^[0-9][0-9-]{8,15}$")


REQUEST_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


MAX_BACKDATE = dt.timedelta(days=30)


LIMITS = {
    "applicant_name": 200,
    "address": 300,
    "return_address": 300,
    "email": 120,
    "note": 2000,
    "reason": 2000,
}


class DossierError(Exception):
    """A request the desk must refuse; carries a Vietnamese message and per-field errors.

    :param code: a stable machine-readable code for the JSON API.
    :param status: the HTTP status the API answers with.
    """

    def __init__(
        self, message: str, *, code: str = "invalid", fields: dict | None = None, status: int = 422
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.fields = fields or {}
        self.status = status


def citizen_id_problem(value: str, today: dt.date) -> str | None:
    """Why ``value`` is not a valid 12-digit citizen ID, or None when it is."""
    if not re.fullmatch(r"\d{12}", value):
        return "Số định danh cá nhân (CCCD) phải gồm đúng 12 chữ số."
    if value[:3] not in PROVINCE_PREFIXES:
        return "Ba chữ số đầu của số định danh không phải mã tỉnh, thành phố hợp lệ."
    century = 1900 + 100 * (int(value[3]) // 2)
    if century + int(value[4:6]) > today.year:
        return "Năm sinh trong số định danh cá nhân nằm ở tương lai."
    return None


@dataclass
class IntakeForm:
    """Intake fields after cleaning; built by :func:`clean_intake`."""

    procedure: Procedure
    applicant_kind: str
    applicant_name: str
    citizen_id: str
    phone: str
    email: str
    address: str
    channel: str
    return_method: str
    return_address: str
    documents: list[dict]
    sets_count: int
    note: str
    received_at: dt.datetime
    request_key: str
    writing_assist: bool = False
    prefill_consent: bool = False
    errors: dict = field(default_factory=dict)


def clean_text(
    data: Mapping,
    name: str,
    errors: dict,
    *,
    required: bool = False,
    label: str = "",
    limit: int | None = None,
) -> str:
    """A text field, NFC-normalised; a problem goes into ``errors`` under ``name``."""
    limit = limit or LIMITS.get(name)
    raw = data.get(name)
    if raw is not None and not isinstance(raw, str):
        errors[name] = f"{label} phải là chuỗi ký tự."
        return ""
    value = nfc(raw)
    if required and not value:
        errors[name] = f"Vui lòng nhập {label.lower()}."
    elif limit and len(value) > limit:
        errors[name] = f"{label} dài quá {limit} ký tự."
    elif has_control_characters(value):
        errors[name] = f"{label} chứa ký tự điều khiển không hợp lệ."
    return value


def clean_intake(data: Mapping, *, now: dt.datetime) -> IntakeForm:
    """Validate raw intake fields (from the form or the API); raise :class:`DossierError`.

    ``documents`` is a list of the names of the procedure's documents that were received.
    """
    errors: dict[str, str] = {}
    code = clean_text(data, "procedure_code", errors, required=True, label="Thủ tục")
    procedure = db.session.get(Procedure, code) if code else None
    if code and (procedure is None or not procedure.active):
        errors["procedure_code"] = "Không có thủ tục này trong danh mục của phường, xã."
        procedure = None

    kind = clean_text(data, "applicant_kind", errors, label="Loại người nộp") or "person"
    if kind not in ("person", "organisation"):
        errors["applicant_kind"] = "Người nộp phải là cá nhân hoặc tổ chức."
    name = clean_text(data, "applicant_name", errors, required=True, label="Họ tên người nộp")
    citizen_id = re.sub(r"\s", "", clean_text(data, "citizen_id", errors, label="Số định danh"))
    if kind == "person":
        problem = (
            citizen_id_problem(citizen_id, to_local(now).date())
            if citizen_id
            else "Vui lòng nhập số định danh cá nhân (CCCD) 12 chữ số."
        )
        if problem:
            errors["citizen_id"] = problem
    elif citizen_id and not ORG_ID.fullmatch(citizen_id):
        errors["citizen_id"] = "Mã số thuế / mã định danh tổ chức không hợp lệ."
    phone = re.sub(r"[\s.]", "", clean_text(data, "phone", errors, label="Số điện thoại"))
    if phone and not PHONE.fullmatch(phone):
        errors["phone"] = "Số điện thoại không hợp lệ (10–11 chữ số, bắt đầu bằng 0 hoặc +84)."
    email = clean_text(data, "email", errors, label="Email")
    if email and not EMAIL.fullmatch(email):
        errors["email"] = "Địa chỉ email không hợp lệ."
    address = clean_text(data, "address", errors, required=True, label="Địa chỉ")

    channel = clean_text(data, "channel", errors, label="Hình thức nộp") or "desk"
    if channel not in CHANNELS:
        errors["channel"] = "Hình thức nộp hồ sơ không hợp lệ."
    return_method = clean_text(data, "return_method", errors, label="Nơi nhận kết quả") or "desk"
    if return_method not in RETURN_METHODS:
        errors["return_method"] = "Nơi nhận kết quả không hợp lệ."
    return_address = clean_text(data, "return_address", errors, label="Địa chỉ nhận kết quả")
    if return_method == "postal" and not return_address:
        return_address = address
    if procedure is not None:
        _check_procedure_allows(procedure, channel, return_method, errors)

    documents = _clean_documents(data.get("documents"), procedure, errors)
    sets_count = _integer(
        data.get("sets_count", 1),
        1,
        20,
        "sets_count",
        "Số bộ hồ sơ phải là số nguyên từ 1 đến 20.",
        errors,
    )
    note = clean_text(data, "note", errors, label="Ghi chú")
    received_at = _received_at(data.get("received_at"), now, errors)
    request_key = clean_text(data, "request_key", errors, required=True, label="Mã phiên nhập")
    if request_key and not REQUEST_KEY.fullmatch(request_key):
        errors["request_key"] = "Mã phiên nhập không hợp lệ."

    writing_assist = clean_flag(data, "writing_assist", errors)
    prefill_consent = clean_flag(data, "prefill_consent", errors)

    if errors:
        raise DossierError(
            "Hồ sơ chưa được tiếp nhận: vui lòng sửa các mục được đánh dấu.",
            code="validation_failed",
            fields=errors,
        )
    return IntakeForm(
        procedure,
        kind,
        name,
        citizen_id,
        phone,
        email,
        address,
        channel,
        return_method,
        return_address,
        documents,
        sets_count,
        note,
        received_at,
        request_key,
        writing_assist,
        prefill_consent,
    )


def clean_flag(data: Mapping, name: str, errors: dict) -> bool:
    """A yes/no field: a checkbox of a form ("1", "on") or a JSON boolean of the API."""
    raw = data.get(name)
    if raw in (None, "", False, "0", "false"):
        return False
    if raw in (True, "1", "on", "true"):
        return True
    errors[name] = "Giá trị có/không không hợp lệ."
    return False


def _check_procedure_allows(
    procedure: Procedure, channel: str, return_method: str, errors: dict
) -> None:
    if "postal" in (channel, return_method) and not procedure.postal_allowed:
        errors["return_method" if channel != "postal" else "channel"] = (
            "Thủ tục này không thực hiện qua dịch vụ bưu chính công ích."
        )
    if channel == "online_partial" and procedure.online_level == "none":
        errors["channel"] = "Thủ tục này chưa cung cấp dịch vụ công trực tuyến."
    if channel == "online_full" and procedure.online_level != "full":
        errors["channel"] = "Thủ tục này không cung cấp dịch vụ công trực tuyến toàn trình."


def _clean_documents(raw, procedure: Procedure | None, errors: dict) -> list[dict]:
    if raw is None:
        raw = []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(d, str) for d in raw):
        errors["documents"] = "Danh sách giấy tờ phải là danh sách tên giấy tờ."
        return []
    if procedure is None:
        return []
    received = {nfc(d) for d in raw}
    known = {d["name"]: d for d in procedure.documents}
    unknown = received - known.keys()
    missing = [
        d["name"] for d in procedure.documents if d["required"] and d["name"] not in received
    ]
    if unknown:
        errors["documents"] = "Giấy tờ không thuộc thành phần hồ sơ của thủ tục: " + "; ".join(
            sorted(unknown)
        )
    elif missing:
        errors["documents"] = (
            "Hồ sơ chưa đủ thành phần bắt buộc: "
            + "; ".join(missing)
            + ". Hướng dẫn công dân bổ sung trước khi tiếp nhận."
        )
    return [
        {"name": d["name"], "kind": d["kind"], "quantity": d["quantity"]}
        for d in procedure.documents
        if d["name"] in received
    ]


def _integer(raw, low: int, high: int, name: str, message: str, errors: dict) -> int:
    try:
        if isinstance(raw, (bool, float)):
            raise ValueError
        value = int(raw)
    except (TypeError, ValueError):
        errors[name] = message
        return low
    if not low <= value <= high:
        errors[name] = message
    return value


def _received_at(raw, now: dt.datetime, errors: dict) -> dt.datetime:
    """Receipt time: now, or an earlier time keyed in for a paper dossier (never the future)."""
    if raw in (None, ""):
        return now
    try:
        if not isinstance(raw, str):
            raise ValueError
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        errors["received_at"] = "Thời điểm tiếp nhận không đúng định dạng ngày giờ."
        return now
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    if value > now + dt.timedelta(minutes=1):
        errors["received_at"] = "Thời điểm tiếp nhận không được ở tương lai."
    elif value < now - MAX_BACKDATE:
        errors["received_at"] = "Chỉ nhập bổ sung được hồ sơ tiếp nhận trong 30 ngày gần đây."
    return value
