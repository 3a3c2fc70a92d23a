"""Dossier states and the steps between them (decree 61/2018, Circular 01/2018).

Status codes are the national exchange codes (1–10) that provincial systems send to the National
Public Service Portal. Each step names the states it may start from; anything else is refused with
the step's own Vietnamese message and changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

STATUS_LABELS = {
    1: "Mới đăng ký",
    2: "Đã tiếp nhận",
    3: "Từ chối giải quyết",
    4: "Đang xử lý",
    5: "Chờ bổ sung hồ sơ",
    6: "Chờ thực hiện nghĩa vụ tài chính",
    7: "Công dân rút hồ sơ",
    8: "Dừng xử lý",
    9: "Đã có kết quả, chờ trả",
    10: "Đã trả kết quả",
}
OPEN_STATUSES = (2, 4, 5)   # the dossier is still with the ward
RUNNING_STATUSES = (2, 4)   # ... and its clock is running

CHANNELS = {
    "desk": "Trực tiếp tại Bộ phận một cửa",
    "postal": "Qua dịch vụ bưu chính công ích",
    "online_partial": "Trực tuyến một phần (mức độ 3)",
    "online_full": "Trực tuyến toàn trình (mức độ 4)",
}
RETURN_METHODS = {
    "desk": "Tại Bộ phận Tiếp nhận và Trả kết quả",
    "postal": "Qua dịch vụ bưu chính công ích (tại nhà)",
}
TIMELINESS_LABELS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}


@dataclass(frozen=True)
class Step:
    kind: str
    label: str
    allowed_from: tuple[int, ...]
    status_after: int | None  # None: the status does not change
    refused_message: str
    needs_reason: bool = False
    roles: frozenset[str] = frozenset({"receptionist", "officer", "leader"})


STEPS = {step.kind: step for step in (
    Step("received", "Tiếp nhận hồ sơ", (), 2, "", roles=frozenset({"receptionist", "leader"})),
    Step("handed_over", "Chuyển xử lý", (2, 4), 4,
         "Chỉ chuyển được hồ sơ đã tiếp nhận hoặc đang xử lý."),
    Step("supplement_requested", "Yêu cầu bổ sung hồ sơ (Mẫu 02)", (2, 4), 5,
         "Chỉ yêu cầu bổ sung được hồ sơ đã tiếp nhận hoặc đang xử lý.", needs_reason=True),
    Step("supplement_received", "Nhận hồ sơ bổ sung", (5,), 4,
         "Hồ sơ không ở trạng thái chờ bổ sung."),
    Step("refused", "Từ chối giải quyết (Mẫu 03)", (2, 4, 5), 3,
         "Không thể từ chối hồ sơ đã có kết quả, đã trả, đã rút hoặc đã bị từ chối.",
         needs_reason=True),
    Step("apology", "Xin lỗi và hẹn lại ngày trả (Mẫu 04)", OPEN_STATUSES, None,
         "Chỉ xin lỗi, hẹn lại được hồ sơ đang giải quyết.", needs_reason=True,
         roles=frozenset({"leader", "officer"})),
    Step("resolved", "Hoàn thành giải quyết", (2, 4), 9,
         "Chỉ hoàn thành được hồ sơ đã tiếp nhận hoặc đang xử lý (không đang chờ bổ sung, "
         "chưa bị từ chối, chưa rút).", roles=frozenset({"officer", "leader"})),
    Step("returned", "Trả kết quả", (9,), 10, "Chỉ trả được kết quả của hồ sơ đã giải quyết xong.",
         roles=frozenset({"receptionist", "leader"})),
    Step("withdrawn", "Công dân rút hồ sơ", OPEN_STATUSES, 7,
         "Chỉ rút được hồ sơ chưa có kết quả.", needs_reason=True),
)}


def steps_available(status: int, roles: set[str]) -> list[Step]:
    """The steps a user with ``roles`` may take on a dossier in ``status``, in display order."""
    return [s for s in STEPS.values()
            if status in s.allowed_from and (roles & s.roles)]
