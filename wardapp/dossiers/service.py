"""The dossier service layer: intake and lifecycle steps, shared by the desk screens, the JSON
API and the demo generator, so every path validates the same way (:mod:`.intake` checks what the
citizen brings) and writes the same rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import sqlalchemy as sa
from flask import current_app

from kernel.columns import new_uuid, utcnow
from kernel.statuses import RETURN_METHODS
from kernel.text import fold
from kernel.workdays import WorkCalendar, local_datetime, timeliness, to_local
from wardapp.sync.records import Dossier, DossierEvent, User

from ..database import write_transaction
from ..extensions import db
from ..models import CalendarOverride, CodeFloor, SyncNode
from ..rating_codes import unused_rating_code
from .intake import DossierError, IntakeForm, clean_intake, clean_text
from .lifecycle import STEPS, may_take, step_roles, steps_available


def load_calendar() -> WorkCalendar:
    """The working-day calendar with this ward's overrides, built once per app."""
    cache = current_app.extensions.setdefault("wardapp.calendar", {})
    overrides = {o.day: o.is_working_day for o in db.session.scalars(sa.select(CalendarOverride))}
    key = tuple(sorted(overrides.items()))
    if cache.get("key") != key:
        cache["key"], cache["calendar"] = key, WorkCalendar(overrides)
    return cache["calendar"]


def this_ward() -> SyncNode:
    node = db.session.get(SyncNode, 1)
    if node is None:
        raise RuntimeError("the ward database is not initialised (run `wardapp init`)")
    return node


def search_text_for(dossier: Dossier) -> str:
    return fold(" ".join((dossier.code, dossier.applicant_name, dossier.citizen_id, dossier.phone)))


class Register:
    """Where the write functions find a ward's dossiers, its calendar and the numbers a new
    dossier takes: the database, asked at every write, as desks writing at once need (each
    write holds the write lock, so two desks never take the same number).

    The storing is the same whichever register a write function is given: the session's unit
    of work, with the column defaults, versions and the outbox hook (:mod:`wardapp.outbox`).
    """

    def calendar(self) -> WorkCalendar:
        return load_calendar()

    def by_code(self, code: str) -> Dossier | None:
        """The dossier named ``code``, read afresh (another desk may have changed it)."""
        return db.session.scalar(
            sa.select(Dossier).where(Dossier.code == code).execution_options(populate_existing=True)
        )

    def by_request_key(self, request_key: str) -> Dossier | None:
        return db.session.scalar(sa.select(Dossier).where(Dossier.request_key == request_key))

    def last_code_number(self, prefix: str) -> int:
        return last_code_number(prefix)

    def last_logbook_number(self, received_at: dt.datetime) -> int:
        return last_logbook_number(received_at)

    def rating_code_taken(self, code: str) -> bool:
        return rating_code_taken(code)

    def received(self, dossier: Dossier) -> None:
        """A dossier was stored (the database knows it now: nothing to note)."""


DESK = Register()


