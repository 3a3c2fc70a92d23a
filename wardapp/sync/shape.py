"""What a record's data may hold: per synced table, each wire column's check, applied to every
record the hub receives and every record a replacement ward takes back from it.

Each check keeps to what every database the hub runs on stores, so a record that passes is one
the hub's database takes. The framing and digests of the batches the records travel in are
:mod:`.protocol`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa

from kernel.columns import JSONText, UTCDateTime

from .protocol import MAX_SEQ, SYNCED_MODELS, wire_columns


class RecordRejected(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _checker(column: sa.Column) -> Callable | None:
    """The check of one wire column's value: returns it typed as the model holds it, or raises
    TypeError/ValueError. None for a string column, the commonest, checked inline.

    Each check also keeps to what every database the hub runs on stores, so a record the hub
    accepted is one its database takes: integers within the column's width, times that have a
    UTC equivalent, JSON of bounded depth (a string column refuses NUL, see
    :meth:`RecordShape.clean`)."""
    kind = column.type
    if isinstance(kind, JSONText):
        return _json_value
    if isinstance(kind, UTCDateTime):
        return _aware_datetime
    if isinstance(kind, sa.Boolean):
        return _boolean
    if isinstance(kind, sa.BigInteger):
        return _integer_check(MAX_SEQ)
    if isinstance(kind, sa.Integer):
        return _integer_check(2**31 - 1)
    if isinstance(kind, sa.Date):
        return dt.date.fromisoformat
    if isinstance(kind, (sa.String, sa.Text)):
        return None
    raise AssertionError(f"no wire check for {column.name}: {kind!r}")


JSON_DEPTH = 16  # a record's JSON column (documents, details, items) is a few levels deep


def _json_value(value):
    if value.__class__ not in _CONTAINERS or not _shallow(value, JSON_DEPTH):
        raise TypeError
    return value


_CONTAINERS = (list, dict)


def _shallow(value, room: int) -> bool:
    """Whether ``value`` nests no more than ``room`` levels below itself."""
    for item in value.values() if value.__class__ is dict else value:
        if item.__class__ in _CONTAINERS and (room == 0 or not _shallow(item, room - 1)):
            return False
    return True


def _aware_datetime(value):
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise TypeError
    if parsed.year in (1, 9999):  # stored in UTC: year 1 at +07:00 has no UTC time
        try:
            parsed.astimezone(dt.UTC)
        except OverflowError:
            raise ValueError("no UTC time") from None
    return parsed


def _boolean(value):
    if type(value) is not bool:
        raise TypeError
    return value


def _integer_check(largest: int) -> Callable:
    def integer(value):
        if type(value) is not int or not -largest <= value <= largest:
            raise TypeError
        return value

    return integer


class RecordShape:
    """One synced table's wire columns with their checks, made once per table: checking records
    is the inner loop of applying a batch."""

    def __init__(self, table_name: str):
        columns = wire_columns(table_name)
        self.names = [c.name for c in columns]
        self._checks = [
            (
                c.name,
                _checker(c),
                getattr(c.type, "length", None) or 10**6,
                bool(c.primary_key or not c.nullable),
                c.default.arg if c.server_default is not None else None,
            )
            for c in columns
        ]

    def clean(self, data) -> list:
        """The record's values in column order, typed, or :class:`RecordRejected` naming the
        first problem.

        Unknown fields are ignored, so a newer ward may send columns an older hub does not know;
        a column added later (it has a server default) that an older ward does not send yet
        takes its default. A NUL character, which SQLite stores and PostgreSQL refuses, is
        refused in every text column on both, so a hub moves between them without loss.
        """
        if not isinstance(data, dict):
            raise RecordRejected("INVALID", "Bản ghi phải là một đối tượng JSON.")
        values = []
        for name, check, longest, required, default in self._checks:
            value = data.get(name)
            if value is None and default is not None and name not in data:
                value = default
            if value is None:
                if required:
                    raise RecordRejected("INVALID", f"Thiếu trường bắt buộc {name}.")
            elif check is None:
                if type(value) is not str or len(value) > longest or "\x00" in value:
                    raise RecordRejected("INVALID", f"Trường {name} không hợp lệ.")
            else:
                try:
                    value = check(value)
                except (TypeError, ValueError):
                    raise RecordRejected("INVALID", f"Trường {name} không hợp lệ.") from None
            values.append(value)
        return values


RECORD_SHAPES = {name: RecordShape(name) for name in SYNCED_MODELS}


def record_shape(table_name) -> RecordShape:
    if not isinstance(table_name, str) or table_name not in RECORD_SHAPES:
        raise RecordRejected("UNKNOWN_TABLE", f"Bảng {table_name!r} không được đồng bộ.")
    return RECORD_SHAPES[table_name]


def clean_record(table_name, data) -> dict:
    """The record's checked values by column name (see :meth:`RecordShape.clean`)."""
    shape = record_shape(table_name)
    return dict(zip(shape.names, shape.clean(data)))
