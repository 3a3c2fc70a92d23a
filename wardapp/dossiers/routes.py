"""Desk routes. Each renders a full page, or only its ``_partial`` template for htmx requests."""

from __future__ import annotations

import datetime as dt
import re
import secrets

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from kernel import queryargs
from kernel.columns import utcnow
from kernel.regimes import regime_at
from kernel.workdays import local_datetime, to_local
from wardapp.dossiers.intake import DossierError
from wardapp.sync.records import Dossier, DossierEvent, User

from ..auth import roles_required
from ..extensions import db, htmx
from ..models import Procedure
from .lifecycle import STEPS, step_roles
from .queries import (
    SORTS,
    WORK_LISTS,
    channel_choices,
    days_overdue,
    home_counters,
    read_work_list_filter,
    search_dossiers,
    search_procedures,
    work_list_counts,
    work_list_query,
)
from .service import (
    earlier_applicant,
    load_calendar,
    receive_dossier,
    record_step,
    steps_for,
    this_ward,
)

bp = Blueprint("dossiers", __name__)

DESK_ROLES = ("receptionist", "officer", "leader", "admin")
PRINT_FORMS = {
    "01": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "02": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
    "03": "Phiếu từ chối tiếp nhận, giải quyết hồ sơ",
    "04": "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
    "05": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
}
WRITTEN_FORM = "viet-ho"  # the application form the writing desk filled in, for signature
# The procedure's own application form (Circular 04/2020/TT-BTP) the writing desk prints, by
# procedure code (a mobile registration uses the form of the registration); any other procedure
# prints the generic one, print/viet_ho.html.
APPLICATION_FORMS = {
    "1.001193": "khai_sinh",  # Đăng ký khai sinh
    "1.003583": "khai_sinh",  # Đăng ký khai sinh lưu động
    "1.000894": "ket_hon",  # Đăng ký kết hôn
    "1.000593": "ket_hon",  # Đăng ký kết hôn lưu động
    "1.000656": "khai_tu",  # Đăng ký khai tử
    "1.000419": "khai_tu",  # Đăng ký khai tử lưu động
    "1.004873": "xac_nhan_hon_nhan",  # Cấp Giấy xác nhận tình trạng hôn nhân
    "2.000635": "ban_sao_trich_luc",  # Cấp bản sao Trích lục hộ tịch
}
# What the writing desk copies from a citizen's earlier dossier.
PREFILLED = ("applicant_kind", "applicant_name", "phone", "email", "address")
LOGBOOK_LIMIT = 5000
# The event a form prints from; a form whose event has not happened cannot be printed.
PRINT_FORM_EVENT = {"02": "supplement_requested", "03": "refused", "04": "apology"}


@bp.app_context_processor
def inject_ward():
    if not current_user.is_authenticated:
        return {}
    return {"ward": this_ward().unit}


def get_dossier_or_404(code: str) -> Dossier:
    dossier = db.session.scalar(sa.select(Dossier).where(Dossier.code == code))
    if dossier is None:
        abort(404)
    return dossier


@bp.route("/")
@roles_required(*DESK_ROLES)
def home():
    counters = home_counters(utcnow())
    return render_template("dossiers/home.html", counters=counters, work_lists=WORK_LISTS)


@bp.route("/dossiers/new")
@roles_required(*step_roles("received"))
def new():
    return render_intake({}, {})


def render_intake(
    values: dict,
    errors: dict,
    message: str | None = None,
    status: int = 200,
    prefill_note: str | None = None,
):
    procedures = search_procedures("")
    selected = db.session.get(Procedure, values.get("procedure_code") or "")
    values.setdefault("request_key", secrets.token_urlsafe(16))
    template = "dossiers/_intake_form.html" if htmx else "dossiers/new.html"
    return render_template(
        template,
        values=values,
        errors=errors,
        message=message,
        procedures=procedures,
        selected=selected,
        received=set(values.get("documents") or []),
        prefill_note=prefill_note,
        channels=regime_at(utcnow()).channels,  # named as the rules in force today name them
    ), status


@bp.route("/dossiers", methods=["POST"])
@roles_required(*step_roles("received"))
def create():
    values = request.form.to_dict()
    values["documents"] = request.form.getlist("documents")
    try:
        dossier, _ = receive_dossier(values, actor=current_user)
    except DossierError as e:
        return render_intake(values, e.fields, e.message, 422)
    flash(f"Đã tiếp nhận hồ sơ {dossier.code}.", "success")
    target = url_for("dossiers.show", code=dossier.code)
    if htmx:
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


