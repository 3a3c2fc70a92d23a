"""The columns of the report's tables, defined once: the screen shows them, the CSV and Excel
exports write them with the same Vietnamese headings in the same order, and the JSON export
names them by their stable machine ``code``.

Two tables are listed: the ward table (the city overview's figures, then its reform models'
table) and the dossiers behind a number (the drill-down). A column's ``kind`` says how a value is
shown and written: a count or a rate (a share, 0–1), an average, a time, or text.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.regimes import REGIME_2018, Regime, channel_label, labelled, regime_at
from kernel.statuses import STATUS_LABELS, TIMELINESS_LABELS
from kernel.workdays import to_local

from .indicators import AVERAGES, RATES, REFORM_RATES, SHOWN_COUNTS, SHOWN_RECORD_COUNTS
from .queries import Row


@dataclass(frozen=True)
class Column:
    code: str  # the JSON export's name, kept stable for the programs that read it
    label: str  # the heading on the screen, in the CSV and in Excel
    kind: str  # "count", "rate", "average", "time" or "text"
    # A rate's or an average's numerator and denominator (counts of the same row): the screen
    # divides them itself, to its one decimal, rather than rounding the 4-decimal share again.
    parts: tuple[str, str] | None = None


def _columns(kind: str, indicators, regimes: tuple[Regime, ...]) -> list[Column]:
    """The columns of ``indicators``, their headings naming the online categories by the rules
    of the period (``regimes``)."""
    parts = (lambda i: (i.numerator, i.denominator)) if kind in ("rate", "average") else None
    return [
        Column(i.code, labelled(i.label, regimes), kind, parts(i) if parts else None)
        for i in indicators
    ]


WARD_CODE = Column("ward_code", "Mã đơn vị", "text")
WARD_NAME = Column("ward_name", "Đơn vị", "text")
FRESHNESS = Column("complete_through", "Số liệu đầy đủ đến", "time")


def figures(regimes: tuple[Regime, ...]) -> list[Column]:
    """The figures of a table of the report (per ward, per field or per procedure), as shown
    for a period under ``regimes`` (:attr:`.periods.Period.regimes`)."""
    return [
        *_columns("count", SHOWN_COUNTS, regimes),
        *_columns("rate", RATES, regimes),
        *_columns("average", AVERAGES, regimes),
    ]


# The reform models' table of the overview (its records are counted per ward only).
REFORM = [*_columns("count", SHOWN_RECORD_COUNTS, ()), *_columns("rate", REFORM_RATES, ())]


def ward_table(regimes: tuple[Regime, ...]) -> list[Column]:
    """The ward table as exported: the overview's two tables side by side, after the ward's
    code, for a period under ``regimes``."""
    return [WARD_CODE, WARD_NAME, *figures(regimes), FRESHNESS, *REFORM]


# The ward table as the 2018 rules head it (the 2020 city's); its codes are every period's.
WARD_TABLE = ward_table((REGIME_2018,))


def ward_values(row: Row) -> dict:
    """One row of the ward table by column code: counts as integers, rates as 4-decimal shares
    and averages as numbers (or None when there is nothing to divide), the freshness time as it
    was stored (UTC)."""
    values = {
        "ward_code": row.key,
        "ward_name": row.name,
        **row.counts,
        **row.rates,
        "complete_through": row.complete_through,
    }
    return {c.code: values[c.code] for c in WARD_TABLE}


DOSSIERS = [
    Column("code", "Mã hồ sơ", "text"),
    Column("ward_code", "Đơn vị", "text"),
    Column("applicant_name", "Người nộp", "text"),
    Column("procedure_name", "Thủ tục", "text"),
    Column("channel", "Hình thức", "text"),
    Column("received_at", "Tiếp nhận", "time"),
    Column("due_at", "Hẹn trả", "time"),
    Column("resolved_at", "Giải quyết", "time"),
    Column("timeliness", "Kết quả", "text"),
    Column("status", "Trạng thái", "text"),
]
_VOCABULARIES = {"timeliness": TIMELINESS_LABELS, "status": STATUS_LABELS}


def dossier_values(dossier) -> dict:
    """One dossier of the drill-down by column code, its codes in words (the channel by the
    rules it was received under, the timeliness, the status) as the screen shows them."""
    values = {}
    for c in DOSSIERS:
        value = getattr(dossier, c.code)
        if c.code == "channel":
            value = channel_label(value, regime_at(dossier.received_at))
        elif c.code in _VOCABULARIES:
            value = _VOCABULARIES[c.code].get(value, "" if value is None else value)
        values[c.code] = value
    return values


def local_time(value) -> str:
    """A stored UTC time as the exports write it: dd/MM/yyyy HH:mm in Asia/Ho_Chi_Minh."""
    return "" if value is None else f"{to_local(value):%d/%m/%Y %H:%M}"
