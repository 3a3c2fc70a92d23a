"""Dossier steps: the legal paths, the refused ones (which change nothing), pauses, apologies."""

import datetime as dt

import pytest
import sqlalchemy as sa

from kernel.workdays import to_local
from wardapp.dossiers.intake import DossierError
from wardapp.dossiers.service import receive_dossier, record_step
from wardapp.extensions import db
from wardapp.models import Outbox
from wardapp.sync.records import Dossier, DossierEvent

from .conftest import account, intake_data, vn_time


def received(procedure_code="1.004873", at=None, handed_to=None):
    """A 3-working-day dossier received Monday 07/12/2026 at 09:00 (due Thursday 10/12), held
    by the receptionist, or handed at 09:30 to the official named ``handed_to``."""
    dossier, _ = receive_dossier(
        intake_data(procedure_code=procedure_code),
        actor=account("letan"),
        now=at or vn_time(2026, 12, 7, 9),
    )
    if handed_to:
        step(
            dossier.code,
            "handed_over",
            vn_time(2026, 12, 7, 9, 30),
            who="letan",
            to_user_uuid=account(handed_to).uuid,
        )
    return dossier.code


def step(code, kind, at, who="chuyenvien", **kwargs):
    return record_step(code, kind, actor=account(who), now=at, **kwargs)


def snapshot_of(code):
    db.session.expire_all()
    d = db.session.scalar(sa.select(Dossier).where(Dossier.code == code))
    n_events = db.session.scalar(sa.select(sa.func.count()).select_from(DossierEvent))
    n_outbox = db.session.scalar(sa.select(sa.func.count()).select_from(Outbox))
    return (d.status, d.version, d.due_at, d.due_at_revised, d.resolved_at, n_events, n_outbox)


def test_full_path_receive_hand_over_resolve_return(app):
    code = received()
    officer = account("chuyenvien")
    d = step(code, "handed_over", vn_time(2026, 12, 7, 10), who="letan", to_user_uuid=officer.uuid)
    assert (d.status, d.assignee_uuid) == (4, officer.uuid)
    d = step(code, "resolved", vn_time(2026, 12, 9, 15))
    assert (d.status, d.timeliness) == (9, "early")
    d = step(code, "returned", vn_time(2026, 12, 10, 8), who="letan")
    assert d.status == 10 and d.returned_at and d.closed_at
    assert [e.kind for e in d.events] == ["received", "handed_over", "resolved", "returned"]
    assert [e.position for e in d.events] == [1, 2, 3, 4]
    assert d.events[1].to_user_uuid == officer.uuid
    assert d.events[1].step_timeliness == "early"


def test_resolved_on_due_day_is_on_time_and_after_is_late(app):
    on_time, late = received(handed_to="chuyenvien"), received(handed_to="chuyenvien")
    assert step(on_time, "resolved", vn_time(2026, 12, 10, 16)).timeliness == "on_time"
    assert step(late, "resolved", vn_time(2026, 12, 11, 8)).timeliness == "late"


@pytest.mark.parametrize(
    "path, kind, kwargs",
    [
        ([("refused", {"reason": "Không thuộc thẩm quyền."})], "resolved", {}),
        ([], "returned", {}),
        ([("withdrawn", {"reason": "Công dân rút."})], "handed_over", {}),
        ([("resolved", {})], "supplement_requested", {"reason": "Thiếu giấy tờ."}),
        ([("resolved", {}), ("returned", {})], "withdrawn", {"reason": "x"}),
        ([("supplement_requested", {"reason": "Thiếu tờ khai."})], "resolved", {}),
        ([], "supplement_received", {}),
        ([], "received", {}),
        ([], "teleported", {}),
    ],
)
def test_illegal_step_is_refused_and_changes_nothing(app, path, kind, kwargs):
    code = received()
    at = vn_time(2026, 12, 7, 10)
    for prior, prior_kwargs in path:
        who = "letan" if prior == "returned" else "lanhdao"
        step(code, prior, at, who=who, **prior_kwargs)
        at += dt.timedelta(minutes=10)
    before = snapshot_of(code)
    with pytest.raises(DossierError) as refused:
        step(code, kind, at, who="lanhdao", **kwargs)
    assert refused.value.status in (400, 409)
    assert refused.value.message
    assert snapshot_of(code) == before


