"""Build (or reuse) the benchmark ward: 200,000 dossiers with their events and outbox rows.

    .venv/bin/python bench/build_ward_db.py [--dossiers 200000] [--seed 2020] [--force]

1. ``wardapp.cli.initialise`` makes the ward (Phường Mỹ Bình, 30280) and its admin; the demo
   accounts are added and every password is written to ``logins.json``.
2. A seed of real dossiers is generated through the service layer
   (``demo.city.generate_dossiers``, a few months up to ``--until``, default now).
3. The seed is replicated into earlier periods with plain SQL until the ward holds
   ``--dossiers`` dossiers: each copy is shifted back by a whole number of weeks (weekdays and
   office hours are kept; local time is UTC+7 all year), gets fresh uuids, a fresh request key,
   its code ``<agency>-<yyMMdd>-<NNNN>`` renumbered per local day, its logbook number renumbered
   per local calendar year, its folded ``search_text``, and the outbox rows the real write path
   would have left (one per dossier version and one per event). Copies of dossiers that were still
   open in the seed are first walked to "returned" (status 10) with the steps the desk would have
   taken, so the work lists hold only the seed's few open dossiers.
4. The FTS index is rebuilt (``wardapp.database.ensure_search_index(rebuild=True)``), then
   ``ANALYZE`` and ``PRAGMA optimize``.

Everything is seeded: the same ``--seed`` and ``--until`` give the same accounts, dossiers,
events, codes, uuids and timestamps (the app's ``uuid4()`` defaults are fed from a seeded
generator while the seed is made). Only the passwords (random, in ``logins.json``) and the
wall-clock columns of the seed's own rows (``updated_at``, outbox ``created_utc``, set by the app
to the time of the build) differ between builds.

A finished build leaves ``build.json``; a later run with the same parameters reuses the folder.
An unfinished or different one is deleted and built again.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import math
import random
import shutil
import sqlite3
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import benchlib  # bench/ is not a package: imported from this script's folder

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = BENCH_DIR / "out" / "ward-200k"
UNIT = "30280"
BUILD_VERSION = 2  # bump when the way the data is made changes

UTC = dt.UTC
DB_FMT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's DateTime stores values in SQLite
DOSSIER_TIMES = (
    "received_at",
    "due_at_original",
    "due_at",
    "due_at_revised",
    "paused_at",
    "resolved_at",
    "returned_at",
    "closed_at",
    "updated_at",
)
EVENT_DATA_TIMES = ("due_at_before", "due_at", "due_at_revised")
OPEN_IN_SEED = (2, 4, 5, 9)


def log(message: str) -> None:
    print(message, flush=True)


class Phases:
    def __init__(self):
        self.times: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        log(f"-- {name} ...")
        start = time.perf_counter()
        yield
        self.times[name] = time.perf_counter() - start
        log(f"   {name}: {self.times[name]:.1f} s")


def file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def parse_db_time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value).replace(tzinfo=UTC)


def parse_iso(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


# --- 1 + 2: the ward and its seed, through the app ---------------------------------------------


@contextlib.contextmanager
def seeded_uuid4(rng: random.Random):
    """Make the app's ``uuid.uuid4()`` defaults reproducible while the seed is generated."""
    original = uuid.uuid4
    uuid.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)
    try:
        yield
    finally:
        uuid.uuid4 = original


def make_seed(out: Path, *, months: int, seed: int, until: dt.datetime) -> int:
    from demo.city import create_demo_users, demo_passwords, generate_dossiers
    from wardapp.cli import initialise
    from wardapp.extensions import db

    logins = demo_passwords()
    with seeded_uuid4(random.Random(f"uuid-{seed}")):
        app, ward = initialise(str(out), UNIT, "admin", logins["admin"])
        (out / "logins.json").write_text(json.dumps(logins, indent=2) + "\n")
        (out / "logins.json").chmod(0o600)
        with app.app_context():
            create_demo_users(ward["code"], logins)
            total = generate_dossiers(months=months, seed=seed, until=until)
            db.session.remove()
            db.engine.dispose()
    return total


# --- 3: templates of the seed dossiers -----------------------------------------------------------


