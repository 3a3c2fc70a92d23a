"""Report screens for city staff: the city overview, drill-down to the dossiers behind a number,
charts and exports."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, flash, render_template, request, url_for
from flask_login import login_required

from kernel import queryargs
from kernel.columns import utcnow
from kernel.workdays import to_local

from ..extensions import db
from ..models import Ward
from . import charts, export
from .indicators import (
    AVERAGES,
    COUNT_BY_CODE,
    LABELS,
    RATES,
    REFORM_RATES,
    SHOWN_COUNTS,
    SHOWN_RECORD_COUNTS,
)
from .periods import Period, parse_period
from .queries import aggregate, dossiers_behind, ratings_by_desk, ward_report

bp = Blueprint("reports", __name__, url_prefix="/reports")
# The counts that have dossiers behind them (a rate or an average has none to list).
DRILLABLE = {code for code, count in COUNT_BY_CODE.items() if count.value is None}


def requested_period() -> tuple[Period, dict]:
    """The period in the query string (or this month), and the query arguments that name it; a
    period that makes no sense is refused (a 400 page with its reason, by kernel.errors)."""
    spec, first, last = (queryargs.text(request.args, k) for k in ("period", "from", "to"))
    if not (spec or first or last):
        spec = f"{to_local(utcnow()):%Y-%m}"
    period = parse_period(spec, first, last)
    args = {"period": spec} if spec and not (first or last) else {"from": first, "to": last}
    return period, args


def known_ward(code: str | None) -> str | None:
    """``code`` when it names a ward (None stays None), else a 404 page; a code holding what no
    ward code holds (a NUL, which PostgreSQL refuses) is as unknown as any other."""
    if code and (not code.isprintable() or db.session.get(Ward, code) is None):
        abort(
            Response(render_template("error.html", status=404, message="Không có đơn vị này."), 404)
        )
    return code


@bp.route("/")
@login_required
def overview():
    period, args = requested_period()
    rows = ward_report(period.window())
    return render_template(
        "reports/overview.html",
        period=period,
        args=args,
        rows=rows,
        counts=SHOWN_COUNTS,
        rates=RATES,
        averages=AVERAGES,
        labels=LABELS,
        record_counts=SHOWN_RECORD_COUNTS,
        reform_rates=REFORM_RATES,
        presets=presets(to_local(utcnow()).date()),
    )


def presets(today: dt.date) -> list[tuple[str, str]]:
    quarter = (today.month - 1) // 3 + 1
    return [
        (f"{today:%Y-%m}", "Tháng này"),
        (f"{today.year}-Q{quarter}", "Quý này"),
        (f"{today.year}-9M", "9 tháng đầu năm"),
        (f"{today.year}", "Cả năm"),
        (f"{today.year - 1}", "Năm trước"),
    ]


@bp.route("/ward/<code>")
@login_required
def ward(code: str):
    """A ward's figures by procedure field (or, with ``field``, by procedure)."""
    known_ward(code)
    period, args = requested_period()
    field_name = queryargs.text(request.args, "field") or None
    group = "procedure" if field_name else "field"
    rows = aggregate(period.window(), group, ward=code, field_name=field_name)
    return render_template(
        "reports/breakdown.html",
        period=period,
        args=args,
        rows=rows,
        desks=ratings_by_desk(period.window(), code),
        reform_rates=REFORM_RATES,
        ward=db.session.get(Ward, code),
        field_name=field_name,
        group=group,
        counts=SHOWN_COUNTS,
        rates=RATES,
        averages=AVERAGES,
        labels=LABELS,
    )


@bp.route("/dossiers")
@login_required
def dossiers():
    """The dossiers behind one number of the report."""
    period, args = requested_period()
    indicator = queryargs.choice(request.args, "indicator", DRILLABLE, "Chỉ tiêu")
    filters = {
        "ward": known_ward(request.args.get("ward") or None),
        "field_name": queryargs.text(request.args, "field") or None,
        "procedure": queryargs.text(request.args, "procedure") or None,
    }
    rows = dossiers_behind(period.window(), indicator, **filters, limit=1001)
    if len(rows) > 1000:
        flash("Chỉ hiện 1.000 hồ sơ đầu tiên; thu hẹp kỳ hoặc đơn vị để xem đủ.", "warning")
    return render_template(
        "reports/dossiers.html",
        period=period,
        args=args,
        rows=rows[:1000],
        indicator=indicator,
        label=LABELS[indicator],
        filters=filters,
    )


@bp.route("/export.<fmt>")
@login_required
def export_table(fmt: str):
    period, _ = requested_period()
    rows = ward_report(period.window())
    name = f"bao-cao-{period.first:%Y%m%d}-{period.last:%Y%m%d}"
    if fmt == "csv":
        return Response(
            export.to_csv(rows).encode("utf-8-sig"),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename={name}.csv"},
        )
    if fmt == "xlsx":
        return Response(
            export.to_xlsx(rows, period),
            headers={"Content-Disposition": f"attachment; filename={name}.xlsx"},
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    if fmt == "json":
        return export.to_json(rows, period)
    abort(404)


@bp.route("/chart/<name>.svg")
@login_required
def chart(name: str):
    period, _ = requested_period()
    if name == "on-time":
        svg = charts.on_time_by_ward(ward_report(period.window()))
    elif name == "ranking":
        svg = charts.ranking(ward_report(period.window()))
    elif name == "channels":
        svg = charts.monthly_by_channel(
            period.window(), known_ward(request.args.get("ward") or None)
        )
    else:
        abort(404)
    return Response(svg, mimetype="image/svg+xml")


@bp.app_template_global()
def report_url(endpoint: str, args: dict, **extra) -> str:
    return url_for(endpoint, **{k: v for k, v in {**args, **extra}.items() if v})
