"""The rules a dossier is handled under, as dated data: the 2018 regime (Decree 61/2018/NĐ-CP,
Circular 01/2018/TT-VPCP, online levels 3 and 4) until 30/6/2025 and the 2025 regime (Decree
118/2025/NĐ-CP, Circular 03/2025/TT-VPCP, online "một phần" and "toàn trình") from 1/7/2025
(README.md, "The rules by date").

A dossier is stamped with the regime in force on the local day it was received
(:func:`regime_at` of its ``received_at``, which never changes), so a 2020 dossier shows and
reprints as it did then; a report period is named by the regimes its days fall under
(:func:`regimes_between`), both when it spans the change. :func:`channel_label` and
:func:`online_words` are the one place the ward's screens, its printouts and the hub's report
headings take a channel's name from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from .workdays import to_local

# A dossier's channel, as stored; its name is the regime's (:func:`channel_label`).
CHANNELS = ("desk", "postal", "online_partial", "online_full")
ONLINE_CHANNELS = ("online_partial", "online_full")


@dataclass(frozen=True)
class Regime:
    code: str  # "2018" or "2025"
    starts: dt.date | None  # the first local day it is in force (None: the earliest rules known)
    decree: str
    circular: str
    forms: dict[str, str]  # the circular's forms by number
    channels: dict[str, str]  # a dossier's channel as its screen and printouts name it
    # The online categories' words after "trực tuyến" ("Tỷ lệ trực tuyến mức độ 3"), and as a
    # procedure's offer is named ("Hồ sơ của thủ tục mức độ 3").
    online: dict[str, str]
    procedure_online: dict[str, str]
    receipt_names_channel: bool  # the receipt (form 01) says how the dossier was filed


_DESK = "Trực tiếp tại Bộ phận một cửa"
_POSTAL = "Qua dịch vụ bưu chính công ích"
REGIME_2018 = Regime(
    code="2018",
    starts=None,
    decree="Nghị định số 61/2018/NĐ-CP",
    circular="Thông tư số 01/2018/TT-VPCP",
    forms={
        "01": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
        "02": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
        "03": "Phiếu từ chối tiếp nhận, giải quyết hồ sơ",
        "04": "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
        "05": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
        "06": "Sổ theo dõi hồ sơ",
    },
    channels={
        "desk": _DESK,
        "postal": _POSTAL,
        "online_partial": "Trực tuyến một phần (mức độ 3)",
        "online_full": "Trực tuyến toàn trình (mức độ 4)",
    },
    online={"online_partial": "mức độ 3", "online_full": "mức độ 4"},
    procedure_online={"online_partial": "mức độ 3", "online_full": "mức độ 4"},
    receipt_names_channel=False,
)
# The forms' numbering of Circular 03/2025 is still to be checked against the circular's text.
REGIME_2025 = Regime(
    code="2025",
    starts=dt.date(2025, 7, 1),
    decree="Nghị định số 118/2025/NĐ-CP",
    circular="Thông tư số 03/2025/TT-VPCP",
    forms={
        "01": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
        "02": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
        "03": "Phiếu từ chối tiếp nhận, giải quyết hồ sơ",
        "04": "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
        "05": "Phiếu thông báo dừng xử lý hồ sơ",
        "06": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
        "07": "Sổ theo dõi hồ sơ",
    },
    channels={
        "desk": _DESK,
        "postal": _POSTAL,
        "online_partial": "Trực tuyến một phần",
        "online_full": "Trực tuyến toàn trình",
    },
    online={"online_partial": "một phần", "online_full": "toàn trình"},
    procedure_online={
        "online_partial": "trực tuyến một phần",
        "online_full": "trực tuyến toàn trình",
    },
    receipt_names_channel=True,
)
REGIMES = (REGIME_2018, REGIME_2025)  # in the order they came into force
BY_CODE = {r.code: r for r in REGIMES}


def regime_on(day: dt.date) -> Regime:
    """The regime in force on a local ``day``."""
    in_force = REGIMES[0]
    for regime in REGIMES[1:]:
        if regime.starts is not None and regime.starts <= day:
            in_force = regime
    return in_force


def regime_at(moment: dt.datetime) -> Regime:
    """The regime in force at an aware ``moment``, by its local date in Asia/Ho_Chi_Minh (a
    dossier received at 00:30 on 1/7/2025 local, 17:30 UTC the day before, is a 2025 one)."""
    return regime_on(to_local(moment).date())


def regimes_between(first: dt.date, last: dt.date) -> tuple[Regime, ...]:
    """The regimes in force on some local day from ``first`` to ``last`` (inclusive), in the
    order they came into force."""
    return tuple(
        r for r in REGIMES if r is regime_on(first) or (r.starts and first < r.starts <= last)
    )


def _as_tuple(regimes: Regime | Iterable[Regime]) -> tuple[Regime, ...]:
    return (regimes,) if isinstance(regimes, Regime) else tuple(regimes)


def _joined(words: str, channel: str, regimes: tuple[Regime, ...]) -> str:
    """One regime's words for ``channel``, or every regime's, the newest first ("một phần /
    mức độ 3"), for a period that spans a change of the rules."""
    names = [getattr(r, words).get(channel, channel) for r in reversed(regimes)]
    return " / ".join(dict.fromkeys(names))


def online_words(channel: str, regimes: Regime | Iterable[Regime]) -> str:
    """An online channel's category, as the words after "trực tuyến": "mức độ 3" (2018),
    "một phần" (2025), "một phần / mức độ 3" across the change."""
    return _joined("online", channel, _as_tuple(regimes))


def procedure_online_words(channel: str, regimes: Regime | Iterable[Regime]) -> str:
    """The offer of a procedure whose dossiers may come by ``channel``, as "thủ tục …" names
    it: "mức độ 3" (2018), "trực tuyến một phần" (2025), both across the change."""
    return _joined("procedure_online", channel, _as_tuple(regimes))


def channel_label(channel: str, regimes: Regime | Iterable[Regime]) -> str:
    """The name of a dossier's ``channel`` under one regime (a dossier's, the intake form's), or
    under the regimes of a report period: the desk and the postal service keep their names; an
    online channel under both regimes is "Trực tuyến một phần / mức độ 3". An unknown channel
    is shown as stored."""
    chosen = _as_tuple(regimes)
    if len(chosen) == 1 or channel not in ONLINE_CHANNELS:
        return chosen[-1].channels.get(channel, channel)
    return f"Trực tuyến {online_words(channel, chosen)}"


def labelled(text: str, regimes: Regime | Iterable[Regime]) -> str:
    """``text`` with its online categories named by ``regimes``: ``{online_partial}`` is
    :func:`online_words`, ``{procedure_online_partial}`` :func:`procedure_online_words` and
    ``{channel_online_partial}`` :func:`channel_label` (``online_full`` likewise); a text
    without them is returned as it is."""
    if "{" not in text:
        return text
    chosen = _as_tuple(regimes)
    words = {}
    for channel in ONLINE_CHANNELS:
        words[channel] = online_words(channel, chosen)
        words[f"procedure_{channel}"] = procedure_online_words(channel, chosen)
        words[f"channel_{channel}"] = channel_label(channel, chosen)
    return text.format(**words)
