"""Dossier states and the steps between them (decree 61/2018, Circular 01/2018).

Status codes are the national exchange codes (1–10) that provincial systems send to the National
Public Service Portal. Each step names the states it may start from; anything else is refused with
the step's own Vietnamese message and changes nothing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

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
PAUSED_STATUS = 5           # ... or paused until the citizen brings the supplement


# The one definition of the states a count is made of, for the ward's work lists and counters
# and the hub's report alike, at any moment ``as_of``, from the times the dossier keeps; ``c``
# is a dossier table's columns (the ward's own or the hub's copy). At the present moment each
# holds for exactly the statuses above: pending for OPEN_STATUSES, paused for PAUSED_STATUS,
# and overdue for RUNNING_STATUSES past their due time (tests/test_counts_agree.py).

def pending(c, as_of: dt.datetime) -> sa.ColumnElement[bool]:
    """Still with the ward at ``as_of``: received before it, neither resolved nor closed
    (refused, withdrawn) by then."""
    finished = sa.func.coalesce(c.resolved_at, c.closed_at)
    return sa.and_(c.received_at < as_of, sa.or_(finished.is_(None), finished >= as_of))


def paused(c, as_of: dt.datetime) -> sa.ColumnElement[bool]:
    """Pending at ``as_of`` and waiting then for the citizen's supplement: its clock stopped
    (the due time moves on when the supplement comes, so it is not late meanwhile)."""
    return sa.and_(pending(c, as_of), c.paused_at.is_not(None), c.paused_at <= as_of)


def overdue(c, as_of: dt.datetime) -> sa.ColumnElement[bool]:
    """Pending at ``as_of``, its clock running (not paused for a supplement) and past its due
    time."""
    return sa.and_(pending(c, as_of), c.due_at < as_of,
                   sa.or_(c.paused_at.is_(None), c.paused_at > as_of))


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


STEPS = {step.kind: step for step in (
    Step("received", "Tiếp nhận hồ sơ", (), 2, ""),
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
         "Chỉ xin lỗi, hẹn lại được hồ sơ đang giải quyết.", needs_reason=True),
    Step("resolved", "Hoàn thành giải quyết", (2, 4), 9,
         "Chỉ hoàn thành được hồ sơ đã tiếp nhận hoặc đang xử lý (không đang chờ bổ sung, "
         "chưa bị từ chối, chưa rút)."),
    Step("returned", "Trả kết quả", (9,), 10, "Chỉ trả được kết quả của hồ sơ đã giải quyết xong."),
    Step("withdrawn", "Công dân rút hồ sơ", OPEN_STATUSES, 7,
         "Chỉ rút được hồ sơ chưa có kết quả.", needs_reason=True),
)}


# Who may take which step, on whose dossier: the one rule every path follows (the desk's pages,
# the API and the generator through the service layer, the dossier page to show its buttons).
# HOLDER: only on a dossier the actor holds (its assignee: the receiver, then whoever it was
# last handed to), since the Mẫu 05 control slip must show the dossier passing into the hands
# of whoever decides on it. ANY: on any dossier of the ward. The leader may override on every
# step. The counter steps a citizen comes to the desk for (bringing a supplement, taking the
# result, withdrawing the dossier) are the desk's whoever holds the file; the decisions on the
# file (handing it on, asking for a supplement, refusing, apologising, resolving) are its
# holder's.
HOLDER, ANY = "holder", "any"
PERMISSIONS: dict[str, dict[str, str]] = {
    "received": {"receptionist": ANY, "leader": ANY},
    "handed_over": {"receptionist": HOLDER, "officer": HOLDER, "leader": ANY},
    "supplement_requested": {"receptionist": HOLDER, "officer": HOLDER, "leader": ANY},
    "supplement_received": {"receptionist": ANY, "officer": HOLDER, "leader": ANY},
    "refused": {"receptionist": HOLDER, "officer": HOLDER, "leader": ANY},
    "apology": {"officer": HOLDER, "leader": ANY},
    "resolved": {"officer": HOLDER, "leader": ANY},
    "returned": {"receptionist": ANY, "leader": ANY},
    "withdrawn": {"receptionist": ANY, "officer": HOLDER, "leader": ANY},
}


def step_roles(kind: str) -> frozenset[str]:
    """The roles that may take step ``kind`` on some dossier."""
    return frozenset(PERMISSIONS[kind])


def may_take(kind: str, roles: set[str], holds: bool) -> bool:
    """Whether a user with ``roles`` may take step ``kind`` on a dossier they hold or not
    (``holds``), by :data:`PERMISSIONS`."""
    scopes = {PERMISSIONS[kind].get(role) for role in roles}
    return ANY in scopes or (holds and HOLDER in scopes)


def steps_available(status: int, roles: set[str], holds: bool) -> list[Step]:
    """The steps a user with ``roles`` may take on a dossier in ``status`` that they hold or not,
    in display order."""
    return [s for s in STEPS.values()
            if status in s.allowed_from and may_take(s.kind, roles, holds)]
