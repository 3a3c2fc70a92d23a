"""Congratulation and condolence letters: offered when a birth, marriage or death registration
is resolved, signed with the chairman's name from the settings, once per dossier."""

import pytest

from wardapp.dossiers.intake import DossierError
from wardapp.dossiers.service import receive_dossier, record_step
from wardapp.letters.service import issue_letter
from wardapp.sync.records import Letter

from .conftest import account, intake_data

CHAIRMAN = "Nguyễn Thị Thu Hà"


def resolved(procedure="1.001193", **fields):
    dossier, _ = receive_dossier(
        intake_data(procedure_code=procedure, **fields), actor=account("letan")
    )
    record_step(dossier.code, "resolved", actor=account("lanhdao"))  # the leader needs no hand-over
    return dossier


def test_letter_is_offered_on_resolve_issued_and_printed(app, client, auth):
    app.config["CHAIRMAN_NAME"] = CHAIRMAN
    dossier, _ = receive_dossier(intake_data(), actor=account("letan"))
    auth.login("chuyenvien")
    assert "thư chúc mừng" not in client.get(f"/dossiers/{dossier.code}").get_data(as_text=True)
    record_step(dossier.code, "resolved", actor=account("lanhdao"))
    page = client.get(f"/dossiers/{dossier.code}").get_data(as_text=True)
    assert "Gửi thư chúc mừng kèm kết quả" in page
    response = client.post(f"/dossiers/{dossier.code}/letter")
    assert response.status_code == 302 and response.headers["Location"].endswith("/letter")
    letter = client.get(f"/dossiers/{dossier.code}/letter").get_data(as_text=True)
    assert "THƯ CHÚC MỪNG" in letter and CHAIRMAN in letter and "đón chào thành viên mới" in letter
    assert "Nguyễn Văn Đức" in letter and "CHỦ TỊCH" in letter
    again = client.post(f"/dossiers/{dossier.code}/letter")
    assert again.status_code == 409 and "đã có thư" in again.get_data(as_text=True)
    assert Letter.query.count() == 1
    # The chairman changes: the letter given keeps the name it was signed with.
    app.config["CHAIRMAN_NAME"] = "Người khác"
    assert CHAIRMAN in client.get(f"/dossiers/{dossier.code}/letter").get_data(as_text=True)


def test_marriage_and_death_letters(app):
    app.config["CHAIRMAN_NAME"] = CHAIRMAN
    marriage = issue_letter(resolved("1.000894").code, actor=account("chuyenvien"))
    death = issue_letter(resolved("1.000656").code, actor=account("lanhdao"))
    assert (marriage.kind, death.kind) == ("congratulation", "condolence")
    assert marriage.signer_name == CHAIRMAN and death.recipient_name == "Nguyễn Văn Đức"


@pytest.mark.parametrize(
    "setup, code",
    [
        (lambda: resolved("1.004873"), "letter_not_fitting"),  # marital status: no letter
        (lambda: receive_dossier(intake_data(), actor=account("letan"))[0], "illegal_transition"),
    ],
)
def test_letter_refused_where_it_does_not_fit(app, setup, code):
    app.config["CHAIRMAN_NAME"] = CHAIRMAN
    dossier = setup()
    with pytest.raises(DossierError) as refused:
        issue_letter(dossier.code, actor=account("chuyenvien"))
    assert refused.value.code == code and Letter.query.count() == 0


def test_letter_needs_the_chairman_setting_and_shows_why(app, client, auth):
    dossier = resolved()
    auth.login("chuyenvien")
    response = client.post(f"/dossiers/{dossier.code}/letter")
    assert response.status_code == 409
    assert "CHAIRMAN_NAME" in response.get_data(as_text=True) and Letter.query.count() == 0
    assert client.get(f"/dossiers/{dossier.code}/letter").status_code == 404
    assert client.post("/dossiers/KHONG-CO/letter").status_code == 404


def test_a_letter_is_not_a_new_dossier_version_in_the_outbox(app):
    """The letter goes to the hub on its own; the dossier it names is not sent again."""
    import sqlalchemy as sa

    from wardapp.extensions import db
    from wardapp.models import Outbox

    app.config["CHAIRMAN_NAME"] = CHAIRMAN
    dossier = resolved()

    def rows(table):
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(Outbox).where(Outbox.table_name == table)
        )

    before = rows("dossier")
    issue_letter(dossier.code, actor=account("chuyenvien"))
    assert rows("dossier") == before and rows("letter") == 1
    with pytest.raises(DossierError) as twice:  # the dossier knows its letter at once
        issue_letter(dossier.code, actor=account("chuyenvien"))
    assert twice.value.code == "duplicate"
