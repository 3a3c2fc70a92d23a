"""City reports: a small city whose true figures are counted here, independently of the report
code, must come out exactly so on the screen and in the CSV, JSON and Excel exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import sqlite3

import pytest
import sqlalchemy as sa

from kernel.workdays import LOCAL_TZ
from wardapp.dossiers.service import receive_dossier, record_step
from wardapp.extensions import db
from wardapp.sync.client import HubClient, SyncConfig, SyncRun
from wardapp.sync.records import User

from .conftest import PASSWORD, LiveServer, intake_data, make_hub, make_ward

BIRTH, MARITAL = "1.001193", "1.004873"  # same-day, level 3 / 3 working days, level 4


def at(text: str) -> dt.datetime:
    """A Vietnam wall-clock time, "2025-11-03 09:00"."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


# Each dossier: ward, procedure, receipt time, intake fields, then (step, time, extra) in order.
CITY = [
    # Received Friday 31/10 after 15:00 (October), resolved Monday 03/11 on time (November).
    ("30280", BIRTH, "2025-10-31 16:30", {}, [("resolved", "2025-11-03 10:00", {})]),
    # 00:30 on Saturday 01/11 local is still 31/10 in UTC: it belongs to November.
    (
        "30280",
        BIRTH,
        "2025-11-01 00:30",
        {"channel": "online_partial"},
        [("resolved", "2025-11-03 09:00", {})],
    ),
    # Paused two working days for a supplement; resolved on the extended due day; sent by post.
    (
        "30280",
        MARITAL,
        "2025-11-03 09:00",
        {"channel": "online_full", "return_method": "postal"},
        [
            ("supplement_requested", "2025-11-03 10:00", {"reason": "Thiếu giấy tờ"}),
            ("supplement_received", "2025-11-05 09:00", {}),
            ("resolved", "2025-11-10 15:00", {}),
            ("returned", "2025-11-11 09:00", {}),
        ],
    ),
    # Apology with a new date, still late against the original due day (07/11).
    (
        "30280",
        MARITAL,
        "2025-11-04 09:00",
        {},
        [
            ("apology", "2025-11-06 10:00", {"reason": "Xác minh", "new_due_date": "2025-11-12"}),
            ("resolved", "2025-11-11 10:00", {}),
        ],
    ),
    (
        "30280",
        BIRTH,
        "2025-11-05 09:00",
        {},
        [("refused", "2025-11-05 10:00", {"reason": "Không thuộc thẩm quyền"})],
    ),
    (
        "30280",
        BIRTH,
        "2025-11-05 09:30",
        {},
        [("withdrawn", "2025-11-06 09:00", {"reason": "Rút hồ sơ"})],
    ),
    ("30280", MARITAL, "2025-11-27 09:00", {}, []),  # pending, due 02/12: not overdue
    ("30280", BIRTH, "2025-11-24 09:00", {}, []),  # pending and overdue
    ("30280", BIRTH, "2025-11-28 14:00", {}, [("resolved", "2025-12-01 09:00", {})]),
    (
        "30283",
        BIRTH,
        "2025-11-03 10:00",
        {"channel": "postal"},
        [("resolved", "2025-11-03 15:00", {})],
    ),
    (
        "30283",
        MARITAL,
        "2025-11-10 09:00",
        {"channel": "online_full"},
        [("resolved", "2025-11-11 09:00", {})],
    ),  # early
    ("30283", MARITAL, "2025-10-06 09:00", {}, [("resolved", "2025-10-08 09:00", {})]),
    ("30283", MARITAL, "2025-10-30 09:00", {}, [("resolved", "2025-11-04 09:00", {})]),
]


def build_ward(path, code: str):
    path.mkdir(parents=True)
    app = make_ward(path, WTF_CSRF_ENABLED=False, ward_code=code)
    with app.app_context():
        clerk = db.session.scalar(sa.select(User).where(User.username == "letan"))
        leader = db.session.scalar(sa.select(User).where(User.username == "lanhdao"))
        for ward, procedure, received, fields, steps in CITY:
            if ward != code:
                continue
            dossier, _ = receive_dossier(
                intake_data(procedure_code=procedure, **fields), actor=clerk, now=at(received)
            )
            for kind, when, extra in steps:
                # the dossiers are not handed over: the leader takes the officer's steps
                actor = clerk if kind == "returned" else leader
                record_step(dossier.code, kind, actor=actor, now=at(when), **extra)
    return app


