"""The report's tables as CSV, JSON and Excel, with the columns of :mod:`.columns`: the screen's
columns in the screen's order, Vietnamese headings in the CSV and Excel, the stable machine names
in the JSON. The CSV and Excel cells go through kernel.spreadsheet, so no ward name or
applicant's name is run as a formula.

The Excel file is the one a city official prints and signs: above the table a title block (the
unit, the report's name, its period, the moment its figures were read), below it the signature
block of the official form (the one who drew it up, the head of the unit).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Collection, Iterable

from kernel.columns import utcnow
from kernel.spreadsheet import cell, workbook, write
from kernel.workdays import to_local

from .columns import WARD_TABLE, Column, local_time, ward_table, ward_values
from .maps import DEFAULT, MAPS, UnitMap
from .periods import Period
from .queries import CITY, Row

UNIT = "Ủy ban nhân dân thành phố Long Xuyên"
PLACE = "Long Xuyên"
WARD_REPORT = "Kết quả giải quyết thủ tục hành chính"
SIGNATURES = ("NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ")
SIGNATURE_HINT = "(Ký, ghi rõ họ tên)"


def to_json(rows: list[Row], period: Period, unit_map: UnitMap | None = None) -> dict:
    """The ward table for programs: machine names, the freshness time as ISO 8601 in Vietnam's
    time zone, and the map its rows are drawn on (``period`` or ``today``)."""
    kind = unit_map.kind if unit_map else DEFAULT

    def machine(values: dict) -> dict:
        complete = values["complete_through"]
        values["complete_through"] = (
            to_local(complete).isoformat(timespec="seconds") if complete else None
        )
        return values

    return {
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "map": {"code": kind, "label": MAPS[kind]},
        "columns": [c.code for c in WARD_TABLE],
        "rows": [machine(ward_values(r)) for r in rows],
    }


def to_csv(rows: list[Row], period: Period) -> str:
    """The ward table of ``period`` as CSV text."""
    return csv_text(ward_table(period.regimes), (ward_values(r) for r in rows))


def to_xlsx(
    rows: list[Row],
    period: Period,
    now: dt.datetime | None = None,
    unit_map: str = MAPS[DEFAULT],
) -> bytes:
    """The ward table as the workbook a city official prints, the city total in bold, the map
    its rows are drawn on under the period."""
    return xlsx_bytes(
        ward_table(period.regimes),
        [ward_values(r) for r in rows],
        report=WARD_REPORT,
        period=period,
        now=now,
        notes=[f"Bản đồ: {unit_map}"],
        totals={i for i, r in enumerate(rows) if r.key == CITY},
    )


def _csv_value(column: Column, value):
    if value is None:
        return ""
    if column.kind == "rate":
        return f"{value:.4f}"
    if column.kind == "average":
        return f"{value:.2f}"
    if column.kind == "time":
        return local_time(value)
    return cell(value)


def csv_text(columns: list[Column], rows: Iterable[dict]) -> str:
    """CSV with the columns' Vietnamese headings; the caller writes it with a BOM
    (``utf-8-sig``) so that Excel shows the Vietnamese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.label for c in columns])
    for values in rows:
        writer.writerow([_csv_value(c, values[c.code]) for c in columns])
    return out.getvalue()


def xlsx_bytes(
    columns: list[Column],
    rows: list[dict],
    *,
    report: str,
    period: Period,
    now: dt.datetime | None = None,
    notes: Iterable[str] = (),
    totals: Collection[int] = (),
) -> bytes:
    """A workbook of one table: the title block (the unit, ``report``, the period and ``notes``,
    the moment the figures were read), the table with its Vietnamese headings (the rows whose
    index is in ``totals`` in bold) and the signature block."""
    local_now = to_local(now or utcnow())
    out = io.BytesIO()
    book = workbook(out)
    sheet = book.add_worksheet("Báo cáo")
    last_col = len(columns) - 1
    unit = book.add_format({"bold": True, "font_size": 12})
    title = book.add_format({"bold": True, "font_size": 14, "align": "center"})
    centred = book.add_format({"align": "center"})
    italic = book.add_format({"italic": True, "align": "center"})
    head = book.add_format(
        {
            "bold": True,
            "bg_color": "#DCE6F1",
            "border": 1,
            "text_wrap": True,
            "valign": "vcenter",
            "align": "center",
        }
    )
    kinds = {
        "count": {"num_format": "#,##0"},
        "rate": {"num_format": "0.00%"},
        "average": {"num_format": "0.0"},
        "time": {},
        "text": {},
    }
    plain = {k: book.add_format({"border": 1, **spec}) for k, spec in kinds.items()}
    bold = {
        k: book.add_format({"border": 1, "bold": True, "bg_color": "#F2F2F2", **spec})
        for k, spec in kinds.items()
    }

    write(sheet, 0, 0, UNIT, unit)
    block = [
        (report, title),
        (
            f"Kỳ báo cáo: {period.title} (từ ngày {period.first:%d/%m/%Y} đến ngày "
            f"{period.last:%d/%m/%Y})",
            centred,
        ),
        *((note, centred) for note in notes),
        (f"Số liệu tính đến {local_now:%d/%m/%Y %H:%M}", italic),
    ]
    for r, (text, style) in enumerate(block, start=1):
        sheet.merge_range(r, 0, r, max(last_col, 1), "", style)
        write(sheet, r, 0, text, style)
    header = len(block) + 2
    for col, column in enumerate(columns):
        write(sheet, header, col, column.label, head)
    sheet.set_row(header, 60)
    for i, values in enumerate(rows):
        styles = bold if i in totals else plain
        for col, column in enumerate(columns):
            value = values[column.code]
            if column.kind == "time":
                value = local_time(value)
            write(sheet, header + 1 + i, col, value, styles[column.kind])
    for col, column in enumerate(columns):
        width = {"text": 14, "time": 17}.get(column.kind, 11)
        sheet.set_column(col, col, 26 if column.code in ("ward_name", "procedure_name") else width)
    sheet.freeze_panes(header + 1, 2)

    # The signature block, two rows below the table: the one who drew it up on the left, the
    # head of the unit on the right under the place and date.
    below = header + len(rows) + 3
    right = max(last_col - 2, 2)
    write(
        sheet,
        below,
        right,
        f"{PLACE}, ngày {local_now:%d} tháng {local_now:%m} năm {local_now:%Y}",
        italic,
    )
    signer = book.add_format({"bold": True, "align": "center"})
    for col, role in zip((1, right), SIGNATURES, strict=True):
        write(sheet, below + 1, col, role, signer)
        write(sheet, below + 2, col, SIGNATURE_HINT, italic)
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(header)
    book.close()
    return out.getvalue()
