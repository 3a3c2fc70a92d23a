"""The rules as dated data (kernel.regimes): the regime in force at a moment, by the local day;
a dossier's channel named by the rules it was received under, on its page and its receipt; the
intake form's and the work lists' channel names; the hub's report headings by the period's
rules, both across 1/7/2025, the 2020 ones as they were."""

from __future__ import annotations

import csv
import datetime as dt
import io
from types import SimpleNamespace

import pytest

from kernel.regimes import (
    REGIME_2018,
    REGIME_2025,
    channel_label,
    regime_at,
    regimes_between,
)
from wardapp.dossiers.service import receive_dossier
from wardapp.sync.records import Dossier

from .conftest import PASSWORD, account, add_hub_staff, intake_data, make_hub, vn_time
from .test_print import get_page, text_of

OLD_PARTIAL, OLD_FULL = "Trực tuyến một phần (mức độ 3)", "Trực tuyến toàn trình (mức độ 4)"


def test_the_rules_change_at_local_midnight_of_1_july_2025():
    last_old, first_new = vn_time(2025, 6, 30, 23, 59), vn_time(2025, 7, 1, 0, 0)
    # both are on 30/6 in UTC: the local day decides
    assert last_old.date() == first_new.date() == dt.date(2025, 6, 30)
    assert regime_at(last_old) is REGIME_2018
    assert regime_at(first_new) is REGIME_2025
    assert regime_at(dt.datetime(2025, 6, 30, 16, 59, 59, tzinfo=dt.UTC)) is REGIME_2018
    assert regime_at(dt.datetime(2025, 6, 30, 17, 0, tzinfo=dt.UTC)) is REGIME_2025
    assert regime_at(vn_time(2020, 3, 16)) is REGIME_2018
    assert REGIME_2018.decree == "Nghị định số 61/2018/NĐ-CP"
    assert REGIME_2025.circular == "Thông tư số 03/2025/TT-VPCP"
    assert len(REGIME_2018.forms) == 6 and len(REGIME_2025.forms) == 7
    assert REGIME_2025.forms["05"] == "Phiếu thông báo dừng xử lý hồ sơ"


@pytest.mark.parametrize(
    "first, last, partial, full",
    [
        (dt.date(2020, 1, 1), dt.date(2020, 9, 30), OLD_PARTIAL, OLD_FULL),
        (dt.date(2025, 6, 30), dt.date(2025, 6, 30), OLD_PARTIAL, OLD_FULL),
        (dt.date(2025, 7, 1), dt.date(2025, 7, 1), "Trực tuyến một phần", "Trực tuyến toàn trình"),
        (
            dt.date(2025, 1, 1),
            dt.date(2025, 12, 31),
            "Trực tuyến một phần / mức độ 3",
            "Trực tuyến toàn trình / mức độ 4",
        ),
    ],
)
def test_channel_names_by_period(first, last, partial, full):
    regimes = regimes_between(first, last)
    assert channel_label("online_partial", regimes) == partial
    assert channel_label("online_full", regimes) == full
    assert channel_label("desk", regimes) == "Trực tiếp tại Bộ phận một cửa"


def received(channel: str, at: dt.datetime) -> Dossier:
    dossier, _ = receive_dossier(
        intake_data(procedure_code="1.001193", channel=channel), actor=account("letan"), now=at
    )
    return dossier


def test_a_2020_dossier_shows_and_reprints_as_before(client, auth, app):
    dossier = received("online_partial", vn_time(2020, 3, 16))
    auth.login()
    page = text_of(get_page(client, f"/dossiers/{dossier.code}"))
    assert f"Hình thức nộp {OLD_PARTIAL}" in page
    receipt = text_of(get_page(client, f"/dossiers/{dossier.code}/print/01"))
    # the 2018 receipt has no line for the channel, as it was printed in 2020
    assert "Hình thức nộp" not in receipt and "Trực tuyến" not in receipt


def test_a_dossier_received_from_1_july_2025_has_the_new_names(client, auth, app):
    dossier = received("online_partial", vn_time(2025, 7, 1, 8))
    assert dossier.received_under is REGIME_2025
    auth.login()
    page = text_of(get_page(client, f"/dossiers/{dossier.code}"))
    assert "Hình thức nộp Trực tuyến một phần Nhận kết quả" in page
    assert "mức độ" not in page
    receipt = text_of(get_page(client, f"/dossiers/{dossier.code}/print/01"))
    assert "Hình thức nộp: Trực tuyến một phần" in receipt
    assert "mức độ 3" not in receipt