class Template:
    """One seed dossier in a form that copies cheaply: its header row, its events and the
    outbox rows its writes left, with every timestamp as an aware datetime."""

    __slots__ = ("hdr", "events", "outbox", "times")

    def __init__(self, hdr, events, outbox):
        self.hdr = hdr  # column -> value (datetimes parsed)
        self.events = events  # list of column -> value (at parsed, data parsed)
        self.outbox = outbox  # list of [table, event position or None, version, payload, when]
        self.times: list[dt.datetime] = []

    def collect_times(self) -> None:
        found = set()
        for c in DOSSIER_TIMES:
            if self.hdr[c] is not None:
                found.add(self.hdr[c])
        for e in self.events:
            found.add(e["at"])
            found.update(v for k, v in e["data"].items() if k in EVENT_DATA_TIMES and v)
        for _, _, _, payload, when in self.outbox:
            found.add(when)
            for c in DOSSIER_TIMES + ("at",):
                if payload.get(c) is not None:
                    found.add(payload[c])
            data = payload.get("data")
            if isinstance(data, dict):
                found.update(v for k, v in data.items() if k in EVENT_DATA_TIMES and v)
        self.times = sorted(found)


def parse_event_data(data: dict) -> dict:
    return {
        k: (parse_iso(v) if k in EVENT_DATA_TIMES and isinstance(v, str) else v)
        for k, v in data.items()
    }


def load_templates(conn: sqlite3.Connection) -> list[Template]:
    conn.row_factory = sqlite3.Row
    dossiers = [dict(r) for r in conn.execute("SELECT * FROM dossier ORDER BY received_at, code")]
    events: dict[str, list[dict]] = {}
    event_owner: dict[str, tuple[str, int]] = {}
    for r in conn.execute("SELECT * FROM dossier_event ORDER BY dossier_uuid, position"):
        e = dict(r)
        e["at"] = parse_db_time(e["at"])
        e["data"] = parse_event_data(json.loads(e["data"]))
        events.setdefault(e["dossier_uuid"], []).append(e)
        event_owner[e["uuid"]] = (e["dossier_uuid"], e["position"])
    outbox: dict[str, list] = {}
    for r in conn.execute(
        "SELECT * FROM outbox WHERE table_name IN ('dossier', 'dossier_event') ORDER BY seq"
    ):
        payload = json.loads(r["payload"])
        if r["table_name"] == "dossier":
            owner, position = r["record_uuid"], None
            for c in DOSSIER_TIMES:
                payload[c] = parse_iso(payload[c])
        else:
            owner, position = event_owner[r["record_uuid"]]
            payload["at"] = parse_iso(payload["at"])
            payload["data"] = parse_event_data(payload["data"])
        outbox.setdefault(owner, []).append(
            [r["table_name"], position, r["record_version"], payload, None]
        )
    conn.row_factory = None
    templates = []
    for d in dossiers:
        for c in DOSSIER_TIMES:
            d[c] = parse_db_time(d[c])
        evs = events[d["uuid"]]
        rows = outbox[d["uuid"]]
        at_of = {e["position"]: e["at"] for e in evs}
        for row in rows:
            # The write's time: its event's, or for dossier version v the v-th event's (each step
            # writes the dossier and one event together; checked when the seed was made).
            position = row[1] if row[1] is not None else min(row[2], len(evs))
            row[4] = at_of[position]
        templates.append(Template(d, evs, rows))
    return templates


def boolean_columns(table: str) -> list[str]:
    import sqlalchemy as sa

    from wardapp.extensions import db

    return [c.name for c in db.metadata.tables[table].columns if isinstance(c.type, sa.Boolean)]


def previous_working_day(calendar, day: dt.date) -> dt.date:
    day -= dt.timedelta(days=1)
    while not calendar.is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