class RunRegister(Register):
    """The register of a run that is the ward's one writer of dossiers (the data generator):
    the calendar read once, the dossiers it received held by code and request key, and codes,
    logbook lines and rating codes counted in memory after one look at the database per day,
    year and run. What it answers is what :class:`Register` would answer in that run
    (``tests/test_replay.py``); it saves the queries, which took the generator's run through
    the desk's register 1.7 times as long.
    """

    def __init__(self):
        self._calendar = load_calendar()
        self.codes: dict[str, Dossier] = {}
        self.request_keys: dict[str, Dossier] = {}
        self.stored_keys = set(db.session.scalars(sa.select(Dossier.request_key)))  # before
        self.last_numbers: dict[str, int] = {}  # code prefix -> last number given
        self.last_lines: dict[int, int] = {}  # logbook year -> last line written
        self.rating_codes = set(
            db.session.scalars(  # every one given, so none is given twice
                sa.select(Dossier.rating_code).where(Dossier.rating_code.is_not(None))
            )
        )

    def calendar(self) -> WorkCalendar:
        return self._calendar

    def by_code(self, code: str) -> Dossier | None:
        return self.codes.get(code) or super().by_code(code)

    def by_request_key(self, request_key: str) -> Dossier | None:
        if request_key in self.stored_keys:
            return super().by_request_key(request_key)
        return self.request_keys.get(request_key)

    def last_code_number(self, prefix: str) -> int:
        if prefix not in self.last_numbers:
            self.last_numbers[prefix] = last_code_number(prefix)
        return self.last_numbers[prefix]

    def last_logbook_number(self, received_at: dt.datetime) -> int:
        year = to_local(received_at).year
        if year not in self.last_lines:
            self.last_lines[year] = last_logbook_number(received_at)
        return self.last_lines[year]

    def rating_code_taken(self, code: str) -> bool:
        return code in self.rating_codes

    def received(self, dossier: Dossier) -> None:
        self.codes[dossier.code] = self.request_keys[dossier.request_key] = dossier
        prefix, number = dossier.code.rsplit("-", 1)
        self.last_numbers[f"{prefix}-"] = int(number)
        self.last_lines[to_local(dossier.received_at).year] = dossier.logbook_number
        self.rating_codes.add(dossier.rating_code)


def receive_dossier(
    data: Mapping, *, actor: User, now: dt.datetime | None = None, register: Register = DESK
) -> tuple[Dossier, bool]:
    """Receive a complete dossier: give it its code and due time, and log the receipt event.

    Returns the dossier and whether it was created now: submitting the same ``request_key``
    twice (a double click, a retried API call) returns the first dossier instead of a duplicate.
    """
    now = now or utcnow()
    require_permission(actor, STEPS["received"])
    form = clean_intake(data, now=now)
    with write_transaction():
        existing = register.by_request_key(form.request_key)
        if existing is not None:
            return existing, False
        ward = this_ward()
        prefix = code_prefix(ward.unit.agency_code, form.received_at)
        dossier = new_dossier(
            form,
            actor=actor,
            ward_code=ward.ward_code,
            calendar=register.calendar(),
            code=numbered_code(prefix, register.last_code_number(prefix) + 1),
            logbook_number=register.last_logbook_number(form.received_at) + 1,
            rating_code=unused_rating_code(register.rating_code_taken),
        )
        db.session.add(dossier)
    register.received(dossier)
    return dossier, True


def new_dossier(
    form: IntakeForm,
    *,
    actor: User,
    ward_code: str,
    calendar: WorkCalendar,
    code: str,
    logbook_number: int,
    rating_code: str,
) -> Dossier:
    """The dossier a cleaned intake form makes, with its receipt event, not yet stored.

    The rules of intake live here, the numbering in the caller's :class:`Register`.
    """
    procedure = form.procedure
    due = calendar.due_at(
        form.received_at, procedure.duration_value, procedure.duration_unit, procedure.cutoff_15h
    )
    dossier = Dossier(
        uuid=new_uuid(),
        ward_code=ward_code,
        code=code,
        logbook_number=logbook_number,
        rating_code=rating_code,
        request_key=form.request_key,
        procedure=procedure,
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        regime=procedure.regime,
        applicant_kind=form.applicant_kind,
        applicant_name=form.applicant_name,
        citizen_id=form.citizen_id,
        phone=form.phone,
        email=form.email,
        address=form.address,
        channel=form.channel,
        return_method=form.return_method,
        return_address=form.return_address,
        documents=form.documents,
        sets_count=form.sets_count,
        note=form.note,
        received_at=form.received_at,
        writing_assist=form.writing_assist,
        prefill_consent=form.prefill_consent,
        received_by_uuid=actor.uuid,
        due_at_original=due,
        due_at=due,
        calendar_version=calendar.version,
        status=STEPS["received"].status_after,
        assignee_uuid=actor.uuid,
    )
    dossier.search_text = search_text_for(dossier)
    _append_event(dossier, "received", actor=actor, at=form.received_at, position=1)
    return dossier


