"""Self-inspection on the 13 contents: a draft, the leader's sign-off, then locked; a correction
is a new version."""

import pytest

from wardapp.dossiers.intake import DossierError
from wardapp.extensions import db
from wardapp.inspections.service import (
    correct_inspection,
    save_inspection,
    start_inspection,
    submit_inspection,
)
from wardapp.sync.records import INSPECTION_CONTENTS, Inspection, InspectionLocked

from .conftest import account

ALL_PASS = {f"rating_{c}": "pass" for c in INSPECTION_CONTENTS}


def test_checklist_draft_sign_off_lock_and_correction(app, client, auth):
    auth.login("chuyenvien")
    response = client.post("/inspections/", data={"plan": "Năm 2025"})
    assert response.status_code == 302
    uuid = response.headers["Location"].rsplit("/", 1)[1]
    page = client.get(f"/inspections/{uuid}").get_data(as_text=True)
    assert all(label in page for label in INSPECTION_CONTENTS.values())
    assert "Ký duyệt và nộp" not in page  # only the leader signs off
    assert (
        client.post(
            f"/inspections/{uuid}",
            data={
                "action": "save",
                "finding_01": "Chấp hành tốt.",
                "rating_01": "good",
                "version": 1,
            },
        ).status_code
        == 302
    )
    assert client.post(f"/inspections/{uuid}", data={"action": "submit"}).status_code == 403
    auth.logout()
    auth.login("lanhdao")
    incomplete = client.post(f"/inspections/{uuid}", data={"action": "submit", "rating_01": "good"})
    assert incomplete.status_code == 422 and "Mục 02 chưa có mức đánh giá" in incomplete.get_data(
        as_text=True
    )
    failing = client.post(
        f"/inspections/{uuid}", data={**ALL_PASS, "action": "submit", "rating_05": "fail"}
    )
    assert failing.status_code == 422 and "cần ghi nhận xét" in failing.get_data(as_text=True)
    assert (
        client.post(
            f"/inspections/{uuid}", data={**ALL_PASS, "action": "submit", "finding_01": "Tốt"}
        ).status_code
        == 302
    )
    inspection = db.session.get(Inspection, uuid)
    assert inspection.status == "submitted" and inspection.signed_by.username == "lanhdao"
    locked = client.post(f"/inspections/{uuid}", data={"action": "save", "finding_01": "Sửa"})
    assert locked.status_code == 409 and "không sửa được" in locked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Inspection, uuid).items["01"]["finding"] == "Tốt"
    corrected = client.post(f"/inspections/{uuid}/correct")
    assert corrected.status_code == 302
    new_uuid = corrected.headers["Location"].rsplit("/", 1)[1]
    new = db.session.get(Inspection, new_uuid)
    assert (new.revision, new.supersedes_uuid, new.status) == (2, uuid, "draft")
    assert new.items["01"]["finding"] == "Tốt"
    assert client.post(f"/inspections/{uuid}/correct").status_code == 409  # not the latest


def test_a_submitted_version_is_locked_whatever_the_caller(app):
    inspection = start_inspection("Năm 2025", actor=account("chuyenvien"))
    submit_inspection(inspection.uuid, ALL_PASS, actor=account("lanhdao"))
    with pytest.raises(DossierError) as refused:
        save_inspection(inspection.uuid, {"finding_01": "Sửa"}, actor=account("lanhdao"))
    assert refused.value.code == "locked"
    with pytest.raises(DossierError):
        submit_inspection(inspection.uuid, ALL_PASS, actor=account("lanhdao"))
    inspection.items = {"01": {"finding": "Sửa lén", "rating": "good"}}
    with pytest.raises(InspectionLocked):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Inspection, inspection.uuid).items["01"]["rating"] == "pass"


def test_bad_checklist_input_is_refused(app):
    officer = account("chuyenvien")
    with pytest.raises(DossierError):
        start_inspection("", actor=officer)
    inspection = start_inspection("Năm 2025", actor=officer)
    with pytest.raises(DossierError) as refused:
        start_inspection("Năm 2025", actor=officer)
    assert refused.value.code == "duplicate"
    with pytest.raises(DossierError) as refused:
        save_inspection(inspection.uuid, {"rating_04": "excellent"}, actor=officer)
    assert "rating_04" in refused.value.fields
    with pytest.raises(DossierError) as refused:
        start_inspection("Năm 2026", actor=account("letan"))
    assert refused.value.status == 403
    with pytest.raises(DossierError) as refused:
        correct_inspection(inspection.uuid, actor=officer)  # a draft needs no correction
    assert refused.value.code == "illegal_transition"