@bp.route("/dossiers/prefill")
@roles_required(*step_roles("received"))
def prefill():
    """The writing desk: fill the applicant's details from their newest earlier dossier at this
    ward, found by citizen ID, only once the citizen's consent is ticked."""
    values = request.args.to_dict()
    values["documents"] = request.args.getlist("documents")
    values.pop("csrf_token", None)
    if not values.get("prefill_consent"):
        return render_intake(
            values,
            {"prefill_consent": "Cần công dân đồng ý trước khi dùng thông tin từ hồ sơ trước."},
        )
    earlier = earlier_applicant(re.sub(r"\s", "", values.get("citizen_id", ""))[:20])
    if earlier is None:
        return render_intake(
            values, {}, prefill_note="Không có hồ sơ trước của số định danh này tại phường, xã."
        )
    for name in PREFILLED:
        values[name] = getattr(earlier, name)
    return render_intake(
        values, {}, prefill_note=f"Đã điền từ hồ sơ {earlier.code}; kiểm tra lại với công dân."
    )


@bp.route("/procedures/options")
@roles_required(*step_roles("received"))
def procedure_options():
    return render_template(
        "dossiers/_procedure_options.html",
        procedures=search_procedures(queryargs.text(request.args, "q", 100)),
        selected=None,
    )


@bp.route("/procedures/documents")
@roles_required(*step_roles("received"))
def procedure_documents():
    procedure = db.session.get(Procedure, queryargs.text(request.args, "procedure_code"))
    return render_template(
        "dossiers/_documents.html", selected=procedure, received=set(), errors={}, values={}
    )


@bp.route("/dossiers/<code>")
@roles_required(*DESK_ROLES)
def show(code: str):
    return render_dossier(get_dossier_or_404(code))


def render_dossier(dossier: Dossier, error: str | None = None, status: int = 200):
    now = utcnow()
    steps = steps_for(current_user, dossier, now)
    officers = db.session.scalars(sa.select(User).where(User.active).order_by(User.full_name))
    template = "dossiers/_dossier.html" if htmx else "dossiers/show.html"
    return render_template(
        template,
        dossier=dossier,
        steps=steps,
        officers=list(officers),
        error=error,
        print_forms=printable_forms(dossier),
        now=now,
        # the resolve step's result document is dated between receipt and today
        result_dates=(to_local(dossier.received_at).date(), to_local(now).date()),
    ), status


@bp.route("/dossiers/<code>/steps/<kind>", methods=["POST"])
@roles_required(*DESK_ROLES)
def step(code: str, kind: str):
    version = request.form.get("version", type=int)
    try:
        dossier = record_step(
            code,
            kind,
            actor=current_user,
            expected_version=version,
            to_user_uuid=request.form.get("to_user_uuid"),
            reason=request.form.get("reason"),
            new_due_date=request.form.get("new_due_date"),
            return_method=request.form.get("return_method"),
            result_number=request.form.get("result_number"),
            result_date=request.form.get("result_date"),
        )
    except DossierError as e:  # nothing was written; show why on the dossier (404 if unknown)
        return render_dossier(get_dossier_or_404(code), e.message, e.status)
    flash(f"Đã ghi: {STEPS[kind].label}.", "success")
    if htmx:
        return render_dossier(dossier)
    return redirect(url_for("dossiers.show", code=code))


@bp.app_template_global("days_overdue")
def days_overdue_now(dossier: Dossier) -> int:
    """Working days the dossier is late by now, for a list's "Quá hạn" column."""
    if "calendar" not in g:  # one calendar for every row of the page
        g.calendar = load_calendar()
    return days_overdue(dossier, utcnow(), g.calendar)


@bp.route("/worklists/<name>")
@roles_required(*DESK_ROLES)
def work_list(name: str):
    """A work list with its tabs' counts, narrowed and sorted as the official asked; every
    link on it (tabs, pages, sorting) keeps the filter."""
    if name not in WORK_LISTS:
        abort(404)
    now, calendar = utcnow(), load_calendar()
    narrowed, notices = read_work_list_filter(request.args)
    sort = request.args.get("sort") if request.args.get("sort") in SORTS else None
    query = work_list_query(name, now, calendar, current_user.uuid, narrowed, sort)
    pagination = db.paginate(query, page=queryargs.page(request.args), per_page=50, error_out=False)
    template = "dossiers/_dossier_table.html" if htmx else "dossiers/work_list.html"
    return render_template(
        template,
        name=name,
        title=WORK_LISTS[name],
        pagination=pagination,
        dossiers=pagination.items,
        work_lists=WORK_LISTS,
        counts=work_list_counts(now, calendar, current_user.uuid, narrowed),
        narrowed=narrowed,
        list_args={**narrowed.query_args(), **({"sort": sort} if sort else {})},
        sort=sort,
        sorts=SORTS,
        notices=notices,
        procedures=search_procedures(""),
        channels=channel_choices(now),
        now=now,
    )


