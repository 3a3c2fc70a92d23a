"""The sync benchmark's ward databases: built once, checked, cached under bench/out/sync/wards/.

Each is made like ``build_ward_db.py`` makes the desk benchmark's ward: ``wardapp.cli.initialise``
for the unit and the demo accounts, a seed of real dossiers through the service layer
(``demo.city.generate_dossiers``), then the seed replicated into earlier weeks with
``build_ward_db.replicate``, which writes the outbox rows the real write path would have left.
Columns the app derives at a step and the copy does not know are filled in
(``working_days_used``), and the outbox is put in the order the writes happened. The build then
checks every synced record against its outbox rows: one row per version, and the newest row's
payload byte for byte what ``wardapp.outbox.outbox_row`` makes from the record now. A change of
the synced columns or of the ward's migrations rebuilds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import shutil
import sqlite3
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import benchlib
import build_ward_db as bwd
from benchlib import log

BENCH_DIR = Path(__file__).resolve().parent
OUT = BENCH_DIR / "out" / "sync"  # the default; ``bench_sync.py --out DIR`` puts it in DIR/sync
BUILD_VERSION = 3  # bump when the way the wards are made changes
# The 13 units of Long Xuyên (11 phường, 2 xã), as in wardapp/refdata/units.json.
CITY_UNITS = [
    "30280",
    "30283",
    "30285",
    "30286",
    "30289",
    "30292",
    "30295",
    "30298",
    "30301",
    "30304",
    "30307",
    "30310",
    "30313",
]
SINGLE_UNIT = "30280"
PROFILES = {
    # dossiers: single ward, whole city; years: how far back the copies reach;
    # seed_day: the seed runs from the 1st of last month to this day of it (17:30 local), or
    # later in a month whose first days are a holiday (seed_until); units: the city's first N.
    "full": {
        "single": 1_500,
        "city": 93_316,
        "single_years": 0.08,
        "city_years": 0.69,
        "seed_day": 21,
    },
    "quick": {
        "single": 400,
        "city": 13 * 600,
        "single_years": 0.08,
        "city_years": 0.2,
        "seed_day": 7,
    },
    # only to see that the benchmark runs (CI, tests/test_benches_run.py): a few minutes less
    "smoke": {
        "single": 300,  # a week's seed of 30280 is about 240 dossiers: one copy, cut
        "city": 3 * 300,
        "single_years": 0.04,
        "city_years": 0.04,
        "seed_day": 7,
        "units": 3,
    },
}
# A seed needs room for its late dossiers (the generator refuses a period too short to hold
# them: due + 3 working days within it): this many working days from the 1st to its last day.
SEED_WORKING_DAYS = 5


def seed_until(day: int, now: dt.datetime | None = None) -> dt.datetime:
    """17:30 local on ``day`` of last month: a fixed end for the seed within a month, always
    before today (whatever day of the month today is), so the copies, which end before the
    seed starts, are in the past too (``build_ward_db.copies_end``). Where the month's first
    days are a holiday (Tết can take the first week of February), the end moves on until the
    seed holds ``SEED_WORKING_DAYS`` working days."""
    from kernel.workdays import WorkCalendar, local_datetime, to_local

    today = to_local(now or benchlib.now()).date()
    first = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    calendar = WorkCalendar()
    end = first.replace(day=day)
    while sum(calendar.is_working_day(first + dt.timedelta(days=i)) for i in range(end.day)) < (
        SEED_WORKING_DAYS
    ):
        end += dt.timedelta(days=1)
    return local_datetime(end, dt.time(17, 30))


def make_seed(out: Path, unit: str, *, seed: int, until: dt.datetime) -> int:
    """``build_ward_db.make_seed`` for any unit: the ward, its accounts and one month's seed."""
    from demo.city import create_demo_users, demo_passwords, generate_dossiers
    from wardapp.cli import initialise
    from wardapp.extensions import db

    logins = demo_passwords()
    with bwd.seeded_uuid4(random.Random(f"uuid-{seed}")):
        app, ward = initialise(str(out), unit, "admin", logins["admin"])
        (out / "logins.json").write_text(json.dumps(logins, indent=2) + "\n")
        (out / "logins.json").chmod(0o600)
        with app.app_context():
            create_demo_users(ward["code"], logins)
            total = generate_dossiers(months=1, seed=seed, until=until)
            db.session.remove()
            db.engine.dispose()
    return total


