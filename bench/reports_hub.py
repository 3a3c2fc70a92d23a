"""The cached benchmark hubs: built once per backend, filled with the synthetic city, reused.

A hub is made as the tests make one (``tests.conftest.make_hub``: migrations, the shipped
reference data published as snapshot 1, the units registered); then the generated dossiers,
events and accounts (:mod:`reports_city`) are written with plain SQL ``executemany``, one
transaction per 10,000 dossiers, into every backend at once (a writer thread each). They do not
go through sync: this benchmark is about reading. A cache is rebuilt when the build parameters
or the columns of the tables it fills change; a newer hub migration is applied in place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import queue
import secrets
import shutil
import sqlite3
import threading
import time
import uuid
from pathlib import Path

from benchlib import log
from reports_city import (
    FIRST_DAY,
    HORIZON_LOCAL,
    LAST_DAY,
    PERIOD,
    SEED,
    UNIT_WEIGHTS,
    Generator,
    catalogue,
)
from reports_expected import Expected

BENCH_DIR = Path(__file__).resolve().parent
OUT = BENCH_DIR / "out" / "reports"
BUILD_VERSION = 3  # bump when the way the hub is filled (or its build.json) changes
PG_ADMIN_URL = "postgresql+psycopg://hubtest:hubtest@127.0.0.1:5432/postgres"
PG_DATABASE = "hub_bench_reports"
VIEWER = "xembaocao"
FILLED_TABLES = ("user", "dossier", "dossier_event")


def record_schema() -> str:
    """The columns of the record tables this script fills: a cache is only reused for the
    columns it was filled for (other tables, and new record tables, are migrated in place)."""
    from city_hub.models import RECORD_TABLES

    columns = {
        name: [(c.name, str(c.type), c.nullable) for c in RECORD_TABLES[name].columns]
        for name in FILLED_TABLES
    }
    return hashlib.sha256(json.dumps(columns).encode()).hexdigest()[:16]


def migration_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from city_hub import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    return ",".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def missing_columns(b: Backend) -> list[str]:
    """Columns the hub's models have and the cached database lacks."""
    import sqlalchemy as sa

    from city_hub.extensions import db

    app = hub_app(b)
    with app.app_context():
        inspector = sa.inspect(db.engine)
        missing = []
        for table in db.metadata.sorted_tables:
            have = (
                {c["name"] for c in inspector.get_columns(table.name)}
                if inspector.has_table(table.name)
                else set()
            )
            missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in have]
        db.engine.dispose()
    return missing


def upgrade_cache(b: Backend) -> None:
    """Bring a cached hub to the newest migration (the other tables changed, not the records)."""
    from city_hub import upgrade_schema
    from city_hub.extensions import db

    app = hub_app(b)
    with app.app_context():
        upgrade_schema()
        db.session.remove()
        db.engine.dispose()


def pg_database(out: Path) -> str:
    """The PostgreSQL database of the hub cached under ``out``: one per folder, so a city of
    another size, or a run under ``--out`` elsewhere (a test's temporary folder), never shares
    the database of the cache in bench/out."""
    if out == OUT:
        return PG_DATABASE
    name = f"{PG_DATABASE}_{out.name.replace('-', '_')}"
    if out.parent == OUT.parent:
        return name
    return f"{name}_{hashlib.sha256(str(out).encode()).hexdigest()[:8]}"


class Backend:
    """One backend's cached hub: where it lives, how to empty it, how to load rows into it."""

    def __init__(self, name: str, out: Path, pg_url: str | None = None):
        import sqlalchemy as sa

        self.name = name
        self.dir = out / name
        self.build_file = self.dir / "build.json"
        if name == "sqlite":
            self.path = self.dir / "hub.sqlite"
            self.url = "sqlite:///" + str(self.path)
            self.hub_url = None  # make_hub's default: SQLite in the instance folder
        else:
            self.admin_url = sa.make_url(pg_url)
            self.url = self.admin_url.set(database=pg_database(out)).render_as_string(
                hide_password=False
            )
            self.hub_url = self.url
        self.mark = "?" if name == "sqlite" else "%s"

    def built(self, key: dict) -> dict | None:
        """The build record when the cache is complete and made for ``key``."""
        if not self.build_file.exists():
            return None
        built = json.loads(self.build_file.read_text())
        if built.get("key") != key:
            return None
        try:
            conn = self.raw()
            cur = conn.cursor()
            cur.execute("SELECT COUNT(*) FROM dossier")
            n = cur.fetchone()[0]
            conn.close()
        except Exception:  # noqa: BLE001 - a missing or broken database is rebuilt
            return None
        return built if n == built["rows"]["dossier"] else None

    def reset(self) -> None:
        import sqlalchemy as sa

        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        if self.name == "postgresql":
            engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            name = sa.make_url(self.url).database
            with engine.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
            engine.dispose()

    def raw(self):
        """A plain DBAPI connection (sqlite3 or psycopg), outside the app."""
        if self.name == "sqlite":
            conn = sqlite3.connect(self.path, isolation_level=None)
            conn.execute("PRAGMA cache_size=-1000000")
            return conn
        import psycopg
        import sqlalchemy as sa

        return psycopg.connect(
            sa.make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
        )