@pytest.fixture
def city(tmp_path, hub_database_url):
    """Two wards holding the scenario above, synced to a hub served by waitress."""
    hub_app, tokens = make_hub(
        tmp_path / "hub",
        wards=("30280", "30283"),
        database_url=hub_database_url,
        WTF_CSRF_ENABLED=False,
    )
    from city_hub.extensions import db as hub_db
    from city_hub.models import HubUser

    with hub_app.app_context():
        viewer = HubUser(username="xem", full_name="Cán bộ thành phố", role="viewer")
        viewer.set_password(PASSWORD)
        hub_db.session.add(viewer)
        hub_db.session.commit()
    wards = {}
    with LiveServer(hub_app) as url:
        for code in ("30280", "30283"):
            ward_app = build_ward(tmp_path / code, code)
            with ward_app.app_context():
                client = HubClient(SyncConfig(url, tokens[code]), retries=0, sleep=lambda s: None)
                assert SyncRun(client).run() == 0
                db.session.remove()
            wards[code] = tmp_path / code / "ward.sqlite"
    yield hub_app, wards
    with hub_app.app_context():
        hub_db.session.remove()
        hub_db.engine.dispose()


def expected(wards: dict, first: dt.date, last: dt.date) -> dict[str, dict]:
    """The true figures, counted here in plain Python from the wards' own databases."""
    start = dt.datetime.combine(first, dt.time(0), LOCAL_TZ)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), LOCAL_TZ)
    levels = {BIRTH: "partial", MARITAL: "full"}
    figures = {}
    for code, path in wards.items():
        conn = sqlite3.connect(path)
        conn.row_factory = sqlite3.Row
        f = dict.fromkeys(
            [
                "received",
                "received_desk",
                "received_postal",
                "received_online_partial",
                "received_online_full",
                "resolved",
                "resolved_early",
                "resolved_on_time",
                "resolved_late",
                "pending",
                "pending_overdue",
                "postal",
                "apologies",
                "l3",
                "l3_online",
                "l4",
                "l4_online",
            ],
            0,
        )
        for row in conn.execute("select * from dossier"):

            def t(name):
                value = row[name]
                return (
                    None
                    if value is None
                    else dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
                )

            received, resolved, closed, due = (
                t("received_at"),
                t("resolved_at"),
                t("closed_at"),
                t("due_at"),
            )
            finished = resolved or closed
            if start <= received < end:
                f["received"] += 1
                f[f"received_{row['channel']}"] += 1
                if row["channel"] == "postal" or row["return_method"] == "postal":
                    f["postal"] += 1
                level = levels[row["procedure_code"]]
                f["l3" if level == "partial" else "l4"] += 1
                if (level, row["channel"]) in (
                    ("partial", "online_partial"),
                    ("full", "online_full"),
                ):
                    f["l3_online" if level == "partial" else "l4_online"] += 1
            if resolved and start <= resolved < end:
                f["resolved"] += 1
                f[f"resolved_{row['timeliness']}"] += 1
                if row["timeliness"] == "late" and row["due_at_revised"]:
                    f["apologies"] += 1
            if received < end and (finished is None or finished >= end):
                f["pending"] += 1
                f["pending_overdue"] += due < end
        conn.close()
        figures[code] = f
    return figures


def report_rows(client, **args) -> dict[str, dict]:
    return {
        r["ward_code"]: r
        for r in client.get("/reports/export.json", query_string=args).get_json()["rows"]
    }


def login(client):
    client.post("/auth/login", data={"username": "xem", "password": PASSWORD})


