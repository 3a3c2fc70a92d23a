"""Database helpers both apps use: the SQLite connection set-up, write transactions that take the
write lock first, batches of them (:func:`batched_writes`), the migration runner of each app's
``migrations/env.py`` and the driver-level writer of the hub's apply (:class:`DriverTable`).

Each app has its own Flask-SQLAlchemy instance; every helper here takes the session or engine it
works on.
"""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import event


def configure_engine(engine: sa.Engine) -> None:
    """Set the pragmas of every connection and take transactions into our own hands.

    pysqlite's own transaction handling is switched off so that a write unit can start with
    ``BEGIN IMMEDIATE``: two desks taking a dossier code at once then queue on the busy timeout
    instead of one failing when its read transaction tries to become a write.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(session):
    """Run the block as one write transaction of ``session`` (a scoped session), committed at the
    end or rolled back on error.

    On SQLite it begins ``BEGIN IMMEDIATE`` (:func:`configure_engine`): the write lock is taken
    first, so two writers queue instead of one failing half-way.
    """
    batch = session.info.get(BATCH_KEY)
    if batch is not None:  # one write of :func:`batched_writes`' transaction
        if batch.failed:
            raise RuntimeError("a write of this batch failed: the batch is rolled back whole")
        try:
            yield session
            session.flush()
        except BaseException:
            batch.failed = True
            raise
        return
    if session().in_transaction():
        session.commit()  # end the read snapshot the request may hold (nothing is pending)
    session.connection(execution_options={"sqlite_immediate": True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


BATCH_KEY = "kernel.batched_writes"


class _Batch:
    failed = False


@contextmanager
def batched_writes(session):
    """Make every :func:`write_transaction` in the block one write of a single transaction.

    A run that writes thousands of records through the service layer (the ward's demo
    generator) would be a hundred times slower committing (and fsyncing) each one. Each write is
    flushed at its end, so the versions and the outbox rows are those step-by-step commits
    leave. It is no savepoint (a savepoint per write cost an eighth of the generator's time):
    a write that fails fails the batch, whose transaction is rolled back whole, and a write
    tried after it in the block is refused, so no part of a failed write is ever committed,
    even when the caller catches its error.
    """
    with write_transaction(session):
        batch = session.info[BATCH_KEY] = _Batch()
        try:
            yield session
            if batch.failed:  # the caller caught a write's error: commit none of the batch
                raise RuntimeError("a write of this batch failed: the batch is rolled back whole")
        finally:
            session.info.pop(BATCH_KEY, None)


def at_head(migrations_dir: str, engine: sa.Engine) -> bool:
    """Whether the database already has the newest schema (so start-up can skip Alembic)."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from flask_migrate import Config

    config = Config()
    config.set_main_option("script_location", migrations_dir)
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == set(ScriptDirectory.from_config(config).get_heads())


def current_revision(engine: sa.Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def run_migrations(context, migrate_ext) -> None:
    """Run Alembic online migrations for either app (called from each ``migrations/env.py``).

    The SQLite trap of Alembic's batch mode: a batch migration recreates tables, and with
    ``foreign_keys=ON`` that recreate cascade-deletes child rows, so on SQLite foreign keys are
    switched off before the migration transaction and checked after it.
    """
    conf_args = dict(migrate_ext.configure_args)
    engine = migrate_ext.db.engine
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")  # outside any transaction, or it is ignored
        try:
            context.configure(
                connection=connection, target_metadata=migrate_ext.db.metadata, **conf_args
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
            if sqlite:
                broken = raw.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"foreign key violations after migration: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def bind_processor(column_type, dialect):
    """What SQLAlchemy does to a value of ``column_type`` before the driver gets it: the type's
    own fused processor when it has one, else SQLAlchemy's chain (None: nothing to do)."""
    fused = getattr(column_type, "fused_bind_processor", None)
    processor = fused(dialect) if fused is not None else None
    return processor or column_type.dialect_impl(dialect).bind_processor(dialect)


class DriverTable:
    """A table's INSERT and UPDATE for the database driver's own ``execute``/``executemany``.

    The hub applying a sync batch (its bulk writer) skips SQLAlchemy's per-statement work, and
    the ward's outbox hook (:mod:`wardapp.outbox`) inserts a flush's outbox rows with it; the
    values still pass through the bind processors SQLAlchemy would apply, so the stored form is
    the same as an ORM or Core write. (The ward's demo generator writes through the service
    layer's session, not through this.)

    :param columns: the column names a row holds, in order; ``key`` must be one of them.
    """

    def __init__(self, table: sa.Table, columns: list[str], dialect, key: str = "uuid"):
        self.columns = columns
        binds = [bind_processor(table.c[name].type, dialect) for name in columns]
        self.binds = [(at, bind) for at, bind in enumerate(binds) if bind is not None]
        quote = dialect.identifier_preparer.quote
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.insert_sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) "
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
        self.key_at = columns.index(key)
        self._update_parts = (
            f"UPDATE {quote(table.name)} SET ",
            f" = {mark}",
            f" WHERE {quote(key)} = {mark}",
            quote,
        )
        self._updates: dict[tuple[int, ...], str] = {}
        self._bind_at = dict(self.binds)
        self.update_sql = self._update_sql(
            tuple(at for at in range(len(columns)) if at != self.key_at)
        )

    def bind(self, values: list) -> tuple:
        """The driver's parameters for a row of Python values (``values`` is changed)."""
        for at, bind in self.binds:
            if values[at] is not None:
                values[at] = bind(values[at])
        return tuple(values)

    def update_params(self, row: tuple) -> tuple:
        """A bound row's parameters for :attr:`update_sql` (the key goes last)."""
        at = self.key_at
        return row[:at] + row[at + 1 :] + (row[at],)

    def update_of(self, changed: tuple[int, ...], values: list) -> tuple[str, tuple]:
        """The UPDATE of only the ``changed`` columns (their positions in a row of Python
        values) and its parameters, as the ORM writes a changed record: only those values are
        bound."""
        params = []
        for at in (*changed, self.key_at):
            value, bind = values[at], self._bind_at.get(at)
            params.append(bind(value) if bind is not None and value is not None else value)
        return self._update_sql(changed), tuple(params)

    def _update_sql(self, changed: tuple[int, ...]) -> str:
        """``UPDATE … SET`` the columns at ``changed`` ``WHERE`` the key, made once per set."""
        sql = self._updates.get(changed)
        if sql is None:
            start, equals, where, quote = self._update_parts
            sql = self._updates[changed] = (
                start + ", ".join(quote(self.columns[at]) + equals for at in changed) + where
            )
        return sql