def code_prefix(agency_code: str, received_at: dt.datetime) -> str:
    """Dossier codes are ``<agency>-<yyMMdd>-<NNNN>``, numbered per unit per local day of
    receipt; this is the part before the number."""
    return f"{agency_code}-{to_local(received_at):%y%m%d}-"


def last_code_number(prefix: str) -> int:
    """The highest number given under ``prefix`` so far (0 for none), or the day's floor if
    higher: numbers a lost PC may have printed on receipts (:class:`CodeFloor`)."""
    last = db.session.scalar(
        sa.select(sa.func.max(Dossier.code)).where(Dossier.code.startswith(prefix, autoescape=True))
    )
    floor = db.session.get(CodeFloor, prefix)
    return max(int(last.rsplit("-", 1)[1]) if last else 0, floor.number if floor else 0)


def rating_code_taken(code: str) -> bool:
    """Whether a dossier of this database already holds the rating code ``code``."""
    return db.session.scalar(sa.select(sa.exists().where(Dossier.rating_code == code)))


def numbered_code(prefix: str, number: int) -> str:
    if number > 9999:
        raise DossierError(
            "Đã hết số thứ tự hồ sơ trong ngày (9999).", code="sequence_exhausted", status=409
        )
    return f"{prefix}{number:04d}"


def last_logbook_number(received_at: dt.datetime) -> int:
    """The last line of the dossier logbook (Mẫu 06) of ``received_at``'s year: one volume per
    calendar year (0 for a new volume)."""
    year = to_local(received_at).year
    start = local_datetime(dt.date(year, 1, 1), dt.time(0, 0))
    end = local_datetime(dt.date(year + 1, 1, 1), dt.time(0, 0))
    last = db.session.scalar(
        sa.select(sa.func.max(Dossier.logbook_number)).where(
            Dossier.received_at >= start, Dossier.received_at < end
        )
    )
    return last or 0


def require_permission(actor: User, step, dossier: Dossier | None = None) -> None:
    """Refuse a step that :data:`~.lifecycle.PERMISSIONS` does not give the actor: on
    ``dossier`` (held by the actor or by someone else), or without one (the receipt) on any."""
    if not actor.active or not (actor.role_set & step_roles(step.kind)):
        raise DossierError(
            f"Tài khoản của bạn không có quyền thực hiện bước «{step.label}».",
            code="forbidden",
            status=403,
        )
    if dossier is not None and not may_take(step.kind, actor.role_set, holds(actor, dossier)):
        holder = dossier.assignee.full_name if dossier.assignee else "cán bộ khác"
        raise DossierError(
            f"Hồ sơ đang do {holder} giữ: chỉ người đang giữ hồ sơ hoặc lãnh đạo "
            f"mới được thực hiện bước «{step.label}».",
            code="not_holder",
            status=403,
        )


def holds(actor: User, dossier: Dossier) -> bool:
    """Whether the dossier is in the actor's hands (its assignee)."""
    return dossier.assignee_uuid == actor.uuid


def steps_for(actor: User, dossier: Dossier, now: dt.datetime) -> list:
    """The steps the actor may take on the dossier at ``now``, for its page to offer: exactly
    those a press would accept (the same role and state checks as :func:`apply_step`)."""
    if not actor.active:
        return []
    return [
        step
        for step in steps_available(dossier.status, actor.role_set, holds(actor, dossier))
        if state_refusal(step, dossier, now) is None
    ]