def check(rows: dict, truth: dict) -> None:
    total = {k: sum(t[k] for t in truth.values()) for k in next(iter(truth.values()))}
    for code, t in [*truth.items(), ("CITY", total)]:
        r = rows[code]
        for key in (
            "received",
            "received_desk",
            "received_postal",
            "received_online_partial",
            "received_online_full",
            "resolved",
            "resolved_early",
            "resolved_on_time",
            "resolved_late",
            "pending",
            "pending_overdue",
            "postal",
            "apologies",
        ):
            assert r[key] == t[key], (code, key)
        in_time = t["resolved_early"] + t["resolved_on_time"]
        assert r["on_time_rate"] == (round(in_time / t["resolved"], 4) if t["resolved"] else None)
        assert r["online_partial_rate"] == (round(t["l3_online"] / t["l3"], 4) if t["l3"] else None)
        assert r["online_full_rate"] == (round(t["l4_online"] / t["l4"], 4) if t["l4"] else None)


@pytest.mark.parametrize(
    "args, first, last",
    [
        ({"period": "2025-11"}, dt.date(2025, 11, 1), dt.date(2025, 11, 30)),
        ({"period": "2025-Q4"}, dt.date(2025, 10, 1), dt.date(2025, 12, 31)),
        ({"from": "2025-10-31", "to": "2025-11-05"}, dt.date(2025, 10, 31), dt.date(2025, 11, 5)),
    ],
)
def test_known_city_figures_in_json(city, args, first, last):
    hub_app, wards = city
    client = hub_app.test_client()
    login(client)
    truth = expected(wards, first, last)
    check(report_rows(client, **args), truth)


def test_november_by_hand(city):
    """The scenario's November, written out: boundaries in Vietnam time, pauses, apologies."""
    hub_app, _ = city
    client = hub_app.test_client()
    login(client)
    rows = report_rows(client, period="2025-11")
    mybinh, mylong = rows["30280"], rows["30283"]
    assert mybinh["received"] == 8  # not the 31/10 16:30 one; yes the 01/11 00:30 one
    assert mybinh["resolved"] == 4 and mybinh["resolved_late"] == 1 and mybinh["apologies"] == 1
    assert mybinh["pending"] == 3 and mybinh["pending_overdue"] == 2
    assert mybinh["on_time_rate"] == 0.75
    assert mylong["received"] == 2 and mylong["resolved"] == 3 and mylong["resolved_early"] == 1
    assert rows["CITY"]["received"] == 10 and rows["CITY"]["postal"] == 2
    # Working days used: 0 and 0 (same day), 3 (five elapsed, two paused), 5; statutory 0, 0, 3, 3.
    from city_hub.reports.periods import parse_period
    from city_hub.reports.queries import ward_report

    with hub_app.app_context():
        mybinh_row = ward_report(parse_period("2025-11").window())[0]
    assert mybinh_row.rates["avg_working_days"] == 2.0
    assert mybinh_row.rates["avg_statutory_days"] == 1.5


def test_csv_and_excel_match_json(city):
    import openpyxl

    hub_app, _ = city
    client = hub_app.test_client()
    login(client)
    rows = report_rows(client, period="2025-11")
    response = client.get("/reports/export.csv", query_string={"period": "2025-11"})
    assert response.data.startswith(b"\xef\xbb\xbf")
    from city_hub.reports.columns import WARD_TABLE, ward_table
    from city_hub.reports.periods import parse_period

    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    # Vietnamese headings, one for each of the JSON's machine names, in the same order; the
    # online ones by the rules of November 2025 (tests/test_regimes.py).
    assert table[0] == [c.label for c in ward_table(parse_period("2025-11").regimes)]
    assert table[0][:4] == [
        "Mã đơn vị",
        "Đơn vị",
        "Tồn kỳ trước chuyển sang",
        "Tiếp nhận mới trong kỳ",
    ]
    codes = [c.code for c in WARD_TABLE]
    table = [dict(zip(codes, r, strict=True)) for r in table[1:]]
    assert [r["ward_code"] for r in table] == ["30280", "30283", "CITY"]
    for r in table:
        expected_row = rows[r["ward_code"]]
        assert int(r["received"]) == expected_row["received"]
        assert r["on_time_rate"] == f"{expected_row['on_time_rate']:.4f}"
    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/reports/export.xlsx", query_string={"period": "2025-11"}).data)
    )
    sheet = book.active
    header = next(r for r in range(1, 12) if sheet.cell(r, 1).value == "Mã đơn vị")
    assert sheet.cell(header, 4).value == "Tiếp nhận mới trong kỳ"
    values = {
        sheet.cell(r, 1).value: {
            code: sheet.cell(r, c).value for c, code in enumerate(codes, start=1)
        }
        for r in range(header + 1, header + 4)
    }
    assert values["CITY"]["received"] == rows["CITY"]["received"]
    assert values["30280"]["on_time_rate"] == rows["30280"]["on_time_rate"]


