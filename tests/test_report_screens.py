"""The hub's report screens as a city official uses them: every dossier behind a number a page
at a time and exported whole, the period picker and the titles it gives, the CSV and Excel
exports (Vietnamese headings, the screen's columns in its order, the title and signature blocks)
and a ward's last contact beside its last push.

The data: one ward's 62 dossiers synced over HTTP to a hub served by waitress, 60 of them
received in the second quarter of 2020, one in March 2020 and one in December 2019.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa

from wardapp.dossiers.service import receive_dossier, record_step
from wardapp.extensions import db
from wardapp.sync.client import HubClient, SyncConfig, SyncRun
from wardapp.sync.records import User

from .conftest import PASSWORD, LiveServer, add_hub_staff, intake_data, make_hub, make_ward
from .test_reports import at

WARD = "30280"
QUARTER = 60  # dossiers received in April–June 2020


def receipt_times() -> list[str]:
    """62 weekday mornings: one in December 2019, one in March 2020, then 60 from April 2020."""
    days, day = [], dt.date(2020, 4, 3)
    while len(days) < QUARTER:
        if day.weekday() < 5 and day not in (dt.date(2020, 4, 30), dt.date(2020, 5, 1)):
            days.append(day)
        day += dt.timedelta(days=1)
    return ["2019-12-16 09:00", "2020-03-16 09:00", *(f"{d} 09:00" for d in days)]


def build_ward(path):
    """The ward's dossiers: received, every other one resolved the same afternoon."""
    path.mkdir(parents=True)
    app = make_ward(path, WTF_CSRF_ENABLED=False, ward_code=WARD)
    with app.app_context():
        clerk = db.session.scalar(sa.select(User).where(User.username == "letan"))
        leader = db.session.scalar(sa.select(User).where(User.username == "lanhdao"))
        for n, received in enumerate(receipt_times()):
            dossier, _ = receive_dossier(
                intake_data(applicant_name=f"Nguyễn Văn Số {n:02d}"),
                actor=clerk,
                now=at(received),
            )
            if n % 2:
                record_step(dossier.code, "resolved", actor=leader, now=at(received[:11] + "15:00"))
        db.session.remove()
    return app


def synced_hub(path, **config):
    """A hub holding the ward's dossiers, synced over HTTP, with its staff (a viewer "xem")."""
    hub_app, tokens = make_hub(path / "hub", wards=(WARD,), **config)
    add_hub_staff(hub_app)
    ward_app = build_ward(path / WARD)
    with LiveServer(hub_app) as url, ward_app.app_context():
        client = HubClient(SyncConfig(url, tokens[WARD]), retries=0, sleep=lambda s: None)
        assert SyncRun(client).run() == 0
        db.session.remove()
    return hub_app


@pytest.fixture(scope="module")
def hub_app(tmp_path_factory):
    app = synced_hub(tmp_path_factory.mktemp("reports"), WTF_CSRF_ENABLED=False)
    yield app
    from city_hub.extensions import db as hub_db

    with app.app_context():
        hub_db.session.remove()
        hub_db.engine.dispose()


@pytest.fixture
def client(hub_app):
    client = hub_app.test_client()
    client.post("/auth/login", data={"username": "xem", "password": PASSWORD})
    return client


def codes_on(page: str) -> list[str]:
    return re.findall(r'<td class="code">([^<]+)</td>', page)


def test_drill_down_pages_through_every_dossier(client):
    args = {"period": "2020-Q2", "indicator": "received", "ward": WARD}
    first = client.get("/reports/dossiers", query_string=args).text
    assert "Tiếp nhận mới trong kỳ: 60 hồ sơ · Quý II năm 2020" in first
    assert "Trang 1/2 · 60 hồ sơ" in first and "Trang sau" in first
    second = client.get("/reports/dossiers", query_string={**args, "page": "2"}).text
    assert "Trang 2/2 · 60 hồ sơ" in second and "Trang trước" in second
    on_first, on_second = codes_on(first), codes_on(second)
    assert len(on_first) == 50 and len(on_second) == 10
    assert len(set(on_first + on_second)) == QUARTER
    # The next page's link keeps the filters.
    link = re.search(r'href="([^"]+)" rel="next"', first)[1].replace("&amp;", "&")
    assert "page=2" in link and "indicator=received" in link and f"ward={WARD}" in link
    assert "period=2020-Q2" in link
    # Odd page numbers show the first page, never an error.
    for odd in ("0", "-1", "abc", "3", "99999999999999999999999", "1.5", ""):
        response = client.get("/reports/dossiers", query_string={**args, "page": odd})
        assert response.status_code == 200, odd
        assert "Trang 1/2" in response.text and codes_on(response.text) == on_first, odd