class Loader:
    """Turns generated records into rows of a hub table: every column in the table's order, the
    wire digest, the backend's value types; and writes them with ``executemany``."""

    def __init__(self, table_name: str):
        from city_hub.models import RECORD_TABLES
        from kernel.columns import JSONText, UTCDateTime
        from wardapp.sync.protocol import wire_columns

        table = RECORD_TABLES[table_name]
        self.name = table_name
        self.columns = [c.name for c in table.columns]
        self.wire = [c.name for c in wire_columns(table_name)]
        # What the hub fills in for a column an older ward does not send yet (RecordShape.clean)
        self.later_defaults = {
            c.name: c.default.arg for c in wire_columns(table_name) if c.server_default is not None
        }
        self.required = {c.name for c in table.columns if not c.nullable}
        self.dates = [i for i, c in enumerate(table.columns) if isinstance(c.type, UTCDateTime)]
        self.json = [i for i, c in enumerate(table.columns) if isinstance(c.type, JSONText)]
        self.defaults: dict | None = None
        self._json_memo: dict[int, str] = {}

    def sql(self, mark: str) -> str:
        return (
            f'INSERT INTO "{self.name}" ({", ".join(self.columns)}) '
            f"VALUES ({', '.join([mark] * len(self.columns))})"
        )

    def complete(self, records: list[dict]) -> None:
        """Give each record its ``sync_sha256``: the SHA-256 of its canonical wire JSON, as
        ``city_hub.sync.apply`` computes it (``canonical_json`` of the record's data)."""
        if self.defaults is None:
            have = set(records[0])
            missing = [c for c in self.wire if c not in have]
            if required := [
                c for c in missing if c in self.required and c not in self.later_defaults
            ]:
                raise SystemExit(
                    f"{self.name}: no generated value for NOT NULL column(s) "
                    f"{required}; teach Generator about them"
                )
            # columns this script does not know: nullable, or taking their default as at the hub
            self.defaults = {c: self.later_defaults.get(c) for c in missing}
            extra = have - set(self.wire) - {"_seq", "_synced"}
            self.drop = sorted(extra)  # generated but not (or no longer) a column
        dumps, sha = json.dumps, hashlib.sha256
        for r in records:
            if self.defaults:
                r.update(self.defaults)
            for k in self.drop:
                r.pop(k, None)
            seq, synced = r.pop("_seq"), r.pop("_synced")
            digest = sha(
                dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
            ).hexdigest()
            r["sync_sha256"], r["sync_seq"], r["synced_utc"] = digest, seq, synced

    def rows(self, records: list[dict], backend: str) -> list[tuple]:
        """Row tuples: JSON columns as the app's JSONText writes them, times as SQLAlchemy
        stores them in SQLite (text) or as ISO text PostgreSQL casts to ``timestamp``."""
        from operator import itemgetter

        get = itemgetter(*self.columns)
        memo, dumps = self._json_memo, json.dumps
        dates = self.dates if backend == "sqlite" else []
        jsons = self.json
        out = []
        for r in records:
            row = list(get(r))
            for i in jsons:
                v = row[i]
                if not v:
                    row[i] = "{}" if isinstance(v, dict) else "[]"
                elif isinstance(v, list):  # the documents: one list per procedure
                    key = id(v)
                    if key not in memo:
                        memo[key] = dumps(v, ensure_ascii=False, sort_keys=True)
                    row[i] = memo[key]
                else:
                    row[i] = dumps(v, ensure_ascii=False, sort_keys=True)
            for i in dates:
                row[i] = sqlite_text(row[i])
            out.append(row)
        return out