def close_template(t: Template, rng: random.Random, calendar, officers: list[str]) -> int:
    """Walk a dossier that was open in the seed to "returned" with the desk's usual steps,
    appending the events and the outbox rows those steps write. Returns the steps added."""
    from kernel.workdays import local_datetime, timeliness, to_local

    h = t.hdr
    desk = h["received_by_uuid"]
    added = 0
    booleans = boolean_columns("dossier")  # SQLite holds them as 0/1, the snapshot as JSON

    def work_time(day: dt.date) -> dt.datetime:
        return local_datetime(day, dt.time(rng.randint(8, 16), rng.randint(0, 59)))

    def add(kind, at, actor, *, to_user=None, step_timeliness=None, data=None):
        nonlocal added
        position = len(t.events) + 1
        event = {
            "uuid": None,
            "ward_code": h["ward_code"],
            "dossier_uuid": h["uuid"],
            "position": position,
            "kind": kind,
            "at": at,
            "actor_uuid": actor,
            "to_user_uuid": to_user,
            "status_after": h["status"],
            "step_timeliness": step_timeliness,
            "reason": "",
            "data": data or {},
            "version": 1,
        }
        t.events.append(event)
        h["version"] += 1
        h["updated_at"] = at
        payload = {k: v for k, v in h.items() if k != "search_text"}
        payload["documents"] = json.loads(h["documents"])
        for c in booleans:
            payload[c] = None if payload[c] is None else bool(payload[c])
        event_payload = dict(event)
        t.outbox.append(["dossier_event", position, 1, event_payload, at])
        t.outbox.append(["dossier", None, h["version"], payload, at])
        added += 1

    last = t.events[-1]["at"]
    if h["status"] == 2:
        at = last + dt.timedelta(minutes=rng.randint(5, 40))
        officer = rng.choice(officers)
        h["assignee_uuid"], h["status"] = officer, 4
        add("handed_over", at, desk, to_user=officer, step_timeliness=timeliness(at, h["due_at"]))
        last = at
    if h["status"] == 5:
        day = calendar.add_working_days(to_local(h["paused_at"]).date(), rng.randint(1, 3))
        at = max(work_time(day), last + dt.timedelta(minutes=30))
        before = h["due_at"]
        h["due_at"] = calendar.extend_for_pause(before, h["paused_at"], at)
        h["paused_at"], h["status"] = None, 4
        add("supplement_received", at, desk, data={"due_at_before": before, "due_at": h["due_at"]})
        last = at
    if h["status"] == 4:
        day = to_local(h["due_at"]).date()
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            day = previous_working_day(calendar, day)
        at = max(work_time(day), last + dt.timedelta(minutes=10))
        h["resolved_at"], h["timeliness"], h["status"] = at, timeliness(at, h["due_at"]), 9
        add("resolved", at, h["assignee_uuid"], step_timeliness=h["timeliness"])
        last = at
    if h["status"] == 9:
        day = calendar.add_working_days(
            to_local(h["resolved_at"]).date(), rng.choice((0, 0, 1, 1, 2, 3))
        )
        at = max(work_time(day), last + dt.timedelta(minutes=15))
        h["returned_at"] = h["closed_at"] = at
        h["status"] = 10
        add(
            "returned",
            at,
            desk,
            data={"return_method": h["return_method"]},
            step_timeliness=timeliness(at, h["due_at_revised"] or h["due_at"]),
        )
    return added


# --- 4: replication -------------------------------------------------------------------------------


def plan_copies(templates: list[Template], target: int, years: float):
    """Which seed dossier goes to which week shift, oldest first; with code and logbook numbers.

    Copy k (1..C) is the whole seed shifted back by ``base + (k-1)*step`` weeks, where ``base``
    puts copy 1 just before the seed starts and ``step`` spreads the C copies over ``years``.
    Copies overlap where ``step`` is shorter than the seed, which doubles a day's intake (a busy
    ward). The oldest copy is cut to its latest dossiers so that the total is exactly ``target``.
    """
    from kernel.workdays import to_local

    n = len(templates)
    needed = target - n
    copies = math.ceil(needed / n)
    # The seed ends with the last step of any of its dossiers, which the open ones closed after
    # today reach only weeks after the last receipt: copy 1 must end before the seed starts.
    first = templates[0].hdr["received_at"]
    last = max(t.times[-1] for t in templates)
    base = (last - first).days // 7 + 1
    step = max(1, round((years * 365.25 / 7 - base) / max(copies - 1, 1)))
    remainder = needed - (copies - 1) * n
    entries = []
    for k in range(1, copies + 1):
        weeks = base + (k - 1) * step
        chosen = range(n) if k < copies else range(n - remainder, n)
        for i in chosen:
            entries.append((templates[i].hdr["received_at"] - dt.timedelta(weeks=weeks), weeks, i))
    entries.sort()
    numbered = []
    day_counts: dict[dt.date, int] = {}
    year_counts: dict[int, int] = {}
    for received, weeks, i in entries:
        local = to_local(received)
        day_counts[local.date()] = day_counts.get(local.date(), 0) + 1
        year_counts[local.year] = year_counts.get(local.year, 0) + 1
        numbered.append(
            (
                received,
                weeks,
                i,
                f"{local:%y%m%d}",
                day_counts[local.date()],
                year_counts[local.year],
            )
        )
    if max(day_counts.values()) > 9999:
        raise SystemExit("more than 9999 dossiers on one day; use a longer --years")
    return numbered, {
        "copies": copies,
        "base_weeks": base,
        "step_weeks": step,
        "max_per_day": max(day_counts.values()),
        "year_counts": year_counts,
        "first_day": min(day_counts).isoformat(),
    }