def verify_outbox(out: Path) -> dict:
    """Every synced record has one outbox row per version, none acknowledged, and its newest
    row's payload is exactly what the real write path (``outbox_row``) makes from it now."""
    import hashlib

    import sqlalchemy as sa

    from kernel.columns import utcnow
    from wardapp import create_app
    from wardapp.extensions import db
    from wardapp.outbox import outbox_row
    from wardapp.sync.protocol import SYNCED_MODELS

    conn = sqlite3.connect(out / "ward.sqlite")
    versions: dict[tuple[str, str], list[int]] = {}
    newest: dict[tuple[str, str], tuple[str, str]] = {}
    bad_sha = acked = rows = 0
    for table, uuid, version, payload, sha, ack in conn.execute(
        "SELECT table_name, record_uuid, record_version, payload, payload_sha256, "
        "acked_at_utc FROM outbox ORDER BY seq"
    ):
        rows += 1
        versions.setdefault((table, uuid), []).append(version)
        newest[(table, uuid)] = (payload, sha)
        bad_sha += hashlib.sha256(payload.encode()).hexdigest() != sha
        acked += ack is not None
    conn.close()
    problems: list[str] = []
    counts = {}
    app = create_app(instance_path=str(out))
    with app.app_context():
        now = utcnow()
        for name, model in SYNCED_MODELS.items():
            counts[name] = 0
            for record in db.session.scalars(sa.select(model)):
                counts[name] += 1
                key = (name, record.uuid)
                if versions.get(key) != list(range(1, record.version + 1)):
                    problems.append(
                        f"{name} {record.uuid}: versions {versions.get(key)} "
                        f"for version {record.version}"
                    )
                elif newest[key][0] != outbox_row(record, now)["payload"]:
                    problems.append(f"{name} {record.uuid}: newest payload differs")
                versions.pop(key, None)
            db.session.expunge_all()
        db.session.remove()
        db.engine.dispose()
    if versions:
        problems.append(
            f"{len(versions)} outbox records without a record, e.g. {next(iter(versions))}"
        )
    if bad_sha or acked:
        problems.append(f"{bad_sha} rows with a wrong payload_sha256, {acked} acknowledged")
    if problems:
        raise RuntimeError(f"outbox check failed in {out}: " + "; ".join(problems[:5]))
    return {"records": counts, "outbox_rows": rows}


def derive_columns(db_path: Path) -> int:
    """Fill what the app derives at a step but ``replicate`` does not know: ``working_days_used``,
    set at resolution by ``wardapp.dossiers.service.working_days_used``. Copies of dossiers that
    were open in the seed are resolved by the build, and copies of resolved ones inherit the
    seed's count for other weeks, so every resolved dossier gets its own count here, and so do
    the outbox payloads of its versions from the resolution on. Returns the dossiers changed."""
    import hashlib
    from types import SimpleNamespace

    from wardapp import create_app
    from wardapp.dossiers import service

    if not hasattr(service, "working_days_used"):
        return 0
    conn = sqlite3.connect(db_path, isolation_level=None)
    if "working_days_used" not in [r[1] for r in conn.execute("PRAGMA table_info(dossier)")]:
        conn.close()
        return 0
    app = create_app(instance_path=str(db_path.parent))
    with app.app_context():
        calendar = service.load_calendar()
        changed = {}
        for uuid, received, due_original, due, resolved, stored in conn.execute(
            "SELECT uuid, received_at, due_at_original, due_at, resolved_at, "
            "working_days_used FROM dossier WHERE resolved_at IS NOT NULL"
        ):
            value = service.working_days_used(
                SimpleNamespace(
                    received_at=bwd.parse_db_time(received),
                    due_at_original=bwd.parse_db_time(due_original),
                    due_at=bwd.parse_db_time(due),
                ),
                bwd.parse_db_time(resolved),
                calendar,
            )
            if value != stored:
                changed[uuid] = value
    conn.execute("BEGIN")
    conn.executemany(
        "UPDATE dossier SET working_days_used = ? WHERE uuid = ?",
        [(v, u) for u, v in changed.items()],
    )
    updates = []
    for seq, uuid, payload in conn.execute(
        "SELECT seq, record_uuid, payload FROM outbox WHERE table_name = 'dossier' AND "
        "record_uuid IN (SELECT value FROM json_each(?))",
        (json.dumps(list(changed)),),
    ):
        data = json.loads(payload)
        if data.get("resolved_at") is not None:
            data["working_days_used"] = changed[uuid]
            text = bwd.payload_text(data)
            updates.append((text, hashlib.sha256(text.encode()).hexdigest(), seq))
    conn.executemany("UPDATE outbox SET payload = ?, payload_sha256 = ? WHERE seq = ?", updates)
    conn.execute("COMMIT")
    conn.close()
    return len(changed)