@bp.route("/search")
@roles_required(*DESK_ROLES)
def search():
    query = queryargs.text(request.args, "q")
    dossiers = search_dossiers(query) if query.strip() else []
    template = "dossiers/_search_results.html" if htmx else "dossiers/search.html"
    return render_template(template, query=query, dossiers=dossiers, now=utcnow())


def printable_forms(dossier: Dossier) -> dict[str, str]:
    kinds = {e.kind for e in dossier.events}
    forms = {
        number: title
        for number, title in PRINT_FORMS.items()
        if PRINT_FORM_EVENT.get(number, "received") in kinds
    }
    if dossier.writing_assist:
        forms[WRITTEN_FORM] = "Tờ khai do Bàn viết hộ điền"
    return forms


@bp.route("/dossiers/<code>/print/<form>")
@roles_required(*DESK_ROLES)
def print_form(code: str, form: str):
    dossier = get_dossier_or_404(code)
    forms = printable_forms(dossier)
    if form not in forms:
        abort(404)
    event_kind = PRINT_FORM_EVENT.get(form)
    event = next((e for e in reversed(dossier.events) if e.kind == event_kind), None)
    if form == WRITTEN_FORM:
        own = APPLICATION_FORMS.get(dossier.procedure_code)
        template = f"print/to_khai/{own}.html" if own else "print/viet_ho.html"
    else:
        template = f"print/mau{form}.html"
    return render_template(
        template, dossier=dossier, event=event, title=forms[form], calendar=load_calendar()
    )


@bp.route("/logbook")
@roles_required(*DESK_ROLES)
def logbook():
    """Mẫu 06, the dossier logbook, for a span of receipt dates (A4 landscape)."""
    today = to_local(utcnow()).date()
    try:
        start = queryargs.date(request.args, "from", today.replace(day=1), "bắt đầu")
        end = queryargs.date(request.args, "to", today, "kết thúc")
    except queryargs.QueryError as e:
        start, end = today.replace(day=1), today
        flash(f"{e} Đang hiển thị tháng này.", "warning")
    if end < start or (end - start).days > 366:
        start, end = today.replace(day=1), today
        flash("Khoảng ngày không hợp lệ (tối đa một năm); đang hiển thị tháng này.", "warning")
    first_hand_over = (
        sa.select(sa.func.min(DossierEvent.at))
        .where(DossierEvent.dossier_uuid == Dossier.uuid, DossierEvent.kind == "handed_over")
        .scalar_subquery()
        .label("handed_over_at")
    )
    result = (
        sa.select(DossierEvent.data)
        .where(DossierEvent.dossier_uuid == Dossier.uuid, DossierEvent.kind == "resolved")
        .order_by(DossierEvent.position.desc())
        .limit(1)
        .scalar_subquery()
        .label("result")
    )
    columns = [
        getattr(Dossier, name)
        for name in (
            "logbook_number",
            "code",
            "procedure_name",
            "sets_count",
            "applicant_name",
            "address",
            "phone",
            "received_at",
            "due_at",
            "due_at_revised",
            "resolved_at",
            "returned_at",
            "status",
            "timeliness",
        )
    ]
    # Plain rows, not full dossiers with their events: a year's logbook stays light.
    dossiers = db.session.execute(
        sa.select(*columns, first_hand_over, result)
        .where(
            Dossier.received_at >= local_datetime(start, dt.time(0)),
            Dossier.received_at < local_datetime(end + dt.timedelta(days=1), dt.time(0)),
        )
        .order_by(Dossier.received_at)
        .limit(LOGBOOK_LIMIT + 1)
    ).all()
    if len(dossiers) > LOGBOOK_LIMIT:
        dossiers = dossiers[:LOGBOOK_LIMIT]
        flash(
            f"Khoảng ngày có hơn {LOGBOOK_LIMIT} hồ sơ; chỉ hiện {LOGBOOK_LIMIT} hồ sơ đầu. "
            "Chọn khoảng ngày ngắn hơn để in đủ.",
            "warning",
        )
    return render_template("print/mau06.html", dossiers=dossiers, start=start, end=end)