def test_supplement_pause_moves_the_due_date(app):
    code = received(handed_to="chuyenvien")
    step(code, "supplement_requested", vn_time(2026, 12, 8, 9), reason="Bổ sung tờ khai có chữ ký.")
    d = step(code, "supplement_received", vn_time(2026, 12, 10, 14), who="letan")
    assert to_local(d.due_at_original).date() == dt.date(2026, 12, 10)
    assert to_local(d.due_at).date() == dt.date(2026, 12, 14)  # paused 9 and 10 Dec
    assert step(code, "resolved", vn_time(2026, 12, 14, 10)).timeliness == "on_time"


def test_apology_before_due_with_new_date_counts_late_against_original(app):
    code = received(handed_to="chuyenvien")
    d = step(
        code,
        "apology",
        vn_time(2026, 12, 9, 10),
        who="lanhdao",
        reason="Cần xác minh thêm.",
        new_due_date="2026-12-15",
    )
    assert to_local(d.due_at_revised).date() == dt.date(2026, 12, 15)
    assert step(code, "resolved", vn_time(2026, 12, 14, 10)).timeliness == "late"


@pytest.mark.parametrize(
    "at, new_date",
    [
        (vn_time(2026, 12, 10, 17, 30), "2026-12-15"),  # after the due time
        (vn_time(2026, 12, 9, 10), "2026-12-10"),  # not later than the due day
        (vn_time(2026, 12, 9, 10), "2026-12-12"),  # a Saturday
        (vn_time(2026, 12, 9, 10), "mai"),
    ],
)
def test_bad_apology_is_refused(app, at, new_date):
    code = received()
    before = snapshot_of(code)
    with pytest.raises(DossierError):
        step(code, "apology", at, who="lanhdao", reason="Chậm.", new_due_date=new_date)
    assert snapshot_of(code) == before


def test_only_one_apology(app):
    code = received()
    step(
        code,
        "apology",
        vn_time(2026, 12, 8, 10),
        who="lanhdao",
        reason="Chậm.",
        new_due_date="2026-12-15",
    )
    with pytest.raises(DossierError, match="một lần"):
        step(
            code,
            "apology",
            vn_time(2026, 12, 8, 11),
            who="lanhdao",
            reason="Chậm.",
            new_due_date="2026-12-16",
        )


def test_reason_required_and_bounded(app):
    code = received()
    with pytest.raises(DossierError):
        step(code, "refused", vn_time(2026, 12, 7, 10), reason="  ")
    with pytest.raises(DossierError):
        step(code, "refused", vn_time(2026, 12, 7, 10), reason="x" * 2001)


def test_hand_over_needs_an_active_official(app):
    code = received()
    with pytest.raises(DossierError):
        step(code, "handed_over", vn_time(2026, 12, 7, 10), who="letan", to_user_uuid="nobody")


def test_stale_version_is_refused(app):
    code = received()
    with pytest.raises(DossierError) as refused:
        step(code, "resolved", vn_time(2026, 12, 7, 10), who="lanhdao", expected_version=99)
    assert refused.value.status == 409


def test_step_earlier_than_last_event_is_refused(app):
    code = received()
    with pytest.raises(DossierError):
        step(code, "resolved", vn_time(2026, 12, 7, 8))


def test_role_rules(app):
    code = received()
    with pytest.raises(DossierError) as refused:
        step(code, "resolved", vn_time(2026, 12, 7, 10), who="letan")
    assert refused.value.status == 403
    with pytest.raises(DossierError):
        step(code, "refused", vn_time(2026, 12, 7, 10), who="quantri", reason="x")


def test_unknown_or_other_wards_dossier(app):
    with pytest.raises(DossierError) as refused:
        step("30280-261207-9999", "resolved", vn_time(2026, 12, 7, 10))
    assert refused.value.status == 404
    code = received()
    db.session.execute(sa.update(Dossier).where(Dossier.code == code).values(ward_code="30283"))
    db.session.commit()
    with pytest.raises(DossierError) as refused:
        step(code, "resolved", vn_time(2026, 12, 7, 10))
    assert refused.value.status == 404


def test_working_days_used_excludes_pauses(app):
    code = received(handed_to="chuyenvien")  # Monday 07/12, 3 working days
    step(code, "supplement_requested", vn_time(2026, 12, 8, 9), reason="Bổ sung.")
    step(code, "supplement_received", vn_time(2026, 12, 10, 14), who="letan")
    d = step(code, "resolved", vn_time(2026, 12, 14, 10))
    # 8, 9, 10, 11, 14 December are five working days after the start; two were paused.
    assert d.working_days_used == 3
    same_day = received(procedure_code="1.001193", handed_to="chuyenvien")
    assert step(same_day, "resolved", vn_time(2026, 12, 7, 11)).working_days_used == 0
