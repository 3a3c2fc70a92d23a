"""Reports by map: every report, export and drill-down is drawn on the units of its period (the
default) or on today's units, and says which. On today's map a row sums the dossiers of every
unit that became it (Đông Xuyên → Mỹ Xuyên → Phường Long Xuyên); the city total is the same on
both maps; a period across a merger shows every unit that existed in it, each with its own.

The data: dossiers generated straight into the hub's dossier table for the 13 units of 2020
(2020 and 2024), the 12 of the first half of 2025 and the 4 of Tỉnh An Giang from July 2025,
each counted again here, by its ``ward_code`` at receipt, independently of the report code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
import uuid
import zipfile

import pytest
import sqlalchemy as sa

from kernel.refdata import snapshot_from_files, valid_on
from kernel.workdays import LOCAL_TZ

from .conftest import PASSWORD, make_hub

UNITS = {u["code"]: u for u in snapshot_from_files()["units"]}
DESKS = [c for c, u in UNITS.items() if u["kind"] in ("phuong", "xa")]
NEW = {UNITS[c]["name"]: c for c in DESKS if UNITS[c]["valid_from"] == "2025-07-01"}
LONG_XUYEN = NEW["Phường Long Xuyên"]
DONG_XUYEN, MY_XUYEN = "30285", "30286"
YEARS = (dt.date(2020, 1, 1), dt.date(2020, 12, 31)), (dt.date(2024, 1, 1), dt.date(2025, 12, 31))


def generated() -> list[dict]:
    """About 700 dossiers: on working days, each received by a unit in existence that day."""
    rng = random.Random(17)
    dossiers, n = [], 0
    for first, last in YEARS:
        day = first
        while day <= last:
            if day.weekday() < 5:
                for code in DESKS:
                    if valid_on(UNITS[code], day) and rng.random() < 0.09:
                        n += 1
                        dossiers.append(dossier(rng, code, day, n))
            day += dt.timedelta(days=3)
    return dossiers


def dossier(rng: random.Random, code: str, day: dt.date, n: int) -> dict:
    received = dt.datetime.combine(day, dt.time(9), LOCAL_TZ).astimezone(dt.UTC)
    due = received + dt.timedelta(days=3)
    resolved = received + dt.timedelta(days=rng.choice((1, 2, 5))) if rng.random() < 0.8 else None
    timeliness = None if resolved is None else ("late" if resolved > due else "on_time")
    return {
        "uuid": str(uuid.UUID(int=n)),
        "ward_code": code,
        "code": f"{code}-{day:%y%m%d}-{n:04d}",
        "request_key": f"key-{n:08d}",
        "procedure_code": "1.001193",
        "procedure_name": "Đăng ký khai sinh",
        "regime": "2018",
        "applicant_kind": "person",
        "applicant_name": f"Nguyễn Văn {n}",
        "citizen_id": "",
        "phone": "",
        "email": "",
        "address": "Long Xuyên",
        "channel": rng.choice(("desk", "online_partial")),
        "return_method": "desk",
        "return_address": "",
        "documents": "[]",
        "sets_count": 1,
        "note": "",
        "received_at": received,
        "received_by_uuid": str(uuid.UUID(int=0)),
        "due_at_original": due,
        "due_at": due,
        "calendar_version": "test",
        "status": 10 if resolved else 2,
        "resolved_at": resolved,
        "returned_at": resolved,
        "timeliness": timeliness,
        "working_days_used": 1 if resolved else None,
        "logbook_number": n,
        "updated_at": received,
        "version": 1,
        "sync_sha256": "0" * 64,
        "sync_seq": n,
        "synced_utc": received,
    }


DOSSIERS = generated()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    from city_hub.extensions import db as hub_db
    from city_hub.models import RECORD_TABLES, HubUser

    app, _ = make_hub(tmp_path_factory.mktemp("hub"), wards=DESKS, WTF_CSRF_ENABLED=False)
    with app.app_context():
        viewer = HubUser(username="xem", full_name="Cán bộ thành phố", role="viewer")
        viewer.set_password(PASSWORD)
        hub_db.session.add(viewer)
        hub_db.session.execute(sa.insert(RECORD_TABLES["dossier"]), DOSSIERS)
        hub_db.session.commit()
    client = app.test_client()
    client.post("/auth/login", data={"username": "xem", "password": PASSWORD})
    yield client
    with app.app_context():
        hub_db.session.remove()
        hub_db.engine.dispose()


def received_in(first: dt.date, last: dt.date) -> dict[str, int]:
    """Dossiers received in the period, per unit at receipt, counted here."""
    counts: dict[str, int] = {}
    for d in DOSSIERS:
        if first <= d["received_at"].astimezone(LOCAL_TZ).date() <= last:
            counts[d["ward_code"]] = counts.get(d["ward_code"], 0) + 1
    return counts


def today_of(code: str) -> str:
    """Today's unit of ``code``, followed here by its successors (independently of the kernel)."""
    while UNITS[code]["successor_codes"]:
        code = UNITS[code]["successor_codes"][0]
    return code