def state_refusal(step, dossier: Dossier, now: dt.datetime) -> DossierError | None:
    """Why the dossier's state refuses ``step`` at ``now``, or None: its status, and for the
    apology (Mẫu 04) that it comes at most once and before the due time passes. The page asks
    this to offer a step and the write asks it again to take one, so no button is refused."""
    if dossier.status not in step.allowed_from:
        return DossierError(step.refused_message, code="illegal_transition", status=409)
    if step.kind == "apology":
        if dossier.due_at_revised is not None:
            return DossierError(
                "Hồ sơ đã có phiếu xin lỗi và hẹn lại; chỉ được hẹn lại một lần.",
                code="illegal_transition",
                status=409,
            )
        if now >= dossier.due_at:
            return DossierError(
                "Đã quá thời hạn trả kết quả: phiếu xin lỗi phải được gửi trước khi hết hạn.",
                code="illegal_transition",
                status=409,
            )
    return None


def _append_event(
    dossier: Dossier,
    kind: str,
    *,
    actor: User,
    at: dt.datetime,
    position: int,
    to_user: User | None = None,
    reason: str = "",
    data: dict | None = None,
    step_timeliness: str | None = None,
) -> DossierEvent:
    event = DossierEvent(
        uuid=new_uuid(),
        ward_code=dossier.ward_code,
        dossier=dossier,
        dossier_uuid=dossier.uuid,
        position=position,
        kind=kind,
        at=at,
        actor_uuid=actor.uuid,
        to_user_uuid=to_user.uuid if to_user else None,
        status_after=dossier.status,
        reason=reason,
        data=data or {},
        step_timeliness=step_timeliness,
    )
    return event


def record_step(
    dossier_code: str,
    kind: str,
    *,
    actor: User,
    now: dt.datetime | None = None,
    to_user_uuid: str | None = None,
    reason: str | None = None,
    new_due_date: str | None = None,
    return_method: str | None = None,
    result_number: str | None = None,
    result_date: str | None = None,
    expected_version: int | None = None,
    register: Register = DESK,
) -> Dossier:
    """Take one lifecycle step on a dossier, or raise :class:`DossierError` and change nothing.

    :param expected_version: the version the user was looking at; a step taken on a dossier that
        someone else changed in the meantime is refused rather than applied blind.
    """
    now = now or utcnow()
    step, reason = step_request(kind, reason)
    with write_transaction():
        dossier = register.by_code(dossier_code)
        if dossier is None or dossier.ward_code != this_ward().ward_code:
            raise DossierError(
                "Không tìm thấy hồ sơ này tại phường, xã.", code="not_found", status=404
            )
        db.session.add(
            take_step(
                dossier,
                step,
                actor=actor,
                now=now,
                calendar=register.calendar(),
                reason=reason,
                to_user_uuid=to_user_uuid,
                new_due_date=new_due_date,
                return_method=return_method,
                result=(result_number, result_date),
                expected_version=expected_version,
            )
        )
    return dossier


def step_request(kind: str, reason: str | None) -> tuple:
    """The step named ``kind`` and its cleaned reason (who may take it on the dossier is
    :func:`take_step`'s to check, once the dossier is loaded)."""
    step = STEPS.get(kind)
    if step is None or kind == "received":
        raise DossierError("Bước xử lý không hợp lệ.", code="unknown_step", status=400)
    errors: dict[str, str] = {}
    reason = clean_text(
        {"reason": reason}, "reason", errors, required=step.needs_reason, label="Lý do, nội dung"
    )
    if errors:
        raise DossierError(errors["reason"], code="validation_failed", fields=errors)
    return step, reason


