"""The reform models end to end: recorded at the ward, carried by sync over real HTTP to a real
hub (SQLite and PostgreSQL), and counted right in the hub's report, screen and exports."""

from __future__ import annotations

import csv
import io

import pytest

from wardapp.dossiers.service import receive_dossier, record_step
from wardapp.feedback.service import answer_feedback, receive_feedback
from wardapp.inspections.service import correct_inspection, start_inspection, submit_inspection
from wardapp.letters.service import issue_letter
from wardapp.ratings.service import record_rating
from wardapp.sync.records import INSPECTION_CONTENTS, Dossier

from .conftest import PASSWORD, account, intake_data
from .test_reports import at
from .test_sync import hub_matches_ward, run

BIRTH, DEATH, MARITAL = "1.001193", "1.000656", "1.004873"  # same day, same day, 3 days


def returned(procedure: str, received: str, resolved: str, back: str, **fields) -> Dossier:
    dossier, _ = receive_dossier(
        intake_data(procedure_code=procedure, **fields), actor=account("letan"), now=at(received)
    )
    record_step(dossier.code, "resolved", actor=account("lanhdao"), now=at(resolved))
    record_step(dossier.code, "returned", actor=account("letan"), now=at(back))
    return dossier


def levels(overall, attitude, timeliness, guidance, **extra) -> dict:
    return {
        "overall": overall,
        "attitude": attitude,
        "timeliness": timeliness,
        "guidance": guidance,
        **extra,
    }


FEEDBACK = {
    "channel": "hotline",
    "sender_name": "Trần Văn Bình",
    "subject": "Phí sao lục",
    "content": "Đề nghị niêm yết rõ phí.",
    "regulation": "Cấp bản sao trích lục hộ tịch",
}


def write_november(app) -> None:
    """Ward 30280's November 2025 in the reform models (the expected figures are in the test)."""
    app.config["CHAIRMAN_NAME"] = "Nguyễn Văn An"
    officer, leader = account("chuyenvien"), account("lanhdao")
    # Same day: received, resolved and returned on Monday 03/11, then a birth letter.
    birth = returned(BIRTH, "2025-11-03 08:00", "2025-11-03 09:00", "2025-11-03 10:00")
    issue_letter(birth.code, actor=officer, now=at("2025-11-03 10:05"))
    record_rating(
        {
            "code": birth.rating_code,
            **levels(
                "very_satisfied",
                "satisfied",
                "not_satisfied",
                "satisfied",
                comment="Nhanh, chu đáo.",
            ),
        },
        channel="kiosk",
        now=at("2025-11-03 10:10"),
    )
    # Written at the writing desk; returned the next day, so not "không hẹn".
    written = returned(
        BIRTH,
        "2025-11-04 16:00",
        "2025-11-05 09:00",
        "2025-11-05 10:00",
        writing_assist="1",
        prefill_consent="1",
    )
    record_rating(
        {
            "code": written.code,
            **levels("not_satisfied", "very_satisfied", "satisfied", "not_satisfied"),
        },
        channel="paper",
        actor=account("letan"),
        now=at("2025-11-05 11:00"),
    )
    # A death registration the same day: a condolence letter.
    death = returned(DEATH, "2025-11-06 09:00", "2025-11-06 10:00", "2025-11-06 11:00")
    issue_letter(death.code, actor=officer, now=at("2025-11-06 11:05"))
    # Not a same-day procedure, and no letter.
    returned(MARITAL, "2025-11-10 09:00", "2025-11-10 10:00", "2025-11-10 11:00")
    # Feedback: answered on time, answered late, open past its due time, open within it.
    on_time = receive_feedback(FEEDBACK, actor=officer, now=at("2025-11-03 09:00"))
    answer_feedback(on_time.uuid, "Đã niêm yết.", actor=officer, now=at("2025-11-10 09:00"))
    late = receive_feedback(FEEDBACK, actor=officer, now=at("2025-11-04 09:00"))
    answer_feedback(late.uuid, "Đã tiếp thu.", actor=leader, now=at("2025-11-25 09:00"))
    receive_feedback(FEEDBACK, actor=officer, now=at("2025-11-05 09:00"))
    receive_feedback(FEEDBACK, actor=officer, now=at("2025-11-28 09:00"))
    # A self-inspection submitted, corrected and submitted again: one inspection.
    ratings = {f"rating_{c}": "good" for c in INSPECTION_CONTENTS}
    first = start_inspection("Năm 2025", actor=officer)
    submit_inspection(first.uuid, ratings, actor=leader, now=at("2025-11-12 09:00"))
    again = correct_inspection(first.uuid, actor=officer)
    submit_inspection(
        again.uuid,
        {**ratings, "rating_03": "fail", "finding_03": "Đi trễ."},
        actor=leader,
        now=at("2025-11-13 09:00"),
    )


EXPECTED = {
    "same_day": 2,
    "writing_assist": 1,
    "letters_congratulation": 1,
    "letters_condolence": 1,
    "ratings": 2,
    "satisfaction_rate": 0.5,
    "feedback_received": 4,
    "feedback_answered": 2,
    "feedback_answered_on_time": 1,
    "inspections_submitted": 1,
}


