"""What a dossier's state means, for the ward's work lists and the hub's reports alike: the
national status codes, the channels and return methods, and the one definition of pending,
paused and overdue at any moment.

Status codes are the national exchange codes (1–10) that provincial systems send to the National
Public Service Portal (Circular 01/2018); the steps between them are the ward's
(:mod:`wardapp.dossiers.lifecycle`).
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa


class Status(enum.IntEnum):
    """A dossier's status, as the national exchange code (stored as that integer)."""

    REGISTERED = 1  # Mới đăng ký (online, not yet accepted)
    RECEIVED = 2  # Đã tiếp nhận
    REFUSED = 3  # Từ chối giải quyết
    PROCESSING = 4  # Đang xử lý
    AWAITING_SUPPLEMENT = 5  # Chờ bổ sung hồ sơ
    AWAITING_FEES = 6  # Chờ thực hiện nghĩa vụ tài chính
    WITHDRAWN = 7  # Công dân rút hồ sơ
    STOPPED = 8  # Dừng xử lý
    RESOLVED = 9  # Đã có kết quả, chờ trả
    RETURNED = 10  # Đã trả kết quả


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
# the dossier is still with the ward, its clock running (or paused for the citizen's supplement)
RUNNING_STATUSES = (Status.RECEIVED, Status.PROCESSING)
PAUSED_STATUS = Status.AWAITING_SUPPLEMENT
OPEN_STATUSES = (*RUNNING_STATUSES, PAUSED_STATUS)
# someone at the desk has the dossier in hand: while it is open, and with its result until returned
HELD_STATUSES = (*OPEN_STATUSES, Status.RESOLVED)


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
    return sa.and_(
        pending(c, as_of), c.due_at < as_of, sa.or_(c.paused_at.is_(None), c.paused_at > as_of)
    )


# The channels a dossier comes by, and their names by the rules in force: kernel.regimes.
RETURN_METHODS = {
    "desk": "Tại Bộ phận Tiếp nhận và Trả kết quả",
    "postal": "Qua dịch vụ bưu chính công ích (tại nhà)",
}
TIMELINESS_LABELS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}
