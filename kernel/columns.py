"""Column types and values both apps' tables use: record ids, aware UTC times, readable JSON."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import sqlalchemy as sa


def new_uuid() -> str:
    return str(uuid.uuid4())


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC text by SQLite.

    Refuses naive values so that no local wall-clock time is ever stored as if it were UTC.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)

    def fused_bind_processor(self, dialect):
        """For bulk writers (:class:`~wardapp.database.DriverTable`): on SQLite, the text
        SQLAlchemy would store (this type's naive UTC value in its DATETIME format) made in one
        step, at half the cost of the two processors; elsewhere None."""
        if dialect.name != "sqlite":
            return None

        def sqlite_text(value: dt.datetime) -> str:
            if value.tzinfo is None:
                raise ValueError("naive datetime given where an aware one is required")
            return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return sqlite_text


class JSONText(sa.types.TypeDecorator):
    """A JSON value kept as readable UTF-8 text (Vietnamese stays legible in sqlite3 and in
    exports)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)