def rows(client, **args) -> dict[str, dict]:
    answer = client.get("/reports/export.json", query_string=args)
    assert answer.status_code == 200
    return {r["ward_code"]: r for r in answer.get_json()["rows"]}


PERIODS = {
    "2020": (dt.date(2020, 1, 1), dt.date(2020, 12, 31)),
    "2020-9M": (dt.date(2020, 1, 1), dt.date(2020, 9, 30)),
    "2024": (dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
    "2025": (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
    "2025-Q3": (dt.date(2025, 7, 1), dt.date(2025, 9, 30)),
}


@pytest.mark.parametrize("spec", PERIODS)
def test_the_city_total_is_the_same_on_both_maps(hub, spec):
    period_map, today_map = rows(hub, period=spec), rows(hub, period=spec, map="today")
    first, last = PERIODS[spec]
    truth = received_in(first, last)
    assert period_map["CITY"]["received"] == today_map["CITY"]["received"] == sum(truth.values())
    for code in ("received", "resolved", "resolved_late", "pending", "received_desk"):
        assert period_map["CITY"][code] == today_map["CITY"][code]
        assert sum(r[code] for k, r in today_map.items() if k != "CITY") == today_map["CITY"][code]
    # today's map: the 4 units of today, each the sum of every unit that became it
    assert set(today_map) - {"CITY"} == set(NEW.values())
    for code, row in today_map.items():
        if code != "CITY":
            assert row["received"] == sum(n for c, n in truth.items() if today_of(c) == code)
            assert row["ward_name"] == UNITS[code]["name"]


def test_long_xuyen_today_sums_its_seven_predecessors(hub):
    truth = received_in(*PERIODS["2024"])
    olds = [c for c in DESKS if today_of(c) == LONG_XUYEN and c != LONG_XUYEN]
    assert DONG_XUYEN in olds and MY_XUYEN in olds and len(olds) == 7
    assert truth[DONG_XUYEN] > 0  # Đông Xuyên's 2024 dossiers reach Long Xuyên via Mỹ Xuyên
    assert rows(hub, period="2024", map="today")[LONG_XUYEN]["received"] == sum(
        truth.get(c, 0) for c in olds
    )


def test_the_2020_map_is_the_13_units_of_2020(hub):
    by_period = rows(hub, period="2020")
    assert set(by_period) - {"CITY"} == {c for c in DESKS if not UNITS[c]["valid_from"]}
    truth = received_in(*PERIODS["2020"])
    assert {k: r["received"] for k, r in by_period.items() if k != "CITY"} == truth


def test_a_year_across_the_mergers_shows_every_unit_of_the_year(hub):
    """2025 on its own map: the 12 units of the first half and the 4 of the second, each with
    its own dossiers; Mỹ Xuyên only its own; Đông Xuyên (gone on 1/1) only for the dossiers it
    still held open, received nothing."""
    by_period = rows(hub, period="2025")
    truth = received_in(*PERIODS["2025"])
    start = dt.datetime(2025, 1, 1, tzinfo=LOCAL_TZ)
    still_open = [
        d
        for d in DOSSIERS
        if d["ward_code"] == DONG_XUYEN and (d["resolved_at"] is None or d["resolved_at"] >= start)
    ]
    assert still_open and DONG_XUYEN not in truth
    assert by_period[DONG_XUYEN]["received"] == 0
    assert by_period[DONG_XUYEN]["carried_over"] == len(still_open)
    assert len(by_period) == 12 + 4 + 1 + 1
    for code in set(by_period) - {"CITY", DONG_XUYEN}:
        assert valid_on(UNITS[code], dt.date(2025, 1, 1)) or valid_on(
            UNITS[code], dt.date(2025, 12, 31)
        )
    assert {k: r["received"] for k, r in by_period.items() if k != "CITY"} == {
        c: truth.get(c, 0) for c in by_period if c != "CITY"
    }
    assert by_period[MY_XUYEN]["received"] == truth[MY_XUYEN]
    assert by_period[LONG_XUYEN]["received"] == truth[LONG_XUYEN] > 0
    # 2024 still has Đông Xuyên with its own dossiers
    assert (
        rows(hub, period="2024")[DONG_XUYEN]["received"]
        == received_in(*PERIODS["2024"])[DONG_XUYEN]
    )


def test_screens_say_which_map(hub):
    page = hub.get("/reports/?period=2024").text
    h1 = re.search(r"<h1>(.*?)</h1>", page, re.S)[1]
    assert "Đơn vị hành chính của kỳ báo cáo" in h1 and "Năm 2024" in h1
    assert re.search(r'value="period" checked> Đơn vị hành chính của kỳ báo cáo', page)
    page = hub.get("/reports/?period=2024&map=today").text
    h1 = re.search(r"<h1>(.*?)</h1>", page, re.S)[1]
    assert "Đơn vị hành chính hiện nay" in h1
    assert re.search(r'value="today" checked> Đơn vị hành chính hiện nay', page)
    assert "Phường Long Xuyên" in page and "Phường Mỹ Bình" not in page
    # the links keep the map
    assert f"/reports/ward/{LONG_XUYEN}?period=2024&amp;map=today" in page
    assert "export.csv?period=2024&amp;map=today" in page


def test_drill_down_on_todays_map_lists_the_predecessors_dossiers(hub):
    truth = received_in(*PERIODS["2024"])
    expected = sum(n for c, n in truth.items() if today_of(c) == LONG_XUYEN)
    page = hub.get(
        "/reports/dossiers",
        query_string={
            "period": "2024",
            "map": "today",
            "indicator": "received",
            "ward": LONG_XUYEN,
        },
    )
    assert page.status_code == 200
    h1 = re.search(r"<h1>(.*?)</h1>", page.text, re.S)[1]
    assert f"{expected} hồ sơ" in h1 and "Đơn vị hành chính hiện nay" in h1
    assert f"{DONG_XUYEN}-24" in page.text  # a Đông Xuyên dossier keeps its code
    ward = hub.get(f"/reports/ward/{LONG_XUYEN}?period=2024&map=today")
    assert ward.status_code == 200 and "Phường Long Xuyên" in ward.text
    assert "Đơn vị hành chính hiện nay" in ward.text
    # the same unit's 2024 drill-down on the period's map has nothing (it did not exist)
    period = hub.get(
        "/reports/dossiers",
        query_string={"period": "2024", "indicator": "received", "ward": LONG_XUYEN},
    )
    assert "0 hồ sơ" in re.search(r"<h1>(.*?)</h1>", period.text, re.S)[1]
    csv_text = hub.get(
        "/reports/dossiers.csv",
        query_string={
            "period": "2024",
            "map": "today",
            "indicator": "received",
            "ward": LONG_XUYEN,
        },
    )
    assert "don-vi-hien-nay" in csv_text.headers["Content-Disposition"]
    assert len(list(csv.reader(io.StringIO(csv_text.data.decode("utf-8-sig"))))) == expected + 1


def test_exports_carry_the_map(hub):
    answer = hub.get("/reports/export.json?period=2024&map=today").get_json()
    assert answer["map"] == {"code": "today", "label": "Đơn vị hành chính hiện nay"}
    assert hub.get("/reports/export.json?period=2024").get_json()["map"]["code"] == "period"
    today_csv = hub.get("/reports/export.csv?period=2024&map=today")
    assert "-don-vi-hien-nay.csv" in today_csv.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(today_csv.data.decode("utf-8-sig"))))
    assert {line[0] for line in lines[1:]} == {*NEW.values(), "CITY"}
    period_csv = hub.get("/reports/export.csv?period=2024")
    assert period_csv.headers["Content-Disposition"].endswith("bao-cao-20240101-20241231.csv")
    for args, label in (("&map=today", "hiện nay"), ("", "của kỳ báo cáo")):
        book = hub.get(f"/reports/export.xlsx?period=2024{args}").data
        with zipfile.ZipFile(io.BytesIO(book)) as z:
            strings = z.read("xl/sharedStrings.xml").decode()
        assert f"Bản đồ: Đơn vị hành chính {label}" in strings


