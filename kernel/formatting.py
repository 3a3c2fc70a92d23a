"""Jinja filters for Vietnamese display: dd/MM/yyyy dates, 24-hour times, 1.234.567 numbers."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from .regimes import channel_label
from .statuses import RETURN_METHODS, STATUS_LABELS, TIMELINESS_LABELS
from .workdays import to_local

WEEKDAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]


def vn_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = to_local(value)
    return f"{value:%d/%m/%Y}"


def vn_datetime(value: dt.datetime | None) -> str:
    return "" if value is None else f"{to_local(value):%H:%M %d/%m/%Y}"


def vn_date_time(value: dt.datetime | None) -> str:
    """Date first, as a line of status reads: "04/12/2026 14:05"."""
    return "" if value is None else f"{to_local(value):%d/%m/%Y %H:%M}"


def vn_long_datetime(value: dt.datetime | None) -> str:
    """The wording of the official forms: "14 giờ 05 phút, ngày 03 tháng 02 năm 2020"."""
    if value is None:
        return "… giờ … phút, ngày … tháng … năm …"
    v = to_local(value)
    weekday = WEEKDAYS[v.weekday()].lower()
    return f"{v:%H} giờ {v:%M} phút, {weekday} ngày {v:%d} tháng {v:%m} năm {v:%Y}"


def vn_long_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "ngày … tháng … năm …"
    if isinstance(value, dt.datetime):
        value = to_local(value)
    return f"ngày {value:%d} tháng {value:%m} năm {value:%Y}"


def vn_number(value: int | float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}".replace(",", ".")


def vn_percent(numerator: int, denominator: int) -> str:
    if not denominator:
        return "–"
    return f"{100 * numerator / denominator:.1f}".replace(".", ",") + " %"


def init_app(app: Flask, vocabularies: dict[str, dict]) -> None:
    """Register the filters, the kernel's status vocabulary and the app's own ``vocabularies``
    (label tables by the name templates use) on ``app``."""
    app.add_template_filter(vn_date)
    app.add_template_filter(vn_datetime)
    app.add_template_filter(vn_long_datetime)
    app.add_template_filter(vn_long_date)
    app.add_template_filter(vn_number)
    app.add_template_global(vn_percent)
    app.add_template_global(channel_label)
    tables: dict[str, dict] = {
        "STATUS_LABELS": STATUS_LABELS,
        "RETURN_METHODS": RETURN_METHODS,
        "TIMELINESS_LABELS": TIMELINESS_LABELS,
        **vocabularies,
    }
    for name, labels in tables.items():
        # Flask types a template global as a function; a label table is a global as well.
        app.add_template_global(labels, name)  # type: ignore[arg-type]