def take_step(
    dossier: Dossier,
    step,
    *,
    actor: User,
    now: dt.datetime,
    calendar: WorkCalendar,
    reason: str = "",
    to_user_uuid: str | None = None,
    new_due_date: str | None = None,
    return_method: str | None = None,
    result: tuple[str | None, str | None] = (None, None),
    expected_version: int | None = None,
) -> DossierEvent:
    """The rules of one step on a loaded dossier: refuse it, or change the dossier and append
    the step's event. Storing is :func:`record_step`'s."""
    require_permission(actor, step, dossier)
    if expected_version is not None and expected_version != dossier.version:
        raise DossierError(
            "Hồ sơ vừa được người khác cập nhật; hãy tải lại trang và thử lại.",
            code="stale",
            status=409,
        )
    refusal = state_refusal(step, dossier, now)
    if refusal is not None:
        raise refusal
    if now < dossier.events[-1].at:
        raise DossierError(
            "Thời điểm thực hiện sớm hơn bước trước của hồ sơ.", code="invalid_time", status=409
        )
    extra = _apply_step(
        dossier,
        step,
        now=now,
        calendar=calendar,
        to_user_uuid=to_user_uuid,
        new_due_date=new_due_date,
        return_method=return_method,
        result=result,
    )
    if step.status_after is not None:
        dossier.status = step.status_after
    return _append_event(
        dossier,
        step.kind,
        actor=actor,
        at=now,
        position=len(dossier.events) + 1,
        reason=reason,
        **extra,
    )


def _apply_step(
    dossier: Dossier, step, *, now, calendar, to_user_uuid, new_due_date, return_method, result
) -> dict:
    """Update the header for ``step`` and return the extra fields of its event."""
    kind = step.kind
    if kind == "handed_over":
        to_user = db.session.get(User, to_user_uuid) if to_user_uuid else None
        if to_user is None or not to_user.active:
            raise DossierError(
                "Vui lòng chọn cán bộ nhận hồ sơ.",
                code="validation_failed",
                fields={"to_user_uuid": "Cán bộ nhận không hợp lệ."},
            )
        dossier.assignee_uuid = to_user.uuid
        return {"to_user": to_user, "step_timeliness": timeliness(now, dossier.due_at)}
    if kind == "supplement_requested":
        dossier.paused_at = now
        return {}
    if kind == "supplement_received":
        old_due = dossier.due_at
        dossier.due_at = calendar.extend_for_pause(dossier.due_at, dossier.paused_at, now)
        dossier.paused_at = None
        return {
            "data": {"due_at_before": old_due.isoformat(), "due_at": dossier.due_at.isoformat()}
        }
    if kind == "apology":
        return _apply_apology(dossier, now, new_due_date, calendar)
    if kind == "resolved":
        dossier.resolved_at = now
        dossier.timeliness = timeliness(now, dossier.due_at)
        dossier.working_days_used = working_days_used(dossier, now, calendar)
        return {
            "step_timeliness": dossier.timeliness,
            "data": result_document(dossier, now, *result),
        }
    if kind == "returned":
        method = return_method or dossier.return_method
        if method not in RETURN_METHODS:
            raise DossierError(
                "Hình thức trả kết quả không hợp lệ.",
                code="validation_failed",
                fields={"return_method": "Hình thức trả kết quả không hợp lệ."},
            )
        dossier.returned_at = dossier.closed_at = now
        dossier.same_day = is_same_day(dossier, now)
        return {
            "data": {"return_method": method},
            "step_timeliness": timeliness(now, dossier.due_at_revised or dossier.due_at),
        }
    if kind in ("refused", "withdrawn"):
        dossier.closed_at = now
        dossier.paused_at = None
        return {}
    raise AssertionError(kind)


RESULT_NUMBER_LIMIT = 50