class Writer(threading.Thread):
    """Writes one backend's rows as the generator hands them over, in a thread of its own, so
    that the database works while the next chunk is generated (sqlite3 and psycopg release the
    GIL while the database works)."""

    def __init__(self, backend: Backend, loaders: dict[str, Loader]):
        super().__init__(daemon=True, name=f"writer-{backend.name}")
        self.backend, self.loaders = backend, loaders
        self.queue: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.busy = 0.0  # seconds spent converting and writing

    def put(self, item) -> None:
        if self.error:
            raise self.error
        self.queue.put(item)

    def run(self) -> None:
        try:
            conn = self.backend.raw()
            sqlite = isinstance(conn, sqlite3.Connection)
            if sqlite:
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("BEGIN")
            while (item := self.queue.get()) is not None:
                t = time.perf_counter()
                if item == "commit":
                    if sqlite:
                        conn.execute("COMMIT")
                        conn.execute("BEGIN")
                    else:
                        conn.commit()
                else:
                    table, records = item
                    loader = self.loaders[table]
                    conn.cursor().executemany(
                        loader.sql(self.backend.mark), loader.rows(records, self.backend.name)
                    )
                self.busy += time.perf_counter() - t
            if sqlite:
                conn.execute("COMMIT")
            conn.close()
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            self.error = e
            while self.queue.get() is not None:
                pass


def sqlite_text(wire: str | None) -> str | None:
    """ISO-8601 UTC text as SQLAlchemy stores a naive DateTime in SQLite."""
    if wire is None:
        return None
    return f"{wire[:10]} {wire[11:26]}" if wire[19] == "." else f"{wire[:10]} {wire[11:19]}.000000"


def build(backends: list[Backend], key: dict, dossiers: int) -> None:
    """Make each backend's hub (tests.conftest.make_hub), then fill all of them in one pass."""

    from city_hub.extensions import db
    from city_hub.models import HubUser, Ward
    from city_hub.refdata import latest_snapshot
    from city_hub.reports.periods import parse_period
    from tests.conftest import make_hub

    started = time.perf_counter()
    apps, snapshot = {}, None
    for b in backends:
        log(f"-- {b.name}: hub schema and reference data (make_hub) ...")
        b.reset()
        apps[b.name], _ = make_hub(
            b.dir, wards=tuple(UNIT_WEIGHTS), database_url=b.hub_url, SECRET_KEY="bench-reports"
        )
        with apps[b.name].app_context():
            snapshot = json.loads(latest_snapshot().body)
            db.session.remove()
            db.engine.dispose()
    units = {u["code"]: u for u in snapshot["units"] if u["code"] in UNIT_WEIGHTS}
    procedures = catalogue(snapshot)
    gen = Generator(procedures, units, total=dossiers)
    expected = Expected(parse_period(PERIOD).window(), procedures)
    loaders = {t: Loader(t) for t in FILLED_TABLES}
    writers = [Writer(b, loaders) for b in backends]
    for w in writers:
        w.start()
    timings = {"generate": 0.0}

    def send(item) -> None:
        for w in writers:
            w.put(item)

    build_now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    log(
        f"-- generating {dossiers:,} dossiers of {len(units)} units, "
        f"{FIRST_DAY} .. {LAST_DAY}, into {', '.join(b.name for b in backends)} ..."
    )
    users = gen.user_rows()
    loaders["user"].complete(users)
    send(("user", users))
    send("commit")
    done, events = 0, 0
    chunks = gen.chunks()
    while True:
        t = time.perf_counter()
        chunk = next(chunks, None)
        if chunk is None:
            break
        records = [d for d, _ in chunk]
        for d in records:
            expected.add(d)
        event_records = [e for _, evs in chunk for e in evs]
        loaders["dossier"].complete(records)
        loaders["dossier_event"].complete(event_records)
        timings["generate"] += time.perf_counter() - t
        send(("dossier", records))
        send(("dossier_event", event_records))
        send("commit")
        done += len(chunk)
        events += len(event_records)
        if done // 100_000 != (done - len(chunk)) // 100_000:
            log(
                f"   {done:>9,} dossiers, {events:>10,} events "
                f"({time.perf_counter() - started:.0f} s)"
            )
    send(None)
    for w in writers:
        w.join()
        if w.error:
            raise w.error
    timings.update({w.backend.name: w.busy for w in writers})

    log("-- wards, viewer account, statistics ...")
    password = secrets.token_urlsafe(12)
    for b in backends:
        t = time.perf_counter()
        app = apps[b.name]
        with app.app_context():
            for code, unit in units.items():
                ward = db.session.get(Ward, code)
                ward.name = unit["name"]
                ward.acked_seq = ward.reported_head_seq = gen.seq[code]
                ward.db_instance_id = str(uuid.UUID(int=gen.rng.getrandbits(128), version=4))
                recent = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=7)
                ward.last_seen_utc = ward.last_push_ok_utc = ward.last_pull_ok_utc = recent
                ward.head_reported_utc = ward.complete_through_utc = recent
                ward.protocol_version = ward.schema_version = ward.refdata_version = 1
            viewer = HubUser(username=VIEWER, full_name="Lê Thị Báo Cáo", role="viewer")
            viewer.set_password(password)
            db.session.add(viewer)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        conn = b.raw()
        if b.name == "postgresql":
            conn.autocommit = True
            conn.execute("VACUUM (ANALYZE)")
        else:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        counts = {}
        for table in ("user", "dossier", "dossier_event"):
            cur = conn.cursor()
            cur.execute(f'SELECT COUNT(*) FROM "{table}"')
            counts[table] = cur.fetchone()[0]
        if b.name == "postgresql":
            cur.execute("SELECT pg_database_size(current_database())")
            size = cur.fetchone()[0]
        else:
            size = b.path.stat().st_size
        conn.close()
        timings[b.name] += time.perf_counter() - t
        record = {
            "key": key,
            "migration_head": migration_head(),
            "built_utc": build_now.isoformat() + "Z",
            "rows": counts,
            "size_bytes": size,
            "viewer": {"username": VIEWER, "password": password},
            "stats": gen.stats,
            "expected": {PERIOD: expected.counts},
            "load_seconds": round(timings[b.name], 1),
            "generate_seconds": round(timings["generate"], 1),
            "total_seconds": round(time.perf_counter() - started, 1),
        }
        b.build_file.write_text(json.dumps(record, indent=1, default=str))
    s = gen.stats
    log(
        f"   {s['dossiers']:,} dossiers, {s['events']:,} events, "
        f"{len(units)} units; built in {time.perf_counter() - started:.0f} s (generate and "
        f"digest {timings['generate']:.0f} s, "
        + ", ".join(f"{b.name} load {timings[b.name]:.0f} s" for b in backends)
        + ")"
    )


