"""Dossier intake, steps, letters and ratings for the data generator, stored without the
session's unit of work.

The generator plays tens of thousands of dossiers. Through the session each intake, step, letter
or rating costs about 2 ms of CPU (loading the dossier, the flush, the outbox hook), which puts
the article's city far beyond the demo's two minutes. :class:`ReplayDesk` applies the desk's own
rules (:func:`~.service.clean_intake`, :func:`~.service.new_dossier`,
:func:`~.service.step_request`, :func:`~.service.take_step`, and the letters' and ratings' own)
to dossiers it keeps in memory, and writes what the unit of work would write, in the same
transaction as the rest of the run:

- the record's row, with the column defaults the flush would fill in; a dossier starts at
  version 1 and a step that changes it adds one and stamps ``updated_at``, as the mapper's
  ``version_id_col`` and ``onupdate`` do;
- one outbox row per record version, made by :func:`~wardapp.outbox.outbox_row` in the order
  the session hook takes them (the new records, then the changed ones).

``tests/test_replay.py`` plays the same plan through the desk's service functions and through
this class and compares every row of every table, so the outbox a generated ward syncs is the
one real work would leave.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import sqlalchemy as sa

from kernel.database import DriverTable
from ..extensions import db
from ..letters.service import letter_signer, new_letter
from kernel.columns import utcnow
from wardapp.sync.records import Dossier, Letter, Rating, User
from ..models import Outbox
from ..outbox import outbox_row
from ..rating_codes import unused_rating_code
from ..ratings.service import clean_rating, new_rating, rating_key, refuse_unratable
from kernel.workdays import to_local
from .lifecycle import STEPS
from .service import (clean_intake, code_prefix, last_code_number, last_logbook_number,
                      load_calendar, new_dossier, numbered_code, require_permission, step_request,
                      take_step, this_ward)

# Columns whose value is the moment of writing, not part of a dossier's content.
WRITE_TIME = "updated_at"
OUTBOX_COLUMNS = ["table_name", "record_uuid", "op", "record_version", "payload",
                  "payload_sha256", "created_utc"]


class _RecordTable:
    """A mapped record's attributes in column order, with the driver's INSERT and UPDATE."""

    def __init__(self, model, dialect):
        attrs = sa.inspect(model).column_attrs
        self.keys = [a.key for a in attrs]
        self.defaults = [(a.key, a.columns[0].default) for a in attrs
                         if a.columns[0].default is not None]
        self.driver = DriverTable(model.__table__, [a.columns[0].name for a in attrs], dialect)

    def values(self, record, *, new: bool) -> list:
        """The record's values; for a ``new`` one, with the Python-side defaults an INSERT
        would fill in set first (an attribute left as None takes its column's default)."""
        loaded = record.__dict__  # a record made here holds every value it has there
        if new:
            for key, default in self.defaults:
                if loaded.get(key) is None:
                    setattr(record, key, default.arg if default.is_scalar else default.arg(None))
        return [loaded.get(key) for key in self.keys]


class ReplayDesk:
    """Receive dossiers, take their steps, issue their letters and record their ratings with the
    desk's rules, storing the rows directly.

    Only for a run that is the ward's one writer of dossiers (the generator's), since dossier
    codes and logbook lines are counted here after one look at the database per day and year.
    A duplicate ``request_key`` is an error here (the database's unique index), not the first
    dossier returned as at the desk.
    """

    def __init__(self):
        self.dialect = db.session.get_bind().dialect
        ward = this_ward()
        self.ward_code, self.agency_code = ward.ward_code, ward.unit.agency_code
        self.calendar = load_calendar()
        self.tables: dict[type, _RecordTable] = {}
        self.outbox = DriverTable(Outbox.__table__, OUTBOX_COLUMNS, self.dialect,
                                  key="record_uuid")
        dossiers = self._table(Dossier)
        self.version_at = dossiers.keys.index("version")
        self.updated_at = dossiers.keys.index(WRITE_TIME)
        self.stored: dict[str, list] = {}  # dossier uuid -> the values of its stored row
        self.last_numbers: dict[str, int] = {}  # code prefix -> last number given
        self.last_lines: dict[int, int] = {}  # logbook year -> last line written
        self.rating_codes = set(db.session.scalars(  # every one given, so none is given twice
            sa.select(Dossier.rating_code).where(Dossier.rating_code.is_not(None))))

    def receive(self, data: Mapping, *, actor: User, now: dt.datetime) -> Dossier:
        """:func:`~.service.receive_dossier`'s intake, stored here."""
        require_permission(actor, STEPS["received"])
        form = clean_intake(data, now=now)
        prefix = code_prefix(self.agency_code, form.received_at)
        number = self.last_numbers.get(prefix)
        number = (last_code_number(prefix) if number is None else number) + 1
        year = to_local(form.received_at).year
        line = self.last_lines.get(year)
        line = (last_logbook_number(form.received_at) if line is None else line) + 1
        dossier = new_dossier(form, actor=actor, ward_code=self.ward_code,
                              calendar=self.calendar, code=numbered_code(prefix, number),
                              logbook_number=line,
                              rating_code=unused_rating_code(self.rating_codes.__contains__))
        self.last_numbers[prefix], self.last_lines[year] = number, line
        self.rating_codes.add(dossier.rating_code)
        dossier.version = 1
        self._store_new(dossier, dossier.events[0])
        return dossier

    def step(self, dossier: Dossier, kind: str, *, actor: User, now: dt.datetime,
             reason: str | None = None, **fields) -> Dossier:
        """:func:`~.service.record_step` on a dossier this desk received, stored here."""
        step, reason = step_request(kind, reason)
        event = take_step(dossier, step, actor=actor, now=now, calendar=self.calendar,
                          reason=reason, **fields)
        cursor = self._cursor()
        self._insert(cursor, event)
        changed = [event]
        table = self.tables[Dossier]
        values, stored = table.values(dossier, new=False), self.stored[dossier.uuid]
        columns = [at for at, (new, old) in enumerate(zip(values, stored)) if new != old]
        if columns:  # the session writes (and versions) only a changed dossier's changed columns
            dossier.version = values[self.version_at] = stored[self.version_at] + 1
            dossier.updated_at = values[self.updated_at] = utcnow()
            columns = tuple(sorted({*columns, self.version_at, self.updated_at}))
            cursor.execute(*table.driver.update_of(columns, values))
            self.stored[dossier.uuid] = values
            changed.append(dossier)
        self._append_outbox(cursor, changed)
        return dossier

    def issue_letter(self, dossier: Dossier, *, actor: User, now: dt.datetime) -> Letter:
        """:func:`~wardapp.letters.service.issue_letter` on a dossier this desk received."""
        letter = new_letter(dossier, actor=actor, signer=letter_signer(actor), now=now)
        self._store_new(letter)
        return letter

    def rate(self, dossier: Dossier, data: Mapping, *, channel: str, actor: User | None = None,
             now: dt.datetime) -> Rating:
        """:func:`~wardapp.ratings.service.record_rating` of a dossier this desk received
        (``data``'s code is the one the channel names it by)."""
        form = clean_rating(data, channel=channel, actor=actor)
        if form.code != rating_key(dossier, channel):
            raise ValueError(f"a rating of {form.code} given with dossier {dossier.code}")
        refuse_unratable(dossier)
        rating = new_rating(form, ward_code=self.ward_code, dossier=dossier, now=now)
        self._store_new(rating)
        return rating

    def _table(self, model) -> _RecordTable:
        if model not in self.tables:
            self.tables[model] = _RecordTable(model, self.dialect)
        return self.tables[model]

    def _cursor(self):
        return db.session.connection().connection.cursor()

    def _insert(self, cursor, record) -> list:
        table = self._table(type(record))
        values = table.values(record, new=True)
        cursor.execute(table.driver.insert_sql, table.driver.bind(list(values)))
        return values

    def _store_new(self, *records) -> None:
        """Insert new records with their outbox rows (a new dossier's values are kept, to tell
        whether a step changed it)."""
        cursor = self._cursor()
        for record in records:
            values = self._insert(cursor, record)
            if isinstance(record, Dossier):
                self.stored[record.uuid] = values
        self._append_outbox(cursor, records)

    def _append_outbox(self, cursor, records) -> None:
        now = utcnow()
        rows = [outbox_row(record, now) for record in records]
        cursor.executemany(self.outbox.insert_sql,
                           [self.outbox.bind([row[c] for c in OUTBOX_COLUMNS]) for row in rows])
