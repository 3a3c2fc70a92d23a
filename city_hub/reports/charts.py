"""Charts drawn on the server as SVG (pygal, with no script: nothing is loaded from outside)."""

from __future__ import annotations

import re

import pygal
import sqlalchemy as sa
from pygal.style import Style

from kernel.regimes import Regime, labelled

from ..extensions import db
from .indicators import DOSSIER, Window
from .queries import CITY, Row, Wards, ward_condition

STYLE = Style(
    background="white",
    plot_background="white",
    font_family="Arial, sans-serif",
    colors=("#0b5394", "#e69138", "#6aa84f", "#cc0000", "#674ea7"),
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=11,
    title_font_size=14,
)
# The chart's short names of the channels; the online ones by the period's rules.
CHANNEL_LABELS = {
    "desk": "Trực tiếp",
    "postal": "Bưu chính",
    "online_partial": "Trực tuyến {online_partial}",
    "online_full": "Trực tuyến {online_full}",
}


NO_DATA = "Không có dữ liệu"


def vn_value(value) -> str:
    """A figure on an axis the Vietnamese way: 1.234 for a count, 97,5 for a share."""
    if value is None:
        return ""
    if float(value).is_integer():
        return f"{value:,.0f}".replace(",", ".")
    return f"{value:.1f}".replace(".", ",")


def _chart(kind, title: str, **options):
    """A chart that says everything in Vietnamese: its title, axes, legend, figures and, when
    there is nothing to draw, "Không có dữ liệu" instead of pygal's "No data"."""
    options = {"show_legend": True, **options}
    return kind(
        js=[],
        style=STYLE,
        title=title,
        width=900,
        height=420,
        disable_xml_declaration=True,
        truncate_label=30,
        truncate_legend=40,
        no_data_text=NO_DATA,
        value_formatter=vn_value,
        **options,
    )


def _render(chart) -> str:
    """The chart's SVG without the config script pygal embeds even with ``js=[]`` (shown as an
    image it would never run, and a chart needs no script)."""
    return re.sub(r"<script\b.*?</script>", "", chart.render(is_unicode=True), flags=re.S)


def on_time_by_ward(rows: list[Row]) -> str:
    chart = _chart(
        pygal.Bar,
        "Tỷ lệ giải quyết đúng hạn theo đơn vị (%)",
        range=(0, 100),
        x_label_rotation=35,
        y_title="Tỷ lệ đúng hạn (%)",
        show_legend=False,
    )
    wards = [r for r in rows if r.key != CITY]
    chart.x_labels = [r.name for r in wards]
    chart.add(
        "Đúng hạn",
        [
            None if r.rates["on_time_rate"] is None else round(100 * r.rates["on_time_rate"], 1)
            for r in wards
        ],
    )
    return _render(chart)


def ranking(rows: list[Row]) -> str:
    """Wards ranked by on-time rate, then by volume resolved."""
    wards = sorted(
        (r for r in rows if r.key != CITY and r.counts["resolved"]),
        key=lambda r: (r.rates["on_time_rate"] or 0, r.counts["resolved"]),
    )
    chart = _chart(
        pygal.HorizontalBar,
        "Xếp hạng đơn vị theo tỷ lệ đúng hạn (%)",
        range=(0, 100),
        x_title="Tỷ lệ đúng hạn (%)",  # a horizontal chart's values run along the bottom
        show_legend=False,
    )
    chart.x_labels = [r.name for r in wards]
    chart.add("Đúng hạn", [round(100 * r.rates["on_time_rate"], 1) for r in wards])
    return _render(chart)


def _local_month(column):
    """The month (yyyy-mm) of a UTC time in Vietnam (UTC+7 all year, no daylight saving)."""
    if db.engine.dialect.name == "sqlite":
        return sa.func.strftime("%Y-%m", column, "+7 hours")
    return sa.func.to_char(column + sa.text("interval '7 hours'"), "YYYY-MM")


def monthly_by_channel(window: Window, ward: Wards, regimes: tuple[Regime, ...]) -> str:
    """Dossiers received each month by channel, the online ones named by the period's rules
    (``regimes``)."""
    month = _local_month(DOSSIER.c.received_at).label("month")
    stmt = (
        sa.select(month, DOSSIER.c.channel, sa.func.count())
        .where(DOSSIER.c.received_at >= window.start, DOSSIER.c.received_at < window.end)
        .group_by(month, DOSSIER.c.channel)
        .order_by(month)
    )
    if ward:
        stmt = stmt.where(ward_condition(DOSSIER.c.ward_code, ward))
    counts: dict[str, dict[str, int]] = {}
    for month_value, channel, count in db.session.execute(stmt):
        counts.setdefault(channel, {})[month_value] = count
    months = sorted({m for per in counts.values() for m in per})
    chart = _chart(
        pygal.StackedBar,
        "Hồ sơ tiếp nhận theo tháng và hình thức nộp",
        x_title="Tháng",
        y_title="Số hồ sơ",
    )
    chart.x_labels = [f"{m[5:]}/{m[:4]}" for m in months]
    for channel, label in CHANNEL_LABELS.items():
        chart.add(labelled(label, regimes), [counts.get(channel, {}).get(m, 0) for m in months])
    return _render(chart)
