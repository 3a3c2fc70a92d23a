"""The ward table as CSV, JSON and Excel: the same columns, in the same order, everywhere; the
CSV and Excel cells through kernel.spreadsheet, so no ward name is run as a formula."""

from __future__ import annotations

import csv
import io

from kernel.spreadsheet import cell, workbook, write
from kernel.workdays import to_local

from .periods import Period
from .queries import Row

COLUMNS = [
    ("ward_code", "Mã đơn vị"),
    ("ward_name", "Đơn vị"),
    ("received", "Tiếp nhận"),
    ("received_desk", "Trực tiếp"),
    ("received_postal", "Qua bưu chính"),
    ("received_online_partial", "Trực tuyến mức độ 3"),
    ("received_online_full", "Trực tuyến mức độ 4"),
    ("resolved", "Đã giải quyết"),
    ("resolved_early", "Trước hạn"),
    ("resolved_on_time", "Đúng hạn"),
    ("resolved_late", "Quá hạn"),
    ("on_time_rate", "Tỷ lệ đúng hạn"),
    ("pending", "Đang giải quyết"),
    ("pending_overdue", "Đang giải quyết quá hạn"),
    ("online_partial_rate", "Tỷ lệ trực tuyến mức độ 3"),
    ("online_full_rate", "Tỷ lệ trực tuyến mức độ 4"),
    ("postal", "Bưu chính công ích (nhận hoặc trả)"),
    ("apologies", "Quá hạn có xin lỗi"),
    ("complete_through", "Số liệu đầy đủ đến"),
    # The reform models (added after the first release, so after the columns above).
    ("same_day", "Ngày không hẹn"),
    ("writing_assist", "Bàn viết hộ"),
    ("letters_congratulation", "Thư chúc mừng"),
    ("letters_condolence", "Thư chia buồn"),
    ("ratings", "Lượt đánh giá"),
    ("satisfaction_rate", "Tỷ lệ hài lòng"),
    ("feedback_received", "Phản ánh, kiến nghị tiếp nhận"),
    ("feedback_answered", "Phản ánh đã trả lời"),
    ("feedback_answered_on_time", "Phản ánh trả lời đúng hạn"),
    ("inspections_submitted", "Tự kiểm tra đã nộp"),
]
RATE_COLUMNS = {"on_time_rate", "online_partial_rate", "online_full_rate", "satisfaction_rate"}
TEXT_COLUMNS = ("ward_code", "ward_name", "complete_through")


def record(row: Row) -> dict:
    """One row as the export's values: counts as integers, rates as 4-decimal numbers or None,
    the freshness time in Vietnam's time zone."""
    values = {
        "ward_code": row.key,
        "ward_name": row.name,
        **row.counts,
        **row.rates,
        "complete_through": to_local(row.complete_through).isoformat(timespec="seconds")
        if row.complete_through
        else None,
    }
    return {code: values[code] for code, _ in COLUMNS}


def to_json(rows: list[Row], period: Period) -> dict:
    return {
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "columns": [code for code, _ in COLUMNS],
        "rows": [record(r) for r in rows],
    }


def to_csv(rows: list[Row]) -> str:
    """CSV text; written with a BOM (``utf-8-sig``) so Excel shows the Vietnamese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([code for code, _ in COLUMNS])
    for row in rows:
        values = record(row)
        writer.writerow(
            [
                ("" if values[c] is None else f"{values[c]:.4f}")
                if c in RATE_COLUMNS
                else ("" if values[c] is None else cell(values[c]))
                for c, _ in COLUMNS
            ]
        )
    return out.getvalue()


def to_xlsx(rows: list[Row], period: Period) -> bytes:
    """A formatted workbook: title, Vietnamese headings, percentages, the city total in bold."""
    out = io.BytesIO()
    book = workbook(out)
    sheet = book.add_worksheet("Báo cáo")
    title = book.add_format({"bold": True, "font_size": 14})
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
    number = book.add_format({"border": 1, "num_format": "#,##0"})
    percent = book.add_format({"border": 1, "num_format": "0.00%"})
    text = book.add_format({"border": 1})
    bold = {
        kind: book.add_format({**spec, "bold": True, "bg_color": "#F2F2F2"})
        for kind, spec in (
            ("number", {"border": 1, "num_format": "#,##0"}),
            ("percent", {"border": 1, "num_format": "0.00%"}),
            ("text", {"border": 1}),
        )
    }
    write(sheet, 0, 0, f"Kết quả giải quyết thủ tục hành chính, kỳ {period.label}", title)
    for col, (_, heading) in enumerate(COLUMNS):
        write(sheet, 2, col, heading, head)
    sheet.set_row(2, 45)
    for r, row in enumerate(rows, start=3):
        values = record(row)
        total = row.key == "CITY"
        for col, (code, _) in enumerate(COLUMNS):
            kind = (
                "percent" if code in RATE_COLUMNS else "text" if code in TEXT_COLUMNS else "number"
            )
            style = (
                bold[kind] if total else {"percent": percent, "number": number, "text": text}[kind]
            )
            write(sheet, r, col, values[code], style)
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 1, 24)
    sheet.set_column(2, len(COLUMNS) - 1, 12)
    freshness = [code for code, _ in COLUMNS].index("complete_through")
    sheet.set_column(freshness, freshness, 22)
    sheet.freeze_panes(3, 2)
    book.close()
    return out.getvalue()
