"""The cells of every export (the ward's CSV tables, the hub's CSV and Excel reports), written so
that the spreadsheet opening them shows them and never runs them.

Excel, LibreOffice and Google Sheets take a cell whose text starts with ``=``, ``+``, ``-`` or
``@`` (or a tab or carriage return before one) as a formula: a citizen who gives their name as
``=HYPERLINK("http://…","Bấm vào đây")`` or ``+cmd|' /C calc'!A0`` would have it run on the PC
of the official who opens the export. As OWASP advises ("CSV Injection"), such text gets a single
quote in front, which the spreadsheet shows as text; numbers stay numbers (a negative count is a
number, not a formula). Every export passes its values through :func:`cell`, and the Excel files
are made by :func:`workbook` and written by :func:`write`, which never writes a formula.
"""

from __future__ import annotations

import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """``value`` as an export writes it: text a spreadsheet would run gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def workbook(out) -> xlsxwriter.Workbook:
    """An in-memory workbook that writes text as text: no formula, and no link made from text
    that looks like an address."""
    return xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )


def write(sheet, row: int, col: int, value, style=None) -> None:
    """One cell: a number as a number, None as an empty cell, anything else as :func:`cell`'s
    text."""
    if value is None or value == "":
        sheet.write_blank(row, col, None, style)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        sheet.write_number(row, col, value, style)
    else:
        sheet.write_string(row, col, cell(str(value)), style)
