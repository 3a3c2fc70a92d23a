"""The feedback register: lists, a new entry, and one feedback with its assignment and answer."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kernel import queryargs
from kernel.columns import utcnow
from wardapp.dossiers.intake import DossierError
from wardapp.sync.records import Feedback, User

from ..auth import roles_required
from ..dossiers.routes import DESK_ROLES
from ..extensions import db
from .service import (
    ANSWER_ROLES,
    ASSIGN_ROLES,
    LISTS,
    RECORD_ROLES,
    answer_days,
    answer_feedback,
    assign_feedback,
    feedback_list,
    receive_feedback,
)

bp = Blueprint("feedback", __name__, url_prefix="/feedback")


@bp.route("/")
@roles_required(*DESK_ROLES)
def index():
    name = queryargs.choice(request.args, "list", LISTS, "Danh sách phản ánh", "open")
    now = utcnow()
    page = queryargs.page(request.args)
    pagination = db.paginate(feedback_list(name, now), page=page, per_page=50, error_out=False)
    counts = {
        key: db.session.scalar(
            sa.select(sa.func.count()).select_from(
                feedback_list(key, now).order_by(None).subquery()
            )
        )
        for key in LISTS
    }
    return render_template(
        "feedback/index.html",
        name=name,
        lists=LISTS,
        counts=counts,
        pagination=pagination,
        items=pagination.items,
        now=now,
    )


@bp.route("/new")
@roles_required(*RECORD_ROLES)
def new():
    return render_template(
        "feedback/new.html", values={}, errors={}, message=None, days=current_days()
    )


@bp.route("/", methods=["POST"])
@roles_required(*RECORD_ROLES)
def create():
    try:
        feedback = receive_feedback(request.form, actor=current_user)
    except DossierError as e:
        return render_template(
            "feedback/new.html",
            values=request.form.to_dict(),
            errors=e.fields,
            message=e.message,
            days=current_days(),
        ), e.status
    flash("Đã ghi nhận phản ánh, kiến nghị.", "success")
    return redirect(url_for("feedback.show", uuid=feedback.uuid))


def current_days() -> int | None:
    """The configured time limit, or None while the setting is invalid (then recording is
    refused with the reason, and the form just does not state a limit)."""
    try:
        return answer_days()
    except DossierError:
        return None


def get_feedback_or_404(uuid: str) -> Feedback:
    feedback = db.session.get(Feedback, uuid)
    if feedback is None:
        abort(404)
    return feedback


def render_feedback(feedback: Feedback, error: str | None = None, status: int = 200):
    officers = db.session.scalars(sa.select(User).where(User.active).order_by(User.full_name))
    return render_template(
        "feedback/show.html",
        feedback=feedback,
        error=error,
        now=utcnow(),
        officers=[u for u in officers if u.has_any_role(*ANSWER_ROLES)],
        can_assign=current_user.has_any_role(*ASSIGN_ROLES),
        can_answer=current_user.has_any_role(*ANSWER_ROLES),
    ), status


@bp.route("/<uuid>")
@roles_required(*DESK_ROLES)
def show(uuid: str):
    return render_feedback(get_feedback_or_404(uuid))


@bp.route("/<uuid>/assign", methods=["POST"])
@roles_required(*ASSIGN_ROLES)
def assign(uuid: str):
    try:
        assign_feedback(
            uuid,
            request.form.get("assignee_uuid"),
            actor=current_user,
            expected_version=request.form.get("version", type=int),
        )
    except DossierError as e:
        return render_feedback(get_feedback_or_404(uuid), e.message, e.status)
    flash("Đã phân công xử lý.", "success")
    return redirect(url_for("feedback.show", uuid=uuid))


@bp.route("/<uuid>/answer", methods=["POST"])
@roles_required(*ANSWER_ROLES)
def answer(uuid: str):
    try:
        answer_feedback(
            uuid,
            request.form.get("answer"),
            actor=current_user,
            expected_version=request.form.get("version", type=int),
        )

    except DossierError as e:
        return render_feedback(get_feedback_or_404(uuid), e.message, e.status)
    flash("Đã ghi nội dung trả lời.", "success")
    return redirect(url_for("feedback.show", uuid=uuid))