def copies_end(templates: list[Template], plan: dict) -> dt.datetime:
    """The last moment of any copy: copy 1, the nearest, ends ``base_weeks`` before the seed's
    last step. The seed may end after now (its open dossiers are closed in the copies weeks
    after their receipt), its copies must not: ``base_weeks`` puts copy 1 before the seed's
    first receipt, which is in the past on any day."""
    return max(t.times[-1] for t in templates) - dt.timedelta(weeks=plan["base_weeks"])


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def copy_rating_code(rng: random.Random, given: set[str]) -> str:
    """A rating code for a copy (each dossier's is unique), drawn from ``rng`` so the build
    repeats; only for code that has rating codes (``--code-at`` may measure older code)."""
    from wardapp.rating_codes import ALPHABET, RANDOM_LENGTH, check_character

    while True:
        body = "".join(rng.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
        code = body + check_character(body)
        if code not in given:
            given.add(code)
            return code


def copy_rows(
    t: Template,
    weeks: int,
    code: str,
    logbook: int,
    rng: random.Random,
    dossier_cols: list[str],
    event_cols: list[str],
    rating_codes: set[str],
):
    """The dossier row, event rows and outbox rows of one copy of ``t``; ``rating_codes``
    holds the rating codes given so far."""
    from wardapp.dossiers.service import search_text_for

    delta = dt.timedelta(weeks=weeks)
    db_time = {}
    iso = {}
    for moment in t.times:
        shifted = moment - delta
        db_time[moment] = shifted.strftime(DB_FMT)
        iso[moment] = shifted.isoformat()
    h = t.hdr
    d_uuid = new_uuid(rng)
    request_key = uuid.UUID(int=rng.getrandbits(128)).hex
    last_write = t.outbox[-1][4]
    values = dict(h)
    for c in DOSSIER_TIMES:
        if values[c] is not None:
            values[c] = db_time[values[c]]
    values.update(
        uuid=d_uuid,
        code=code,
        request_key=request_key,
        logbook_number=logbook,
        updated_at=db_time[last_write],
    )
    copied = {"rating_code": copy_rating_code(rng, rating_codes)} if "rating_code" in h else {}
    values.update(copied)
    values["search_text"] = search_text_for(
        SimpleNamespace(
            code=code,
            applicant_name=h["applicant_name"],
            citizen_id=h["citizen_id"],
            phone=h["phone"],
        )
    )
    dossier_row = tuple(values[c] for c in dossier_cols)

    event_uuids = {}
    event_rows = []
    for e in t.events:
        e_uuid = new_uuid(rng)
        event_uuids[e["position"]] = e_uuid
        ev = dict(e)
        ev.update(uuid=e_uuid, dossier_uuid=d_uuid, at=db_time[e["at"]])
        ev["data"] = json.dumps(shift_data(e["data"], iso), ensure_ascii=False, sort_keys=True)
        event_rows.append(tuple(ev[c] for c in event_cols))

    outbox_rows = []
    for table, position, version, payload, when in t.outbox:
        p = dict(payload)
        if table == "dossier":
            for c in DOSSIER_TIMES:
                if p[c] is not None:
                    p[c] = iso[p[c]]
            p.update(
                uuid=d_uuid,
                code=code,
                request_key=request_key,
                logbook_number=logbook,
                updated_at=iso[when],
                **copied,
            )
            record = d_uuid
        else:
            record = event_uuids[position]
            p.update(
                uuid=record, dossier_uuid=d_uuid, at=iso[p["at"]], data=shift_data(p["data"], iso)
            )
        text = payload_text(p)
        outbox_rows.append(
            (
                table,
                record,
                "upsert",
                version,
                text,
                hashlib.sha256(text.encode()).hexdigest(),
                db_time[when],
            )
        )
    return dossier_row, event_rows, outbox_rows


def payload_text(value) -> str:
    """An outbox payload as the measured code stores it (``--code-at`` may measure a release
    from before payloads were stored canonical)."""
    try:
        from wardapp.sync.protocol import canonical_text
    except ImportError:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return canonical_text(value)


def shift_data(data: dict, iso: dict) -> dict:
    if not data:
        return data
    return {k: (iso[v] if isinstance(v, dt.datetime) else v) for k, v in data.items()}


def renumber_seed_logbook(
    conn: sqlite3.Connection, year_counts: dict[int, int], seed_max_rowid: int
) -> int:
    """Copies of a year the seed also covers come before the seed's dossiers of that year in
    time, so the seed's logbook lines of that year move down by the copies' count (and the
    outbox snapshots of those dossiers with them)."""
    from kernel.workdays import local_datetime

    moved = 0
    for year, count in sorted(year_counts.items()):
        start = local_datetime(dt.date(year, 1, 1), dt.time(0)).strftime(DB_FMT)
        end = local_datetime(dt.date(year + 1, 1, 1), dt.time(0)).strftime(DB_FMT)
        seed = [
            r[0]
            for r in conn.execute(
                "SELECT uuid FROM dossier"
                " WHERE received_at >= ? AND received_at < ? AND rowid <= ?",
                (start, end, seed_max_rowid),
            )
        ]
        if not seed:
            continue
        conn.execute(
            "UPDATE dossier SET logbook_number = logbook_number + ? "
            "WHERE received_at >= ? AND received_at < ? AND rowid <= ?",
            (count, start, end, seed_max_rowid),
        )
        updates = []
        for seq, payload in conn.execute(
            "SELECT seq, payload FROM outbox WHERE table_name = 'dossier' AND record_uuid IN "
            "(SELECT value FROM json_each(?))",
            (json.dumps(seed),),
        ):
            p = json.loads(payload)
            p["logbook_number"] += count
            text = payload_text(p)
            updates.append((text, hashlib.sha256(text.encode()).hexdigest(), seq))
        conn.executemany("UPDATE outbox SET payload = ?, payload_sha256 = ? WHERE seq = ?", updates)
        moved += len(seed)
    return moved


def replicate(db_path: Path, *, target: int, years: float, seed: int, chunk: int) -> dict:
    from wardapp import create_app
    from wardapp.dossiers.service import load_calendar

    app = create_app(instance_path=str(db_path.parent))
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")  # a benchmark artefact: rebuilt if interrupted
    conn.execute("PRAGMA cache_size=-262144")  # 256 MiB while loading
    conn.execute("PRAGMA temp_store=MEMORY")
    seed_max_rowid = conn.execute("SELECT max(rowid) FROM dossier").fetchone()[0]
    dossier_cols = [r[1] for r in conn.execute("PRAGMA table_info(dossier)")]
    event_cols = [r[1] for r in conn.execute("PRAGMA table_info(dossier_event)")]
    officers = [
        r[0]
        for r in conn.execute(
            "SELECT uuid FROM user WHERE active AND ' ' || roles || ' ' LIKE '% officer %' "
            "ORDER BY username"
        )
    ]
    agency = conn.execute(
        "SELECT u.agency_code FROM sync_node s JOIN unit u ON u.code = s.ward_code"
    ).fetchone()[0]

    templates = load_templates(conn)
    rng = random.Random(f"close-{seed}")
    closed = steps = 0
    with app.app_context():
        calendar = load_calendar()
        for t in templates:
            if t.hdr["status"] in OPEN_IN_SEED:
                steps += close_template(t, rng, calendar, officers)
                closed += 1
    for t in templates:
        t.collect_times()
    entries, plan = plan_copies(templates, target, years)
    assert copies_end(templates, plan) < benchlib.now(), "a copy would end in the future"
    log(
        f"   seed: {len(templates)} dossiers ({closed} open ones closed in their copies, "
        f"{steps} steps added); {plan['copies']} copies, shifted back {plan['base_weeks']} weeks "
        f"+ {plan['step_weeks']} weeks per copy; first day {plan['first_day']}, "
        f"at most {plan['max_per_day']} dossiers a day"
    )

    rng = random.Random(f"copies-{seed}")
    d_sql = (
        f"INSERT INTO dossier ({', '.join(dossier_cols)}) "
        f"VALUES ({', '.join('?' * len(dossier_cols))})"
    )
    e_sql = (
        f"INSERT INTO dossier_event ({', '.join(event_cols)}) "
        f"VALUES ({', '.join('?' * len(event_cols))})"
    )
    o_sql = (
        "INSERT INTO outbox (table_name, record_uuid, op, record_version, payload, "
        "payload_sha256, created_utc) VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    written = {"dossier": 0, "dossier_event": 0, "outbox": 0}
    rating_codes = (
        {
            r[0]
            for r in conn.execute("SELECT rating_code FROM dossier WHERE rating_code IS NOT NULL")
        }
        if "rating_code" in dossier_cols
        else set()
    )
    started = time.perf_counter()
    for offset in range(0, len(entries), chunk):
        d_rows, e_rows, o_rows = [], [], []
        for _received, weeks, i, day, number, logbook in entries[offset : offset + chunk]:
            d, es, os_ = copy_rows(
                templates[i],
                weeks,
                f"{agency}-{day}-{number:04d}",
                logbook,
                rng,
                dossier_cols,
                event_cols,
                rating_codes,
            )
            d_rows.append(d)
            e_rows += es
            o_rows += os_
        conn.execute("BEGIN")
        conn.executemany(d_sql, d_rows)
        conn.executemany(e_sql, e_rows)
        conn.executemany(o_sql, o_rows)
        conn.execute("COMMIT")
        written["dossier"] += len(d_rows)
        written["dossier_event"] += len(e_rows)
        written["outbox"] += len(o_rows)
        done = offset + len(d_rows)
        rate = done / (time.perf_counter() - started)
        log(f"   {done:>7,}/{len(entries):,} copies ({rate:,.0f}/s)")
    conn.execute("BEGIN")
    moved = renumber_seed_logbook(conn, plan["year_counts"], seed_max_rowid)
    conn.execute("COMMIT")
    log(f"   seed logbook lines moved after the copies of their year: {moved}")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {
        **written,
        **{k: v for k, v in plan.items() if k != "year_counts"},
        "seed_closed_in_copies": closed,
    }


# --- 5: indexes, statistics, report ---------------------------------------------------------------


def finish(db_path: Path) -> None:
    from wardapp import create_app
    from wardapp.database import ensure_search_index
    from wardapp.extensions import db

    app = create_app(instance_path=str(db_path.parent))
    with app.app_context():
        ensure_search_index(rebuild=True)
        db.engine.dispose()
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("ANALYZE")
    conn.execute("PRAGMA optimize")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def check(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    problems = conn.execute("PRAGMA foreign_key_check").fetchall()
    assert not problems, problems[:5]
    dup = conn.execute("SELECT count(*) - count(DISTINCT code) FROM dossier").fetchone()[0]
    assert dup == 0
    bad = conn.execute("""SELECT count(*) FROM dossier d WHERE d.version !=
                          (SELECT count(*) FROM dossier_event e WHERE e.dossier_uuid = d.uuid)
                          """).fetchone()[0]
    assert bad == 0, f"{bad} dossiers whose version differs from their event count"
    conn.close()


def report(db_path: Path) -> dict:

    from kernel.columns import utcnow
    from kernel.statuses import STATUS_LABELS
    from wardapp import create_app
    from wardapp.dossiers.queries import home_counters, work_list_counts
    from wardapp.dossiers.service import load_calendar
    from wardapp.extensions import db

    conn = sqlite3.connect(db_path)
    counts = {
        t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
        for t in ("dossier", "dossier_event", "outbox", "user")
    }
    statuses = dict(conn.execute("SELECT status, count(*) FROM dossier GROUP BY status"))
    span = conn.execute("SELECT min(received_at), max(received_at) FROM dossier").fetchone()
    sizes = (
        dict(
            conn.execute(
                "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 8"
            )
        )
        if _has_dbstat(conn)
        else {}
    )
    conn.close()
    app = create_app(instance_path=str(db_path.parent))
    with app.app_context():
        now = utcnow()
        lists = work_list_counts(now, load_calendar())
        counters = home_counters(now)
        db.engine.dispose()
    size = file_size(db_path)
    log(
        f"   rows: {counts['dossier']:,} dossiers, {counts['dossier_event']:,} events, "
        f"{counts['outbox']:,} outbox rows, {counts['user']} accounts"
    )
    log(f"   received {span[0][:10]} .. {span[1][:10]}")
    log(
        "   status: "
        + ", ".join(f"{STATUS_LABELS[s]} ({s}) {n:,}" for s, n in sorted(statuses.items()))
    )
    log("   work lists now: " + ", ".join(f"{k} {v}" for k, v in lists.items()))
    log("   home counters now: " + ", ".join(f"{k} {v}" for k, v in counters.items()))
    if sizes:
        log("   largest tables/indexes: " + ", ".join(f"{k} {mib(v)}" for k, v in sizes.items()))
    log(f"   database file: {db_path} {mib(size)}")
    return {"counts": counts, "statuses": statuses, "work_lists": lists, "size_bytes": size}


def _has_dbstat(conn) -> bool:
    try:
        conn.execute("SELECT 1 FROM dbstat LIMIT 1")
        return True
    except sqlite3.OperationalError:
        return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="instance folder")
    parser.add_argument("--dossiers", type=int, default=200_000)
    parser.add_argument("--years", type=float, default=20.0, help="span the copies fill")
    parser.add_argument("--months", type=int, default=3, help="months of seed (service layer)")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument(
        "--until", help="end of the seed, ISO time with its zone (default: now, to the minute)"
    )
    parser.add_argument("--chunk", type=int, default=10_000, help="dossiers per transaction")
    parser.add_argument("--force", action="store_true", help="rebuild even if complete")
    args = parser.parse_args(argv)

    out: Path = args.out.resolve()
    db_path = out / "ward.sqlite"
    marker = out / "build.json"
    params = {
        "version": BUILD_VERSION,
        "dossiers": args.dossiers,
        "years": args.years,
        "months": args.months,
        "seed": args.seed,
    }
    if args.until:
        params["until"] = args.until
    if marker.exists() and db_path.exists() and not args.force:
        built = json.loads(marker.read_text())
        if {k: built["params"].get(k) for k in params} == params:
            log(
                f"Reusing the complete benchmark ward at {out} (built {built['built_at']}; "
                "--force to rebuild)"
            )
            report(db_path)
            return 0
        log("The existing build was made with other parameters; rebuilding.")
    if out.exists():
        shutil.rmtree(out)

    until = dt.datetime.fromisoformat(args.until) if args.until else benchlib.now()
    if until.tzinfo is None:
        raise SystemExit("--until needs a time zone, e.g. 2026-11-26T14:00+07:00")
    phase = Phases()
    total_start = time.perf_counter()
    with phase("seed through the service layer"):
        n_seed = make_seed(out, months=args.months, seed=args.seed, until=until)
        log(f"   {n_seed} dossiers over {args.months} months up to {until.isoformat()}")
    with phase("replicate into earlier periods"):
        plan = replicate(
            db_path, target=args.dossiers, years=args.years, seed=args.seed, chunk=args.chunk
        )
    with phase("search index, ANALYZE, optimize"):
        finish(db_path)
    with phase("check"):
        check(db_path)
    with phase("report"):
        result = report(db_path)
    total = time.perf_counter() - total_start
    marker.write_text(
        json.dumps(
            {
                "params": params,
                "built_at": dt.datetime.now(UTC).isoformat(timespec="seconds"),
                "until": until.isoformat(),
                "seed_dossiers": n_seed,
                "plan": plan,
                "phases_s": {k: round(v, 1) for k, v in phase.times.items()},
                "total_s": round(total, 1),
                **result,
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    log("")
    log(f"Built in {total:.0f} s: " + "; ".join(f"{k} {v:.1f} s" for k, v in phase.times.items()))
    log(f"Benchmark ward: {out} ({mib(result['size_bytes'])}); logins in {out / 'logins.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