def result_document(
    dossier: Dossier, now: dt.datetime, number: str | None, date_text: str | None
) -> dict:
    """The number and date of the result's document (số, ngày của giấy tờ kết quả), both
    optional, for the resolve event's ``data``: the event is the record of the result, so they
    sync and reach the hub as the event does, with no column of their own. The date is the
    document's, so it is neither after today nor before the dossier was received."""
    errors: dict[str, str] = {}
    number = clean_text(
        {"result_number": number},
        "result_number",
        errors,
        label="Số giấy tờ kết quả",
        limit=RESULT_NUMBER_LIMIT,
    )
    if "\n" in number or "\t" in number:
        errors["result_number"] = "Số giấy tờ kết quả chỉ gồm một dòng."
    day = None
    if date_text is not None and not isinstance(date_text, str):
        errors["result_date"] = "Ngày của giấy tờ kết quả phải là chuỗi ký tự."
    elif date_text and date_text.strip():
        try:
            day = dt.date.fromisoformat(date_text.strip())
        except ValueError:
            errors["result_date"] = "Ngày của giấy tờ kết quả không hợp lệ (ngày/tháng/năm)."
        else:
            received = to_local(dossier.received_at).date()
            if day > to_local(now).date():
                errors["result_date"] = "Ngày của giấy tờ kết quả không được sau hôm nay."
            elif day < received:
                errors["result_date"] = (
                    "Ngày của giấy tờ kết quả không được trước ngày tiếp nhận hồ sơ "
                    f"({received:%d/%m/%Y})."
                )
    if errors:
        raise DossierError(" ".join(errors.values()), code="validation_failed", fields=errors)
    data = {}
    if number:
        data["result_number"] = number
    if day:
        data["result_date"] = day.isoformat()
    return data


def is_same_day(dossier: Dossier, returned_at: dt.datetime) -> bool:
    """ "Ngày không hẹn": a same-day procedure's result handed back on the day of receipt, so the
    citizen needed no appointment to come back."""
    return (
        dossier.procedure.duration_unit == "same_day"
        and to_local(dossier.received_at).date() == to_local(returned_at).date()
    )


def earlier_applicant(citizen_id: str) -> Dossier | None:
    """The citizen's newest earlier dossier at this ward, whose details prefill a form written
    for them (only with their consent, which the caller checks)."""
    if not citizen_id:
        return None
    return db.session.scalar(
        sa.select(Dossier)
        .where(Dossier.citizen_id == citizen_id)
        .order_by(Dossier.received_at.desc())
        .limit(1)
    )


def working_days_used(dossier: Dossier, resolved_at: dt.datetime, calendar: WorkCalendar) -> int:
    """Working days from the day the clock started to the day of resolution, less the working
    days the clock stood still for supplements (which is what moved the due day)."""
    started = calendar.clock_start_day(dossier.received_at)
    paused = calendar.working_days_between(
        to_local(dossier.due_at_original).date(), to_local(dossier.due_at).date()
    )
    elapsed = calendar.working_days_between(started, to_local(resolved_at).date())
    return max(elapsed - paused, 0)


def _apply_apology(dossier: Dossier, now: dt.datetime, new_due_date, calendar) -> dict:
    """Mẫu 04 (allowed once, before the due time: :func:`state_refusal`), with a later working
    day as the new date."""
    try:
        new_day = dt.date.fromisoformat(new_due_date or "")
    except (TypeError, ValueError):
        raise DossierError(
            "Vui lòng nhập ngày hẹn trả mới (ngày/tháng/năm).",
            code="validation_failed",
            fields={"new_due_date": "Ngày hẹn mới không hợp lệ."},
        ) from None
    if new_day <= to_local(dossier.due_at).date():
        raise DossierError(
            "Ngày hẹn mới phải sau ngày hẹn trả hiện tại.",
            code="validation_failed",
            fields={"new_due_date": "Ngày hẹn mới phải sau ngày hẹn hiện tại."},
        )
    if not calendar.is_working_day(new_day):
        raise DossierError(
            "Ngày hẹn mới phải là ngày làm việc.",
            code="validation_failed",
            fields={"new_due_date": "Ngày hẹn mới rơi vào ngày nghỉ."},
        )
    dossier.due_at_revised = local_datetime(new_day, dt.time(17, 0))
    return {
        "data": {
            "due_at": dossier.due_at.isoformat(),
            "due_at_revised": dossier.due_at_revised.isoformat(),
        }
    }
