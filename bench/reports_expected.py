"""What the report must show: its city-wide counts made in Python, row by row while the city is
generated (:class:`Expected`, kept in the cache's build.json), and the report checked against
them before it is timed (:func:`check_report`)."""

from __future__ import annotations

import datetime as dt

from kernel.statuses import Status


def iso(utc: dt.datetime) -> str:
    return utc.isoformat() + "+00:00"


class Expected:
    """The report's city-wide counts for a window, counted row by row while generating (times
    compared as the wire's ISO text, which all have the same shape here). This is the oracle
    the report is checked against, so it is written from the definitions
    (``city_hub.reports.indicators``, ``kernel.statuses``: a dossier paused for a supplement is
    pending but not overdue), not from their SQL."""

    def __init__(self, window, procedures: list[dict]):
        self.start, self.end, self.as_of = (
            iso(t.astimezone(dt.UTC).replace(tzinfo=None))
            for t in (window.start, window.end, window.as_of)
        )
        self.level = {p["code"]: p["level"] for p in procedures}
        self.duration = {p["code"]: p["value"] for p in procedures}
        self.counts: dict[str, int] = {}

    def add(self, d: dict) -> None:
        c, s, e, a = self.counts, self.start, self.end, self.as_of
        rec, res, clo = d["received_at"], d["resolved_at"], d["closed_at"]
        fin = res if res is not None else clo

        def inc(name, cond=True):
            if cond:
                c[name] = c.get(name, 0) + 1

        inc("carried_over", rec < s and (fin is None or fin >= s))
        if s <= rec < e:
            inc("received")
            inc("received_" + d["channel"])
            lvl = self.level.get(d["procedure_code"])
            inc("level3_dossiers", lvl == "partial")
            inc("level3_online", lvl == "partial" and d["channel"] == "online_partial")
            inc("level4_dossiers", lvl == "full")
            inc("level4_online", lvl == "full" and d["channel"] == "online_full")
            inc("postal", d["channel"] == "postal" or d["return_method"] == "postal")
        if res is not None and s <= res < e:
            inc("resolved")
            inc("resolved_" + d["timeliness"])
            inc("resolved_in_time", d["timeliness"] in ("early", "on_time"))
            inc("apologies", d["timeliness"] == "late" and d["due_at_revised"] is not None)
            if d.get("working_days_used") is not None:
                inc("resolved_measured")
                c["working_days_used"] = c.get("working_days_used", 0) + d["working_days_used"]
                c["statutory_days"] = c.get("statutory_days", 0) + self.duration.get(
                    d["procedure_code"], 0
                )
        pending = rec < a and (fin is None or fin >= a)
        paused = pending and d["paused_at"] is not None and d["paused_at"] <= a
        inc("pending", pending)
        inc("pending_paused", paused)
        inc("pending_overdue", pending and not paused and d["due_at"] < a)
        if clo is not None and s <= clo < e:
            inc("refused", d["status"] == Status.REFUSED)
            inc("withdrawn", d["status"] == Status.WITHDRAWN)


def check_report(rows, expected: dict) -> str:
    city = rows[-1]
    wrong = {k: (city.counts.get(k), v) for k, v in expected.items() if city.counts.get(k) != v}
    stale = [r.key for r in rows if r.stale]
    text = (
        f"city row matches the {len(expected)} counts made while generating"
        if not wrong
        else f"city row DIFFERS from the generated data: {wrong}"
    )
    text += f"; {len(rows) - 1} ward rows" + (f", stale: {stale}" if stale else ", none stale")
    return text