def chronological_outbox(db_path: Path) -> None:
    """Renumber the outbox in the order the writes happened, as a real ward's outbox is.

    The demo generator walks each dossier through its whole life before it receives the next one,
    and ``replicate`` writes each copy's rows together, so a dossier's versions and events sit
    next to each other in the outbox. At a real desk a dossier is received, handed over minutes
    later and resolved and returned days later, between other dossiers' steps. Each row is put at
    the time of its write: an event's ``at``, and for dossier version v the time of its v-th event
    (each step writes one event and one dossier version); ties keep their order. ``created_utc``
    is set to that time too (the seed's own rows had the build's wall-clock time). Payloads are
    not touched.
    """
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA temp_store=MEMORY")
    unplaced = conn.execute("""
        SELECT count(*) FROM outbox o WHERE o.table_name = 'dossier' AND NOT EXISTS
        (SELECT 1 FROM dossier_event e WHERE e.dossier_uuid = o.record_uuid
         AND e.position = o.record_version)""").fetchone()[0]
    assert unplaced == 0, f"{unplaced} dossier versions without their event"
    conn.execute("BEGIN")
    conn.execute("""CREATE TEMP TABLE sorted_outbox AS SELECT * FROM outbox WHERE 0""")
    conn.execute("""
        INSERT INTO sorted_outbox (table_name, record_uuid, op, record_version, payload,
                                   payload_sha256, created_utc, acked_at_utc)
        SELECT table_name, record_uuid, op, record_version, payload, payload_sha256,
               coalesce(written, created_utc), acked_at_utc
        FROM (SELECT o.*, CASE o.table_name
                  WHEN 'dossier_event' THEN
                      (SELECT e.at FROM dossier_event e WHERE e.uuid = o.record_uuid)
                  WHEN 'dossier' THEN
                      (SELECT e.at FROM dossier_event e WHERE e.dossier_uuid = o.record_uuid
                       AND e.position = o.record_version)
                  END AS written
              FROM outbox o)
        ORDER BY coalesce(written, ''), seq""")
    conn.execute("DELETE FROM outbox")
    conn.execute(
        "INSERT INTO outbox SELECT rowid, table_name, record_uuid, op, record_version, "
        "payload, payload_sha256, created_utc, acked_at_utc FROM sorted_outbox "
        "ORDER BY rowid"
    )
    conn.execute("DROP TABLE sorted_outbox")
    conn.execute("COMMIT")
    conn.execute("VACUUM")
    conn.close()