def test_a_map_that_does_not_exist_is_explained(hub):
    answer = hub.get("/reports/?period=2024&map=yesterday")
    assert answer.status_code == 400 and "Bản đồ đơn vị không hợp lệ" in answer.text
    # a unit of today that no desk holds is not a ward of the period's map
    assert hub.get(f"/reports/ward/{LONG_XUYEN}?period=2024&map=today").status_code == 200
    assert hub.get("/reports/ward/30280?period=2024&map=today").status_code == 200


def test_the_cli_report_takes_the_map(tmp_path):
    """``city-hub report --map today`` prints today's rows and the same city total."""
    from click.testing import CliRunner

    from city_hub.cli import cli
    from city_hub.extensions import db as hub_db
    from city_hub.models import RECORD_TABLES

    app, _ = make_hub(tmp_path / "hub", wards=DESKS)
    with app.app_context():
        hub_db.session.execute(sa.insert(RECORD_TABLES["dossier"]), DOSSIERS)
        hub_db.session.commit()
        hub_db.session.remove()
        hub_db.engine.dispose()
    runner = CliRunner()
    out = {}
    for kind in ("period", "today"):
        result = runner.invoke(
            cli,
            [
                "report",
                "--period",
                "2024",
                "--format",
                "json",
                "--map",
                kind,
                "--instance",
                str(tmp_path / "hub"),
            ],
        )
        assert result.exit_code == 0, result.output
        out[kind] = json.loads(result.output)
    assert out["today"]["map"]["label"] == "Đơn vị hành chính hiện nay"
    city = [r for r in out["today"]["rows"] if r["ward_code"] == "CITY"]
    assert city == [r for r in out["period"]["rows"] if r["ward_code"] == "CITY"]
    assert len(out["today"]["rows"]) == 5 and len(out["period"]["rows"]) == 14