def test_drill_down_exports_every_dossier_with_its_filters(client):
    import openpyxl

    args = {"period": "2020-Q2", "indicator": "received", "ward": WARD}
    page = client.get("/reports/dossiers", query_string=args).text
    links = dict(
        (fmt, href.replace("&amp;", "&"))
        for href, fmt in re.findall(r'href="(/reports/dossiers\.(csv|xlsx)\?[^"]+)"', page)
    )
    assert set(links) == {"csv", "xlsx"}
    for href in links.values():
        assert "indicator=received" in href and f"ward={WARD}" in href
        assert "period=2020-Q2" in href
    from city_hub.reports.columns import DOSSIERS

    response = client.get(links["csv"])
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert table[0] == [c.label for c in DOSSIERS]
    assert table[0][:3] == ["Mã hồ sơ", "Đơn vị", "Người nộp"]
    assert len(table) == 1 + QUARTER
    assert {r[2] for r in table[1:]} == {f"Nguyễn Văn Số {n:02d}" for n in range(2, 62)}
    assert re.fullmatch(r"\d\d/\d\d/2020 09:00", table[1][5])
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(links["xlsx"]).data)).active
    texts = [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
    header = next(i for i, row in enumerate(texts) if row[:1] == ["Mã hồ sơ"])
    assert texts[header] == [c.label for c in DOSSIERS]
    assert texts[0] == ["Ủy ban nhân dân thành phố Long Xuyên"]
    assert ["Danh sách hồ sơ: Tiếp nhận mới trong kỳ (60 hồ sơ)"] in texts[:header]
    # A label holding a comma keeps it (the count's thousands are dots, the label untouched).
    overdue = client.get(links["xlsx"].replace("indicator=received", "indicator=pending_overdue"))
    title = openpyxl.load_workbook(io.BytesIO(overdue.data)).active.cell(2, 1).value
    assert title == "Danh sách hồ sơ: Đang giải quyết, quá hạn (31 hồ sơ)"  # unresolved, late now
    assert [f"Đơn vị: Đơn vị {WARD}"] in texts[:header]
    dossiers = [row for row in texts[header + 1 :] if row and str(row[0]).startswith(WARD)]
    assert len(dossiers) == QUARTER
    assert ["NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ"] in texts[header + 1 :]


@pytest.mark.parametrize(
    "spec, title",
    [
        ("2020-03", "Tháng 3 năm 2020"),
        ("2020-Q2", "Quý II năm 2020"),
        ("2020-6M", "6 tháng đầu năm 2020"),
        ("2020-9M", "9 tháng đầu năm 2020"),
        ("2020", "Năm 2020"),
    ],
)
def test_the_period_picker_offers_each_period_and_the_title_names_it(client, spec, title):
    page = client.get("/reports/", query_string={"period": spec}).text
    assert f"<h1>Kết quả giải quyết thủ tục hành chính · {title} " in page
    assert f'<option value="{spec}" selected>{title}</option>' in page
    # Every year the hub holds dossiers of, up to this one, with all its periods.
    for year in range(2019, dt.date.today().year + 1):
        assert f'<optgroup label="Năm {year}">' in page
    for value, label in (
        ("2019-12", "Tháng 12 năm 2019"),
        ("2019-Q4", "Quý IV năm 2019"),
        ("2020-6M", "6 tháng đầu năm 2020"),
        ("2020-9M", "9 tháng đầu năm 2020"),
        ("2019", "Năm 2019"),
    ):
        assert re.search(rf'<option value="{value}"( selected)?>{label}</option>', page)
    assert '<optgroup label="Năm 2018">' not in page


def test_period_titles_of_dates_picked_by_hand():
    from city_hub.reports.periods import parse_period

    assert parse_period(None, "2020-04-01", "2020-06-30").title == "Quý II năm 2020"
    assert parse_period("2020-q4").title == "Quý IV năm 2020"
    assert parse_period(None, "2020-04-01", "2020-04-15").title == (
        "Từ ngày 01/04/2020 đến ngày 15/04/2020"
    )
    assert parse_period(None, "2020-01-01", "2020-12-31").title == "Năm 2020"


def screen_headings(page: str) -> list[str]:
    """The headings of the overview's two tables, the ward table then the reform models'."""
    heads = re.findall(r'<table class="list figures">\s*<thead>(.*?)</thead>', page, re.S)
    return [
        [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th>(.*?)</th>", head, re.S)]
        for head in heads
    ]


def test_csv_and_excel_have_the_screens_columns_in_vietnamese(client):
    import openpyxl

    from city_hub.reports.columns import WARD_TABLE

    page = client.get("/reports/", query_string={"period": "2020-Q2"}).text
    figures, reform = screen_headings(page)
    # The export: the ward's code, then the screen's two tables side by side, in their order.
    shown = ["Mã đơn vị", *figures, *reform[1:]]
    table = list(
        csv.reader(
            io.StringIO(
                client.get("/reports/export.csv", query_string={"period": "2020-Q2"}).data.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert table[0] == shown == [c.label for c in WARD_TABLE]
    assert table[1][:2] == [WARD, f"Đơn vị {WARD}"]
    assert table[1][shown.index("Tiếp nhận mới trong kỳ")] == str(QUARTER)
    # The JSON keeps its machine names.
    data = client.get("/reports/export.json", query_string={"period": "2020-Q2"}).get_json()
    assert data["columns"][:4] == ["ward_code", "ward_name", "carried_over", "received"]
    assert data["rows"][0]["received"] == QUARTER and data["rows"][0]["ward_code"] == WARD
    assert data["rows"][0]["on_time_rate"] == 1.0

    response = client.get("/reports/export.xlsx", query_string={"period": "2020-Q2"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(rows) if r[0] == "Mã đơn vị")
    assert rows[header] == shown
    block = [r[0] for r in rows[:header] if r[0]]
    assert block[0] == "Ủy ban nhân dân thành phố Long Xuyên"
    assert block[1] == "Kết quả giải quyết thủ tục hành chính"
    assert block[2] == "Kỳ báo cáo: Quý II năm 2020 (từ ngày 01/04/2020 đến ngày 30/06/2020)"
    assert block[3] == "Bản đồ: Đơn vị hành chính của kỳ báo cáo"  # the map its rows are on
    assert re.fullmatch(r"Số liệu tính đến \d\d/\d\d/\d{4} \d\d:\d\d", block[4])
    from kernel.columns import utcnow
    from kernel.workdays import to_local

    assert block[4][-16:-6] == f"{to_local(utcnow()):%d/%m/%Y}"  # the local date, not UTC's
    ward_row, city_row = rows[header + 1], rows[header + 2]
    assert ward_row[:2] == [WARD, f"Đơn vị {WARD}"] and city_row[1] == "Toàn thành phố"
    assert ward_row[shown.index("Tiếp nhận mới trong kỳ")] == QUARTER
    assert ward_row[shown.index("Tỷ lệ đúng hạn")] == 1.0
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", ward_row[shown.index("Số liệu đầy đủ đến")])
    below = [[c for c in r if c] for r in rows[header + 3 :]]
    signatures = below.index(["NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ"])
    assert below[signatures + 1] == ["(Ký, ghi rõ họ tên)", "(Ký, ghi rõ họ tên)"]
    assert re.fullmatch(r"Long Xuyên, ngày \d\d tháng \d\d năm \d{4}", below[signatures - 1][0])


def test_a_ward_page_shows_last_contact_no_earlier_than_last_push(hub_app, client):
    from city_hub.extensions import db as hub_db
    from city_hub.models import Ward
    from kernel.formatting import vn_datetime

    with hub_app.app_context():
        ward = hub_db.session.get(Ward, WARD)
        seen, pushed = ward.last_seen_utc, ward.last_push_ok_utc
        hub_db.session.remove()
    assert pushed is not None and seen >= pushed
    page = client.get(f"/reports/ward/{WARD}", query_string={"period": "2020-Q2"}).text
    assert f"Liên lạc gần nhất: {vn_datetime(seen)}" in page
    assert f"Đẩy dữ liệu thành công gần nhất: {vn_datetime(pushed)}" in page
    assert "Quý II năm 2020" in page


def test_charts_speak_vietnamese_even_when_empty(client):
    for name in ("on-time", "ranking", "channels"):
        empty = client.get(f"/reports/chart/{name}.svg", query_string={"period": "2010"})
        assert empty.status_code == 200
        assert "Không có dữ liệu" in empty.text and "No data" not in empty.text, name
    full = client.get("/reports/chart/channels.svg", query_string={"period": "2020-Q2"}).text
    assert "Số hồ sơ" in full and "Trực tiếp" in full and "04/2020" in full