def test_the_intake_form_offers_the_names_in_force_now(client, auth, app, monkeypatch):
    auth.login()
    form = get_page(client, "/dossiers/new")  # today: after 1/7/2025
    assert ">Trực tuyến một phần</option>" in form
    assert ">Trực tuyến toàn trình</option>" in form
    assert "mức độ 3" not in form
    monkeypatch.setattr("wardapp.dossiers.routes.utcnow", lambda: vn_time(2020, 3, 16))
    form = get_page(client, "/dossiers/new")
    assert f">{OLD_PARTIAL}</option>" in form and f">{OLD_FULL}</option>" in form


def test_work_lists_filter_names_both_when_the_desk_holds_both(client, auth, app):
    auth.login()
    received("desk", vn_time(2025, 7, 2))
    page = get_page(client, "/worklists/in_progress")
    assert ">Trực tuyến một phần</option>" in page
    received("desk", vn_time(2020, 3, 16))
    page = get_page(client, "/worklists/in_progress")
    assert ">Trực tuyến một phần / mức độ 3</option>" in page
    assert ">Trực tuyến toàn trình / mức độ 4</option>" in page


@pytest.fixture
def hub_client(tmp_path):
    hub_app, _ = make_hub(tmp_path / "hub", WTF_CSRF_ENABLED=False)
    add_hub_staff(hub_app)
    client = hub_app.test_client()
    client.post("/auth/login", data={"username": "xem", "password": PASSWORD})
    return client


def headings(client, period: str) -> list[str]:
    response = client.get("/reports/export.csv", query_string={"period": period})
    assert response.status_code == 200
    return next(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


ONLINE_HEADINGS = [
    "Trực tuyến một phần (mức độ 3)",
    "Trực tuyến toàn trình (mức độ 4)",
    "Tỷ lệ trực tuyến mức độ 3",
    "Tỷ lệ trực tuyến mức độ 4",
]


@pytest.mark.parametrize(
    "period, online",
    [
        ("2020-9M", ONLINE_HEADINGS),
        (
            "2025-Q4",
            [
                "Trực tuyến một phần",
                "Trực tuyến toàn trình",
                "Tỷ lệ trực tuyến một phần",
                "Tỷ lệ trực tuyến toàn trình",
            ],
        ),
        (
            "2025",
            [
                "Trực tuyến một phần / mức độ 3",
                "Trực tuyến toàn trình / mức độ 4",
                "Tỷ lệ trực tuyến một phần / mức độ 3",
                "Tỷ lệ trực tuyến toàn trình / mức độ 4",
            ],
        ),
    ],
)
def test_hub_report_headings_by_the_periods_rules(hub_client, period, online):
    from city_hub.reports.columns import WARD_TABLE

    shown = headings(hub_client, period)
    assert [h for h in shown if "rực tuyến" in h] == online
    if period == "2020-9M":
        assert shown == [c.label for c in WARD_TABLE]  # the 2020 report's, unchanged
    page = hub_client.get("/reports/", query_string={"period": period}).get_data(as_text=True)
    for heading in online:
        assert f"<th>{heading}</th>" in page
    # the machine names do not change with the rules
    json = hub_client.get("/reports/export.json", query_string={"period": period}).get_json()
    assert json["columns"] == [c.code for c in WARD_TABLE]
    chart = hub_client.get("/reports/chart/channels.svg", query_string={"period": period}).get_data(
        as_text=True
    )
    assert ("Trực tuyến mức độ 3" in chart) == (period == "2020-9M")
    assert ("Trực tuyến một phần" in chart) == (period != "2020-9M")
    drill = hub_client.get(
        "/reports/dossiers", query_string={"period": period, "indicator": "received_online_partial"}
    ).get_data(as_text=True)
    assert f"<h1>{online[0]}: 0 hồ sơ" in drill


def test_hub_drill_down_names_each_dossiers_channel_by_its_own_rules():
    from city_hub.reports.columns import dossier_values

    def row(at):
        return SimpleNamespace(
            code="x",
            ward_code="30280",
            applicant_name="A",
            procedure_name="P",
            channel="online_full",
            received_at=at,
            due_at=None,
            resolved_at=None,
            timeliness=None,
            status=2,
        )

    assert dossier_values(row(vn_time(2025, 6, 30, 16)))["channel"] == OLD_FULL
    assert dossier_values(row(vn_time(2025, 7, 1, 8)))["channel"] == "Trực tuyến toàn trình"