def build_ward(spec: dict) -> dict:
    """Build one ward (or reuse a finished build with the same parameters); returns build.json."""
    out = Path(spec["out"])
    params = spec["params"]
    marker = out / "build.json"
    if marker.exists() and not spec["force"]:
        built = json.loads(marker.read_text())
        if built["params"] == params:
            return {**built, "reused": True}
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    db_path = out / "ward.sqlite"
    started = time.perf_counter()
    with open(out / "build.log", "w") as build_log, contextlib.redirect_stdout(build_log):
        until = dt.datetime.fromisoformat(spec["until"])
        n_seed = make_seed(out, params["unit"], seed=params["seed"], until=until)
        seed_s = time.perf_counter() - started
        plan = bwd.replicate(
            db_path,
            target=params["dossiers"],
            years=params["years"],
            seed=params["seed"],
            chunk=10_000,
        )
        derived = derive_columns(db_path)
        bwd.finish(db_path)
        bwd.check(db_path)
        chronological_outbox(db_path)
        checked = verify_outbox(out)
    conn = sqlite3.connect(db_path)
    span = conn.execute("SELECT min(received_at), max(received_at) FROM dossier").fetchone()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    built = {
        "params": params,
        "until": spec["until"],
        "seed_dossiers": n_seed,
        "seed_s": round(seed_s, 1),
        "build_s": round(time.perf_counter() - started, 1),
        "received": [span[0][:10], span[1][:10]],
        "copies": plan["copies"],
        "max_per_day": plan["max_per_day"],
        "derived_columns_set": derived,
        **checked,
        "size_bytes": db_path.stat().st_size,
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    marker.write_text(json.dumps(built, indent=2) + "\n")
    return {**built, "reused": False}


def schema_fingerprint() -> str:
    """A digest of the synced tables' wire columns and the ward's migration heads: a cached
    ward made before a schema change is rebuilt, so its payloads stay those of the code."""
    import hashlib

    from alembic.script import ScriptDirectory
    from flask_migrate import Config

    from wardapp.database import MIGRATIONS_DIR
    from wardapp.sync.protocol import SYNCED_MODELS, wire_columns

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    heads = sorted(ScriptDirectory.from_config(config).get_heads())
    columns = {name: [c.name for c in wire_columns(name)] for name in SYNCED_MODELS}
    payload_form = bwd.payload_text({"b": [1, "ư"], "a": None})
    return hashlib.sha256(json.dumps([heads, columns, payload_form]).encode()).hexdigest()[:12]


def ward_specs(profile: str, force: bool, out: Path = OUT) -> tuple[dict, list[dict]]:
    """The single ward's build and the city's, under ``out``/wards."""
    p = PROFILES[profile]
    until = seed_until(p["seed_day"]).isoformat()
    schema = schema_fingerprint()
    base = out / "wards"

    def spec(label, unit, dossiers, years, seed):
        return {
            "out": str(base / f"{profile}-{label}"),
            "until": until,
            "force": force,
            "params": {
                "version": BUILD_VERSION,
                "unit": unit,
                "dossiers": dossiers,
                "years": years,
                "seed": seed,
                "seed_day": p["seed_day"],
                "schema": schema,
            },
        }

    single = spec(f"single-{SINGLE_UNIT}", SINGLE_UNIT, p["single"], p["single_years"], 3000)
    units = CITY_UNITS[: p.get("units", len(CITY_UNITS))]
    share, extra = divmod(p["city"], len(units))
    city = [
        spec(f"city-{unit}", unit, share + (i < extra), p["city_years"], 2020 + i)
        for i, unit in enumerate(units)
    ]
    return single, city


def build_all(specs: list[dict]) -> list[dict]:
    todo = [s for s in specs if s["force"] or not _reusable(s)]
    if todo:
        log(
            f"-- building {len(todo)} ward database(s) under {Path(todo[0]['out']).parent} "
            f"(2 processes; each logs to its build.log) ..."
        )
    started = time.perf_counter()
    results = []
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        for spec, built in zip(specs, pool.map(build_ward, specs)):
            results.append(built)
            if not built["reused"]:
                log(
                    f"   {Path(spec['out']).name}: {built['params']['dossiers']:,} dossiers "
                    f"(seed {built['seed_dossiers']} in {built['seed_s']} s, "
                    f"{built['copies']} copies), {built['outbox_rows']:,} outbox rows, "
                    f"received {built['received'][0]} .. {built['received'][1]}, "
                    f"{built['size_bytes'] / 2**20:,.0f} MiB, built in {built['build_s']} s"
                )
    if todo:
        log(f"   built in {time.perf_counter() - started:.0f} s")
    return results


def _reusable(spec: dict) -> bool:
    marker = Path(spec["out"]) / "build.json"
    return marker.exists() and json.loads(marker.read_text())["params"] == spec["params"]


HISTORY_SOURCE = BENCH_DIR / "out" / "ward-200k"  # the desk benchmark's 20-year ward


def history_ward(out: Path = OUT) -> Path | None:
    """A copy of the desk benchmark's ward (``build_ward_db.py``), made once under ``out``, or
    None if that ward has not been built. Its 1.6 million outbox rows stand for 20 years of
    synced history."""
    source = HISTORY_SOURCE / "ward.sqlite"
    if not (HISTORY_SOURCE / "build.json").exists() or not source.exists():
        return None
    out = out / "wards" / "history-ward-200k"
    marker = out / "build.json"
    source_build = json.loads((HISTORY_SOURCE / "build.json").read_text())["built_at"]
    if marker.exists() and json.loads(marker.read_text())["source_built_at"] == source_build:
        return out
    log(f"-- copying {HISTORY_SOURCE} for the history scenario (once) ...")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(out / "ward.sqlite")
    src.backup(dst)
    src.close()
    dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    dst.close()
    shutil.copy2(HISTORY_SOURCE / "secret_key", out / "secret_key")
    marker.write_text(json.dumps({"source_built_at": source_build}) + "\n")
    return out