def test_screen_shows_the_same_figures_and_traces_them(city):
    hub_app, _ = city
    client = hub_app.test_client()
    login(client)
    page = client.get("/reports/", query_string={"period": "2025-11"}).text
    row = page.split("Toàn thành phố")[1].split("</tr>")[0]
    cells = [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]
    assert cells[:3] == ["2", "10", "6"]  # carried over, received, of which at the desk
    # The late figure of 30280 links to the dossier behind it.
    late = client.get(
        "/reports/dossiers",
        query_string={"period": "2025-11", "indicator": "resolved_late", "ward": "30280"},
    ).text
    assert "1 hồ sơ" in late and "-251104-" in late
    by_field = client.get("/reports/ward/30280", query_string={"period": "2025-11"}).text
    assert "Hộ tịch" in by_field
    by_procedure = client.get(
        "/reports/ward/30280", query_string={"period": "2025-11", "field": "Hộ tịch"}
    ).text
    assert "Cấp Giấy xác nhận tình trạng hôn nhân" in by_procedure
    for chart in ("on-time", "channels", "ranking"):
        svg = client.get(f"/reports/chart/{chart}.svg", query_string={"period": "2025-11"})
        assert svg.mimetype == "image/svg+xml" and b"<script" not in svg.data
        assert not re.search(
            rb"(href|src)\s*=\s*[\"'](https?:)?//|url\(\s*[\"']?(https?:)?//|@import", svg.data
        ), "the chart loads something from outside"


@pytest.mark.parametrize(
    "args, status",
    [
        ({"from": "2025-11-30", "to": "2025-11-01"}, 400),
        ({"from": "2025-13-01", "to": "2025-12-01"}, 400),
        ({"period": "tháng 11"}, 400),
        ({"from": "2025-11-01"}, 400),
    ],
)
def test_bad_parameters_are_explained(city, args, status):
    hub_app, _ = city
    client = hub_app.test_client()
    login(client)
    response = client.get("/reports/", query_string=args)
    assert response.status_code == status and "Lỗi" in response.text
    assert client.get("/reports/ward/99999", query_string={"period": "2025-11"}).status_code == 404
    assert (
        client.get(
            "/reports/dossiers", query_string={"period": "2025-11", "indicator": "drop table"}
        ).status_code
        == 400
    )


def test_reports_need_login_and_admin_screens_need_admin(city):
    hub_app, _ = city
    client = hub_app.test_client()
    assert client.get("/reports/").status_code == 302
    login(client)
    assert client.get("/admin/wards").status_code == 403


def test_hub_login_form_needs_its_csrf_token(tmp_path):
    hub_app, _ = make_hub(tmp_path / "hub")
    from city_hub.extensions import db as hub_db
    from city_hub.models import HubUser

    with hub_app.app_context():
        viewer = HubUser(username="xem", full_name="Cán bộ", role="viewer")
        viewer.set_password(PASSWORD)
        hub_db.session.add(viewer)
        hub_db.session.commit()
    client = hub_app.test_client()
    assert (
        client.post("/auth/login", data={"username": "xem", "password": PASSWORD}).status_code
        == 400
    )
    token = client.get("/auth/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    assert (
        client.post(
            "/auth/login", data={"username": "xem", "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 302
    )