def hub_app(b: Backend, config: dict | None = None):
    from city_hub import create_app

    return create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "bench-reports",
            "SQLALCHEMY_DATABASE_URI": b.url,
            **(config or {}),
        },
        instance_path=str(b.dir),
    )


def build_key(dossiers: int) -> dict:
    return {
        "build_version": BUILD_VERSION,
        "seed": SEED,
        "dossiers": dossiers,
        "days": [FIRST_DAY.isoformat(), LAST_DAY.isoformat()],
        "horizon_local": HORIZON_LOCAL.isoformat(),
        "units": sorted(UNIT_WEIGHTS),
        "record_schema": record_schema(),
    }


def ensure_built(backends: list[Backend], dossiers: int, rebuild: bool) -> dict[str, dict]:
    key = build_key(dossiers)
    stale = [b for b in backends if rebuild or b.built(key) is None]
    for b in stale:
        why = (
            "--rebuild"
            if rebuild
            else "no cache"
            if not b.build_file.exists()
            else "cache made for another build key or schema, or incomplete"
        )
        log(f"   {b.name}: building ({why})")
    head = migration_head()
    for b in backends:
        if b in stale:
            continue
        record = b.built(key)
        if record.get("migration_head") != head:
            log(
                f"   {b.name}: cached hub at migration {record.get('migration_head')}, code at "
                f"{head}: upgrading it in place"
            )
            try:
                upgrade_cache(b)
                record["migration_head"] = head
                b.build_file.write_text(json.dumps(record, indent=1, default=str))
            except Exception as e:  # noqa: BLE001 - e.g. a migration that was rewritten
                log(f"   {b.name}: upgrade failed ({e!r:.200}); building again")
                stale.append(b)
                continue
        if missing := missing_columns(b):
            log(
                f"   {b.name}: cached hub lacks {missing[:5]} (a migration rewritten in place?): "
                "building again"
            )
            stale.append(b)
    if stale:
        build(stale, key, dossiers)
    return {b.name: b.built(key) for b in backends}
