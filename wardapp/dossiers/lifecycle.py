"""Dossier states and the steps between them (decree 61/2018, Circular 01/2018).

Status codes are the national exchange codes (1–10) that provincial systems send to the National
Public Service Portal. Each step names the states it may start from; anything else is refused with
the step's own Vietnamese message and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.statuses import OPEN_STATUSES
from kernel.statuses import Status as S


@dataclass(frozen=True)
class Step:
    kind: str
    label: str
    allowed_from: tuple[S, ...]
    status_after: S | None  # None: the status does not change
    refused_message: str
    needs_reason: bool = False


STEPS = {
    step.kind: step
    for step in (
        Step("received", "Tiếp nhận hồ sơ", (), S.RECEIVED, ""),
        Step(
            "handed_over",
            "Chuyển xử lý",
            (S.RECEIVED, S.PROCESSING),
            S.PROCESSING,
            "Chỉ chuyển được hồ sơ đã tiếp nhận hoặc đang xử lý.",
        ),
        Step(
            "supplement_requested",
            "Yêu cầu bổ sung hồ sơ (Mẫu 02)",
            (S.RECEIVED, S.PROCESSING),
            S.AWAITING_SUPPLEMENT,
            "Chỉ yêu cầu bổ sung được hồ sơ đã tiếp nhận hoặc đang xử lý.",
            needs_reason=True,
        ),
        Step(
            "supplement_received",
            "Nhận hồ sơ bổ sung",
            (S.AWAITING_SUPPLEMENT,),
            S.PROCESSING,
            "Hồ sơ không ở trạng thái chờ bổ sung.",
        ),
        Step(
            "refused",
            "Từ chối giải quyết (Mẫu 03)",
            (S.RECEIVED, S.PROCESSING, S.AWAITING_SUPPLEMENT),
            S.REFUSED,
            "Không thể từ chối hồ sơ đã có kết quả, đã trả, đã rút hoặc đã bị từ chối.",
            needs_reason=True,
        ),
        Step(
            "apology",
            "Xin lỗi và hẹn lại ngày trả (Mẫu 04)",
            OPEN_STATUSES,
            None,
            "Chỉ xin lỗi, hẹn lại được hồ sơ đang giải quyết.",
            needs_reason=True,
        ),
        Step(
            "resolved",
            "Hoàn thành giải quyết",
            (S.RECEIVED, S.PROCESSING),
            S.RESOLVED,
            "Chỉ hoàn thành được hồ sơ đã tiếp nhận hoặc đang xử lý (không đang chờ bổ sung, "
            "chưa bị từ chối, chưa rút).",
        ),
        Step(
            "returned",
            "Trả kết quả",
            (S.RESOLVED,),
            S.RETURNED,
            "Chỉ trả được kết quả của hồ sơ đã giải quyết xong.",
        ),
        Step(
            "withdrawn",
            "Công dân rút hồ sơ",
            OPEN_STATUSES,
            S.WITHDRAWN,
            "Chỉ rút được hồ sơ chưa có kết quả.",
            needs_reason=True,
        ),
    )
}


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


def steps_available(status: S, roles: set[str], holds: bool) -> list[Step]:
    """The steps a user with ``roles`` may take on a dossier in ``status`` that they hold or not,
    in display order."""
    return [
        s for s in STEPS.values() if status in s.allowed_from and may_take(s.kind, roles, holds)
    ]
