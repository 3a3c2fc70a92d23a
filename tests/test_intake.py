"""Receiving dossiers: codes, due times, the outbox, and bad input that must write nothing."""

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from kernel.workdays import to_local
from wardapp.dossiers.intake import DossierError
from wardapp.dossiers.service import receive_dossier
from wardapp.extensions import db
from wardapp.models import Outbox
from wardapp.sync.records import Dossier, DossierEvent

from .conftest import account, intake_data, vn_time


def counts():
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(t))
        for t in (Dossier, DossierEvent, Outbox)
    )


def test_receive_assigns_code_due_time_and_event(app):
    now = vn_time(2026, 12, 7, 9, 30)
    dossier, created = receive_dossier(intake_data(), actor=account("letan"), now=now)
    assert created
    assert dossier.code == "30280-261207-0001"
    assert dossier.status == 2
    assert to_local(dossier.due_at).date() == dt.date(2026, 12, 7)  # same-day birth registration
    assert dossier.due_at == dossier.due_at_original
    assert dossier.logbook_number == 1
    assert dossier.search_text == "30280-261207-0001 nguyen van duc 089095001234 0912345678"
    assert [e.kind for e in dossier.events] == ["received"]
    second, _ = receive_dossier(
        intake_data(procedure_code="1.004873"),
        actor=account("letan"),
        now=now + dt.timedelta(minutes=5),
    )
    assert second.code == "30280-261207-0002"
    assert to_local(second.due_at).date() == dt.date(2026, 12, 10)  # 3 working days
    assert second.logbook_number == 2


def test_codes_restart_each_day_and_logbook_each_year(app):
    letan = account("letan")
    receive_dossier(intake_data(), actor=letan, now=vn_time(2026, 12, 31, 9))
    d, _ = receive_dossier(intake_data(), actor=letan, now=vn_time(2027, 1, 4, 9))
    assert d.code.endswith("-270104-0001")
    assert d.logbook_number == 1


def test_every_write_appends_its_outbox_row(app):
    dossier, _ = receive_dossier(intake_data(), actor=account("letan"), now=vn_time(2026, 12, 7, 9))
    rows = db.session.scalars(
        sa.select(Outbox).where(Outbox.table_name != "user").order_by(Outbox.seq)
    ).all()
    assert [(r.table_name, r.record_uuid, r.record_version) for r in rows] == [
        ("dossier", dossier.uuid, 1),
        ("dossier_event", dossier.events[0].uuid, 1),
    ]
    payload = json.loads(rows[0].payload)
    assert payload["code"] == dossier.code and "search_text" not in payload


def test_double_submit_returns_the_first_dossier(app):
    data = intake_data()
    first, created = receive_dossier(data, actor=account("letan"), now=vn_time(2026, 12, 7, 9))
    before = counts()
    again, created_again = receive_dossier(
        data, actor=account("letan"), now=vn_time(2026, 12, 7, 9, 1)
    )
    assert created and not created_again
    assert again.uuid == first.uuid
    assert counts() == before


BAD_INPUT = [
    ({"applicant_name": ""}, "applicant_name"),
    ({"applicant_name": "x" * 201}, "applicant_name"),
    ({"address": "   "}, "address"),
    ({"citizen_id": "08909500123"}, "citizen_id"),  # 11 digits
    ({"citizen_id": "08909500123A"}, "citizen_id"),
    ({"citizen_id": "999095001234"}, "citizen_id"),  # no such province
    ({"citizen_id": "089299001234"}, "citizen_id"),  # born in 2099
    ({"citizen_id": ""}, "citizen_id"),
    ({"phone": "12345"}, "phone"),
    ({"email": "not-an-email"}, "email"),
    ({"procedure_code": "9.999999"}, "procedure_code"),
    ({"procedure_code": ""}, "procedure_code"),
    ({"channel": "fax"}, "channel"),
    ({"channel": "online_full"}, "channel"),  # birth registration is level 3 only
    ({"procedure_code": "1.000894", "return_method": "postal"}, "return_method"),  # marriage
    ({"sets_count": 0}, "sets_count"),
    ({"sets_count": "ba"}, "sets_count"),
    ({"received_at": "2026-12-08T09:00:00"}, "received_at"),  # tomorrow
    ({"received_at": "hôm qua"}, "received_at"),
    ({"received_at": "2026-10-01T09:00:00"}, "received_at"),  # beyond 30 days back
    ({"documents": []}, "documents"),
    ({"documents": ["Giấy tờ bịa"]}, "documents"),
    ({"request_key": ""}, "request_key"),
    ({"applicant_name": "Nguyễn\x00Văn"}, "applicant_name"),
    ({"applicant_name": ["a"]}, "applicant_name"),
]


@pytest.mark.parametrize("overrides, field", BAD_INPUT)
def test_bad_intake_is_refused_and_writes_nothing(app, overrides, field):
    before = counts()
    with pytest.raises(DossierError) as refused:
        receive_dossier(
            intake_data(**overrides), actor=account("letan"), now=vn_time(2026, 12, 7, 9)
        )
    assert field in refused.value.fields
    assert refused.value.fields[field]  # a Vietnamese explanation
    assert counts() == before


def test_organisation_without_citizen_id(app):
    dossier, _ = receive_dossier(
        intake_data(
            applicant_kind="organisation",
            applicant_name="Công ty TNHH Mỹ Bình",
            citizen_id="1601234567",
        ),
        actor=account("letan"),
        now=vn_time(2026, 12, 7, 9),
    )
    assert dossier.applicant_kind == "organisation"


def test_backdated_paper_dossier_takes_its_own_day(app):
    dossier, _ = receive_dossier(
        intake_data(received_at="2026-12-04T10:15:00"),
        actor=account("letan"),
        now=vn_time(2026, 12, 7, 9),
    )
    assert dossier.code == "30280-261204-0001"
    assert to_local(dossier.received_at).hour == 10


def test_officer_cannot_receive(app):
    with pytest.raises(DossierError) as refused:
        receive_dossier(intake_data(), actor=account("chuyenvien"), now=vn_time(2026, 12, 7, 9))
    assert refused.value.status == 403
