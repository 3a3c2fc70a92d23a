"""The reports benchmark's fast calendar (``bench/reports_calendar.py``) keeps the kernel's
deadline rules: it generates millions of dossiers from arrays instead of
``kernel.workdays.WorkCalendar``, so a rule changed in the kernel must show up here."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import reports_calendar  # bench/ is not a package: imported from its path


@pytest.fixture(scope="module")
def days():
    return reports_calendar.Days(dt.date(2020, 12, 1), dt.date(2026, 6, 30))


def test_agrees_with_the_kernel(days):
    assert reports_calendar.disagreements(days, samples=1000) == []


def test_a_rule_of_its_own_is_found(days, monkeypatch):
    monkeypatch.setattr(reports_calendar, "CUTOFF", dt.time(16, 0))
    assert reports_calendar.disagreements(days, samples=1000)
