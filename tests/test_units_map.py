"""Units that change, as the hub's reference data: the 13 units of Long Xuyên until 31/12/2024,
12 from 1/1/2025 (Đông Xuyên into Mỹ Xuyên), the 4 units of the new Tỉnh An Giang from 1/7/2025,
each predecessor naming its successor; snapshots whose history does not hold together are
refused; the hub admin corrects a new unit's provisional code (audited, published); the ward
applies the new fields, and a ward of the previous release still accepts the snapshot."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
import sqlite3
import subprocess
import types
from pathlib import Path

import pytest

from city_hub.extensions import db as hub_db
from city_hub.models import HubAudit
from kernel.refdata import (
    ReferenceDataError,
    check_snapshot,
    snapshot_from_files,
    unit_today,
    valid_on,
)

from .conftest import PASSWORD, latest_refdata

ROOT = Path(__file__).parent.parent
RELEASED = "e36d356"  # the last commit before units had successors (the previous release)


def units_on(day: dt.date, kinds=("phuong", "xa")) -> dict[str, str]:
    return {
        u["code"]: u["name"]
        for u in snapshot_from_files()["units"]
        if u["kind"] in kinds and valid_on(u, day)
    }


def test_the_map_changes_on_its_two_days():
    assert len(units_on(dt.date(2024, 12, 31))) == 13
    in_2025 = units_on(dt.date(2025, 1, 1))
    assert len(in_2025) == 12 and "30285" not in in_2025 and in_2025["30286"] == "Phường Mỹ Xuyên"
    assert len(units_on(dt.date(2025, 6, 30))) == 12
    today = units_on(dt.date(2025, 7, 1))
    assert sorted(today.values()) == [
        "Phường Bình Đức",
        "Phường Long Xuyên",
        "Phường Mỹ Thới",
        "Xã Mỹ Hòa Hưng",
    ]
    assert list(units_on(dt.date(2025, 7, 1), kinds=("tinh",)).values()) == ["Tỉnh An Giang"]
    # the old city stays, a named group for history
    assert units_on(dt.date(2025, 6, 30), kinds=("thanh_pho",)) == {"883": "Thành phố Long Xuyên"}
    assert units_on(dt.date(2025, 7, 1), kinds=("thanh_pho",)) == {}


def test_successor_chains_lead_to_todays_units():
    units = {u["code"]: u for u in snapshot_from_files()["units"]}
    by_name = {u["name"]: u["code"] for u in units.values()}
    today = dt.date(2026, 1, 1)
    expected = {
        "Phường Long Xuyên": [
            "Phường Mỹ Bình",
            "Phường Mỹ Long",
            "Phường Đông Xuyên",
            "Phường Mỹ Xuyên",
            "Phường Mỹ Phước",
            "Phường Mỹ Quý",
            "Phường Mỹ Hòa",
        ],
        "Phường Bình Đức": ["Phường Bình Khánh", "Phường Bình Đức", "Xã Mỹ Khánh"],
        "Phường Mỹ Thới": ["Phường Mỹ Thạnh", "Phường Mỹ Thới"],
        "Xã Mỹ Hòa Hưng": ["Xã Mỹ Hòa Hưng"],
    }
    for new, olds in expected.items():
        new_code = next(c for c, u in units.items() if u["name"] == new and u["valid_from"])
        old_codes = [
            c for c, u in units.items() if u["name"] in olds and not u["valid_from"] and c != "883"
        ]
        assert len(old_codes) == len(olds)
        assert {unit_today(units, c, today) for c in old_codes} == {new_code}
        assert not units[new_code]["code_confirmed"]
    # Đông Xuyên went through Mỹ Xuyên, whose unit it was in the first half of 2025
    assert unit_today(units, by_name["Phường Đông Xuyên"], dt.date(2025, 3, 1)) == "30286"
    assert units["30285"]["successor_codes"] == ["30286"]
    assert all(u["code_confirmed"] for u in units.values() if not u["valid_from"])


def broken(change) -> dict:
    snapshot = copy.deepcopy(snapshot_from_files())
    change({u["code"]: u for u in snapshot["units"]}, snapshot)
    return snapshot


def _missing(units, s):
    units["30280"]["successor_codes"] = ["00000"]


def _early_end(units, s):
    units["30285"]["valid_to"] = "2024-06-30"  # Mỹ Xuyên exists, but the gap is in the dates


def _gap(units, s):
    new = next(u for u in s["units"] if u["name"] == "Phường Long Xuyên")
    new["valid_from"] = "2025-07-02"


def _cycle(units, s):
    units["30286"]["successor_codes"] = ["30285"]


def _open_end(units, s):
    units["30280"]["valid_to"] = None


def _repeated(units, s):
    s["units"].append(dict(units["30280"]))


@pytest.mark.parametrize(
    ("change", "problem", "unit", "words"),
    [
        (_missing, "successor_missing", "30280", "không có trong danh mục"),
        (_gap, "dates", "30280", "chưa có hiệu lực vào ngày 01/07/2025"),
        (_cycle, "cycle", "30285", "quay lại chính đơn vị này"),
        (_open_end, "dates", "30280", "chưa có ngày hết hiệu lực"),
        (_repeated, "repeated_code", "30280", "mã đơn vị bị lặp"),
    ],
)
def test_a_snapshot_with_a_broken_history_is_refused(change, problem, unit, words):
    with pytest.raises(ReferenceDataError) as refused:
        check_snapshot(broken(change))
    assert refused.value.problem == problem and refused.value.unit == unit
    assert str(refused.value).startswith(f"Đơn vị {unit}: ") and words in str(refused.value)


def test_a_longer_cycle_is_named_as_one():
    from kernel.refdata import check_units

    units = [
        {"code": "1", "valid_from": None, "valid_to": "2025-01-01", "successor_codes": ["2"]},
        {"code": "2", "valid_from": None, "valid_to": "2025-01-01", "successor_codes": ["3"]},
        {"code": "3", "valid_from": None, "valid_to": "2025-01-01", "successor_codes": ["1"]},
    ]
    with pytest.raises(ReferenceDataError) as refused:
        check_units(units)
    assert refused.value.problem == "cycle" and "quay lại" in str(refused.value)


# --- the hub admin ----------------------------------------------------------------------------


def test_admin_sees_validity_successors_and_unconfirmed_codes(hub_admin):
    _, client = hub_admin
    page = client.get("/admin/refdata").text
    row = re.search(r'<tr data-unit="99001">.*?</tr>', page, re.S)[0]
    assert "Phường Long Xuyên" in row and "Mã chưa xác nhận" in row and "01/07/2025 – nay" in row
    row = re.search(r'<tr data-unit="30285">.*?</tr>', page, re.S)[0]
    assert "trước đây – 31/12/2024" in row and "Phường Mỹ Xuyên (30286) từ 01/01/2025" in row
    assert "Mã chưa xác nhận" not in row and "new_code" not in row
    assert page.count("Mã chưa xác nhận") == 5  # the province and its 4 units


def test_admin_corrects_an_unconfirmed_code_audited_and_published(hub_admin):
    app, client = hub_admin
    response = client.post(
        "/admin/refdata",
        data={
            "action": "unit",
            "code": "99003",
            "new_code": "30301",
            "name": "Phường Mỹ Thới",
            "code_confirmed": "on",
        },
        follow_redirects=True,
    )
    assert "Chưa công bố" in response.text and "đã là mã của Phường Mỹ Thới" in response.text
    assert latest_refdata(app)[0] == 1  # the old Mỹ Thới holds 30301: refused, nothing published
    response = client.post(
        "/admin/refdata",
        data={
            "action": "unit",
            "code": "99003",
            "new_code": "30999",
            "name": "Phường  Mỹ Thới ",
            "code_confirmed": "on",
        },
        follow_redirects=True,
    )
    assert "Đã công bố danh mục phiên bản 2" in response.text
    version, body = latest_refdata(app)
    units = {u["code"]: u for u in body["units"]}
    assert version == 2 and "99003" not in units
    assert units["30999"]["code_confirmed"] and units["30999"]["agency_code"] == "30999"
    assert units["30301"]["successor_codes"] == units["30304"]["successor_codes"] == ["30999"]
    with app.app_context():
        entry = hub_db.session.scalar(
            hub_db.select(HubAudit).where(HubAudit.action == "refdata.unit")
        )
        assert "quantri" in entry.actor
        assert "99003" in entry.details["change"] and "30999" in entry.details["change"]
    assert "Sửa mã, tên đơn vị" in client.get("/admin/wards").text
    row = re.search(r'<tr data-unit="30999">.*?</tr>', client.get("/admin/refdata").text, re.S)
    assert "Mã chưa xác nhận" not in row[0]
    # once confirmed, the code is no longer edited here
    again = client.post(
        "/admin/refdata",
        data={"action": "unit", "code": "30999", "new_code": "30998", "name": "Phường Mỹ Thới"},
        follow_redirects=True,
    )
    assert "đã được xác nhận" in again.text and latest_refdata(app)[0] == 2


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"code": "99001", "new_code": "3O3O1", "name": "Phường Long Xuyên"}, "chữ số"),
        ({"code": "99001", "new_code": "30990", "name": " "}, "cần tên đơn vị"),
        ({"code": "30280", "new_code": "30990", "name": "Phường Mỹ Bình"}, "đã được xác nhận"),
        ({"code": "00000", "new_code": "30990", "name": "Phường X"}, "không có đơn vị này"),
    ],
)
def test_bad_unit_corrections_publish_nothing(hub_admin, form, words):
    app, client = hub_admin
    response = client.post("/admin/refdata", data={"action": "unit", **form}, follow_redirects=True)
    assert response.status_code == 200 and "Chưa công bố" in response.text
    assert words in response.text
    assert latest_refdata(app)[0] == 1


def test_a_registered_units_code_is_not_changed(hub_admin):
    app, client = hub_admin
    client.post("/admin/wards", data={"code": "99001"})
    response = client.post(
        "/admin/refdata",
        data={"action": "unit", "code": "99001", "new_code": "30990", "name": "Phường Long Xuyên"},
        follow_redirects=True,
    )
    assert "đã đăng ký đồng bộ với mã 99001" in response.text and latest_refdata(app)[0] == 1
    # its name may still be corrected
    client.post(
        "/admin/refdata",
        data={"action": "unit", "code": "99001", "new_code": "99001", "name": "Phường Long Xuyên"},
    )
    assert latest_refdata(app)[0] == 2


def test_the_viewer_cannot_correct_a_unit(hub_admin):
    app, _ = hub_admin
    viewer = app.test_client()
    viewer.post("/auth/login", data={"username": "xem", "password": PASSWORD})
    form = {"action": "unit", "code": "99001", "new_code": "30990", "name": "Phường Long Xuyên"}
    assert viewer.post("/admin/refdata", data=form).status_code == 403
    assert latest_refdata(app)[0] == 1


# --- the ward ---------------------------------------------------------------------------------


def test_the_ward_applies_successors_and_corrected_codes(app):
    from wardapp.extensions import db
    from wardapp.models import Unit
    from wardapp.refdata import apply_snapshot

    with app.app_context():
        snapshot = snapshot_from_files()
        apply_snapshot(snapshot)
        assert db.session.get(Unit, "30285").successor_codes == ["30286"]
        assert db.session.get(Unit, "30285").valid_to == dt.date(2024, 12, 31)
        assert not db.session.get(Unit, "99001").code_confirmed
        assert db.session.get(Unit, "30280").code_confirmed
        new = next(u for u in snapshot["units"] if u["code"] == "99001")
        new.update(code="30990", agency_code="30990", code_confirmed=True)
        for u in snapshot["units"]:
            u["successor_codes"] = ["30990" if s == "99001" else s for s in u["successor_codes"]]
        apply_snapshot(snapshot)
        assert db.session.get(Unit, "99001") is None  # the provisional code is gone
        assert db.session.get(Unit, "30990").code_confirmed
        assert db.session.get(Unit, "30280").successor_codes == ["30990"]
        assert db.session.get(Unit, "30280") is not None  # this ward's own unit stays
        db.session.rollback()


def released(path: str) -> str:
    if shutil.which("git") is None:
        pytest.skip("git is needed to read the previous release")
    try:
        return subprocess.run(
            ["git", "show", f"{RELEASED}:{path}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except subprocess.CalledProcessError:
        pytest.skip(f"the previous release ({RELEASED}) is not in this checkout")


def test_a_ward_of_the_previous_release_accepts_the_snapshot(tmp_path):
    """The previous release's own check (its source, from git) passes the new snapshot, as
    published and after an admin's correction; every key its ``apply_snapshot`` reads is there
    with the type it expects, and its unit table (schema 0012) takes every unit."""
    old = types.ModuleType("released_refdata")
    old.__file__ = str(ROOT / "kernel" / "refdata" / "__init__.py")
    exec(compile(released("kernel/refdata/__init__.py"), "released_refdata", "exec"), old.__dict__)
    snapshot = json.loads(json.dumps(snapshot_from_files()))  # as it travels
    old.check_snapshot(snapshot)
    read = set(re.findall(r'u\["(\w+)"\]', released("wardapp/refdata.py")))
    assert read == {
        "code",
        "name",
        "kind",
        "parent_code",
        "agency_code",
        "valid_from",
        "valid_to",
    }
    from wardapp import create_app

    instance = tmp_path / "old"
    instance.mkdir()
    ward = create_app({"TESTING": True, "SECRET_KEY": "t"}, instance_path=str(instance))
    with ward.app_context():
        from flask_migrate import upgrade

        from wardapp.database import MIGRATIONS_DIR
        from wardapp.extensions import db

        upgrade(directory=MIGRATIONS_DIR, revision="0012")

        db.session.remove()
        db.engine.dispose()
    conn = sqlite3.connect(instance / "ward.sqlite")
    columns = ", ".join(sorted(read))
    marks = ", ".join("?" for _ in read)
    conn.executemany(
        f"INSERT OR REPLACE INTO unit ({columns}) VALUES ({marks})",
        [tuple(u[k] for k in sorted(read)) for u in snapshot["units"]],
    )
    conn.commit()
    assert conn.execute("SELECT count(*) FROM unit").fetchone()[0] == len(snapshot["units"])
    conn.close()