def test_reform_records_sync_and_count_at_the_hub(app, hub):
    write_november(app)
    assert run(hub) == 0
    for table, count in (("letter", 2), ("rating", 2), ("feedback", 4), ("inspection", 2)):
        assert hub.count(table) == count, table
    assert hub_matches_ward(hub)
    with hub.app.app_context():
        from city_hub.extensions import db as hub_db
        from city_hub.models import HubUser
        from city_hub.reports.periods import parse_period
        from city_hub.reports.queries import ward_report

        viewer = HubUser(username="xem", full_name="Cán bộ thành phố", role="viewer")
        viewer.set_password(PASSWORD)
        hub_db.session.add(viewer)
        hub_db.session.commit()
        row = ward_report(parse_period("2025-11").window())[0]
        assert row.counts["feedback_overdue"] == 1
        assert row.rates["same_day_rate"] == round(2 / 3, 4)
        assert row.rates["satisfaction_attitude"] == 1.0
        assert row.rates["satisfaction_timeliness"] == 0.5
        assert row.rates["satisfaction_guidance"] == 0.5
        hub_db.session.remove()
    hub.app.config["WTF_CSRF_ENABLED"] = False
    client = hub.app.test_client()
    client.post("/auth/login", data={"username": "xem", "password": PASSWORD})
    rows = {
        r["ward_code"]: r
        for r in client.get("/reports/export.json", query_string={"period": "2025-11"}).get_json()[
            "rows"
        ]
    }
    # Mỹ Long (30283), registered but ended on 30/6/2025 and silent since, is no unit of the
    # period's map; Mỹ Bình (also ended) is shown for the dossiers it holds.
    assert "30283" not in rows
    for key, value in EXPECTED.items():
        assert rows["30280"][key] == value, key
        assert rows["CITY"][key] == value, key
    from city_hub.reports.columns import ward_table
    from city_hub.reports.periods import parse_period

    table = list(
        csv.reader(
            io.StringIO(
                client.get("/reports/export.csv", query_string={"period": "2025-11"}).data.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    labels = {c.code: c.label for c in ward_table(parse_period("2025-11").regimes)}
    assert table[0] == list(labels.values())
    first = dict(zip(labels, table[1], strict=True))
    assert all(k in labels for k in EXPECTED)
    assert first["satisfaction_rate"] == "0.5000" and first["same_day"] == "2"
    # October holds none of it; the screen shows the reform table.
    october = client.get("/reports/export.json", query_string={"period": "2025-10"}).get_json()
    assert all(r["ratings"] == 0 and r["same_day"] == 0 for r in october["rows"])
    page = client.get("/reports/?period=2025-11").get_data(as_text=True)
    assert "Các mô hình cải cách hành chính" in page and "Tỷ lệ hài lòng" in page
    # Per desk: both ratings were of civil-status dossiers ("Hộ tịch").
    page = client.get("/reports/ward/30280?period=2025-11").get_data(as_text=True)
    assert "Mức độ hài lòng theo quầy" in page and "<td>Hộ tịch</td>" in page
    assert '<td class="num">50,0 %</td>' in page and '<td class="num">100,0 %</td>' in page
    # The hub sees the submitted self-inspection (the corrected version) and its ratings.
    page = client.get("/inspections/").get_data(as_text=True)
    assert "Năm 2025" in page and "12/13" in page and "1/13" in page


def test_older_ward_without_the_new_dossier_columns_is_still_accepted(app, hub):
    """A ward not yet upgraded (wire schema 1) sends dossiers without same_day, writing_assist
    and the rating code: the hub takes the columns' defaults instead of refusing its records."""
    from wardapp.sync.outgoing import next_batch
    from wardapp.sync.protocol import records_digest

    from .test_sync import hello, push

    receive_dossier(intake_data(), actor=account("letan"))
    hello(hub)
    batch = dict(next_batch(0), schema_version=1)
    for record in batch["records"]:
        if record["table"] == "dossier":
            for name in ("same_day", "writing_assist", "prefill_consent", "rating_code"):
                del record["data"][name]
    batch["sha256"] = records_digest(batch["records"])
    answer = push(hub, batch).json()
    assert answer["summary"]["rejected"] == 0 and hub.count("dossier") == 1


@pytest.mark.parametrize(
    "table, change",
    [
        ("rating", {"rated_at": "2025-11-03T10:00:00"}),  # no time zone
        ("letter", {"issued_at": "not a time"}),
        ("inspection", {"items": "13 mục"}),
    ],
)
def test_malformed_reform_records_are_rejected_alone(app, hub, table, change):
    from wardapp.sync.outgoing import next_batch
    from wardapp.sync.protocol import records_digest

    from .test_sync import hello, push

    app.config["CHAIRMAN_NAME"] = "Nguyễn Văn An"
    dossier = returned(BIRTH, "2025-11-03 08:00", "2025-11-03 09:00", "2025-11-03 10:00")
    issue_letter(dossier.code, actor=account("chuyenvien"), now=at("2025-11-03 10:05"))
    record_rating({"code": dossier.rating_code, **levels(*["satisfied"] * 4)}, channel="kiosk")
    start_inspection("Năm 2025", actor=account("chuyenvien"))
    hello(hub)
    batch = next_batch(0)
    target = next(r for r in batch["records"] if r["table"] == table)
    target["data"].update(change)
    batch["sha256"] = records_digest(batch["records"])
    answer = push(hub, batch).json()
    assert answer["summary"]["rejected"] == 1 and answer["rejects"][0]["table"] == table
    assert hub.count("dossier") == 1 and hub.count(table) == 0
