"""Report screens for city staff: the city overview, drill-down to the dossiers behind a number,
charts and exports."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, render_template, request, url_for
from flask_login import login_required

from kernel import queryargs
from kernel.columns import utcnow
from kernel.formatting import vn_number
from kernel.regimes import labelled
from kernel.workdays import to_local

from ..extensions import db
from ..models import Ward
from . import charts, columns, export, maps
from .indicators import COUNT_BY_CODE, LABELS, REFORM_RATES
from .maps import UnitMap, on_map, unit_map
from .periods import Period, choices, parse_period
from .queries import (
    aggregate,
    count_behind,
    dossiers_behind,
    ratings_by_desk,
    ward_report,
    years_with_data,
)

bp = Blueprint("reports", __name__, url_prefix="/reports")
# The counts that have dossiers behind them (a rate or an average has none to list).
DRILLABLE = {code for code, count in COUNT_BY_CODE.items() if count.value is None}
PAGE_SIZE = 50


def requested_period() -> tuple[Period, dict]:
    """The period in the query string (or this month), and the query arguments that name it
    and the map (:func:`requested_map`); a period that makes no sense is refused (a 400 page
    with its reason, by kernel.errors)."""
    spec, first, last = (queryargs.text(request.args, k) for k in ("period", "from", "to"))
    if not (spec or first or last):
        spec = f"{to_local(utcnow()):%Y-%m}"
    period = parse_period(spec, first, last)
    args = {"period": spec} if spec and not (first or last) else {"from": first, "to": last}
    if requested_map().kind != maps.DEFAULT:
        args["map"] = requested_map().kind
    return period, args


def requested_map() -> UnitMap:
    """The map in the query string: the units of the period (the default) or of today; read
    once per request (the newest snapshot's units parsed once)."""
    if "unit_map" not in g:
        kind = queryargs.choice(request.args, "map", maps.MAPS, "Bản đồ đơn vị", maps.DEFAULT)
        g.unit_map = unit_map(kind)
    return g.unit_map


def map_report(period: Period) -> list:
    """The ward table of ``period`` on the requested map."""
    return on_map(ward_report(period.window()), requested_map(), period)


def known_ward(code: str | None) -> str | None:
    """``code`` when it names a ward (None stays None), else a 404 page; a code holding what no
    ward code holds (a NUL, which PostgreSQL refuses) is as unknown as any other."""
    if code and (not code.isprintable() or db.session.get(Ward, code) is None):
        abort(
            Response(render_template("error.html", status=404, message="Không có đơn vị này."), 404)
        )
    return code


def known_unit(code: str | None) -> str | None:
    """A report's unit: a registered ward (:func:`known_ward`) or, on today's map, one of
    today's units, registered or not (its predecessors are)."""
    if code and code.isprintable() and requested_map().is_unit(code):
        return code
    return known_ward(code)


@bp.route("/")
@login_required
def overview():
    period, args = requested_period()
    rows = map_report(period)
    return render_template(
        "reports/overview.html",
        period=period,
        args=args,
        unit_map=requested_map(),
        maps=maps.MAPS,
        rows=rows,
        figures=columns.figures(period.regimes),
        freshness=columns.FRESHNESS,
        reform=columns.REFORM,
        drillable=DRILLABLE,
        choices=period_choices(),
    )


def period_choices() -> list:
    """The picker's periods for every year from the first dossier the hub holds to the last
    (and this year, to which an empty hub's report opens)."""
    this_year = to_local(utcnow()).year
    first, last = years_with_data() or (this_year, this_year)
    return choices(range(min(first, this_year), max(last, this_year) + 1))


@bp.route("/ward/<code>")
@login_required
def ward(code: str):
    """A ward's figures by procedure field (or, with ``field``, by procedure)."""
    known_unit(code)
    period, args = requested_period()
    field_name = queryargs.text(request.args, "field") or None
    group = "procedure" if field_name else "field"
    units = requested_map()
    members = units.members(code)
    rows = aggregate(period.window(), group, ward=members, field_name=field_name)
    return render_template(
        "reports/breakdown.html",
        period=period,
        args=args,
        rows=rows,
        desks=ratings_by_desk(period.window(), members),
        reform_rates=REFORM_RATES,
        ward=units.record(code),
        unit_map=units,
        maps=maps.MAPS,
        field_name=field_name,
        group=group,
        figures=columns.figures(period.regimes),
        drillable=DRILLABLE,
        choices=period_choices(),
    )


def requested_dossiers() -> tuple[Period, dict, str, dict]:
    """The period, its query arguments, the indicator and the filters (ward, field, procedure)
    of a drill-down, as the screen and its exports both read them."""
    period, args = requested_period()
    indicator = queryargs.choice(request.args, "indicator", DRILLABLE, "Chỉ tiêu")
    ward = known_unit(request.args.get("ward") or None)
    filters = {
        "ward": requested_map().members(ward) if ward else None,
        "field_name": queryargs.text(request.args, "field") or None,
        "procedure": queryargs.text(request.args, "procedure") or None,
    }
    return period, {**args, "ward": ward}, indicator, filters


@bp.route("/dossiers")
@login_required
def dossiers():
    """The dossiers behind one number of the report, a page at a time: every one of them, as
    many pages as it takes; a page past the last (or no page number at all) is the first."""
    period, args, indicator, filters = requested_dossiers()
    window = period.window()
    total = count_behind(window, indicator, **filters)
    pages = max(-(-total // PAGE_SIZE), 1)
    page = queryargs.page(request.args)
    if page > pages:
        page = 1
    rows = dossiers_behind(
        window, indicator, **filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render_template(
        "reports/dossiers.html",
        period=period,
        args={
            **args,
            "indicator": indicator,
            "field": filters["field_name"],
            "procedure": filters["procedure"],
        },
        rows=[columns.dossier_values(d) for d in rows],
        columns=columns.DOSSIERS,
        total=total,
        page=page,
        pages=pages,
        label=labelled(LABELS[indicator], period.regimes),
        filters={**filters, "ward": args["ward"]},
        unit_map=requested_map(),
    )


@bp.route("/dossiers.<fmt>")
@login_required
def dossiers_export(fmt: str):
    """Every dossier behind a number (not a page of them), as CSV or Excel."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    period, args, indicator, filters = requested_dossiers()
    units = requested_map()
    rows = [
        columns.dossier_values(d) for d in dossiers_behind(period.window(), indicator, **filters)
    ]
    name = f"ho-so-{indicator}-{period.first:%Y%m%d}-{period.last:%Y%m%d}{file_mark(units)}"
    if fmt == "csv":
        return csv_response(export.csv_text(columns.DOSSIERS, rows), name)
    notes = [
        f"{what}: {value}"
        for what, value in (
            ("Bản đồ", units.label),
            ("Đơn vị", args["ward"] and units.record(args["ward"]).name),
            ("Lĩnh vực", filters["field_name"]),
            ("Thủ tục", filters["procedure"]),
        )
        if value
    ]
    return xlsx_response(
        export.xlsx_bytes(
            columns.DOSSIERS,
            rows,
            report=(
                f"Danh sách hồ sơ: {labelled(LABELS[indicator], period.regimes)}"
                f" ({vn_number(len(rows))} hồ sơ)"
            ),
            period=period,
            notes=notes,
        ),
        name,
    )


def file_mark(units: UnitMap) -> str:
    """What an export's file name adds for today's map (the period's keeps its old name)."""
    return "" if units.kind == maps.DEFAULT else "-don-vi-hien-nay"


def csv_response(text: str, name: str) -> Response:
    return Response(
        text.encode("utf-8-sig"),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}.csv"},
    )


def xlsx_response(data: bytes, name: str) -> Response:
    return Response(
        data,
        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@bp.route("/export.<fmt>")
@login_required
def export_table(fmt: str):
    period, _ = requested_period()
    units = requested_map()
    rows = map_report(period)
    name = f"bao-cao-{period.first:%Y%m%d}-{period.last:%Y%m%d}{file_mark(units)}"
    if fmt == "csv":
        return csv_response(export.to_csv(rows, period), name)
    if fmt == "xlsx":
        return xlsx_response(export.to_xlsx(rows, period, unit_map=units.label), name)
    if fmt == "json":
        return export.to_json(rows, period, unit_map=units)
    abort(404)


@bp.route("/chart/<name>.svg")
@login_required
def chart(name: str):
    period, _ = requested_period()
    if name == "on-time":
        svg = charts.on_time_by_ward(map_report(period))
    elif name == "ranking":
        svg = charts.ranking(map_report(period))
    elif name == "channels":
        ward = known_unit(request.args.get("ward") or None)
        svg = charts.monthly_by_channel(
            period.window(), requested_map().members(ward) if ward else None, period.regimes
        )
    else:
        abort(404)
    return Response(svg, mimetype="image/svg+xml")


@bp.app_template_global()
def report_url(endpoint: str, args: dict, **extra) -> str:
    return url_for(endpoint, **{k: v for k, v in {**args, **extra}.items() if v})
