"""Sync speed: ward outboxes pushed to a real city hub through waitress, and the hub's apply rate.

    .venv/bin/python bench/bench_sync.py [--quick] [--code-at REV] [--wait-idle MINUTES]
        [--only single|history|city|apply] [--profile] [--rebuild] [--build-only]
        [--hub-command CMD] [--ward-command CMD]

Ward databases are built once and cached under ``bench/out/sync/wards/`` (about 3 minutes the
first time; ``--quick`` uses smaller ones of its own). Each is made like ``build_ward_db.py``
makes the desk benchmark's ward: ``wardapp.cli.initialise`` for the unit and the demo accounts, a
seed of real dossiers through the service layer (``demo.city.generate_dossiers``), then the
seed replicated into earlier weeks with ``build_ward_db.replicate``, which writes the outbox rows
the real write path would have left. Columns the app derives at a step and the copy does not
know are filled in (``working_days_used``), and the outbox is put in the order the writes
happened. The build then checks every synced record against its outbox rows: one row per
version, and the newest row's payload byte for byte what ``wardapp.outbox.outbox_row`` makes
from the record now. A change of the synced columns or of the ward's migrations rebuilds.

Every run works on fresh copies of the wards and a fresh hub, under ``bench/out/sync/run/``:

  (1) one ward's 30-day outage backlog (1,500 dossiers with their events): ``city-hub serve``
      (8 threads) as a subprocess, ``city-hub ward add``, ``wardapp sync configure``, then one
      ``wardapp sync --no-delay`` process, timed from its start to its exit. A second run with
      nothing to push shows the fixed cost (start-up, hello, refdata check);
  (1b) the same number of records on the desk benchmark's 20-year ward (``bench/out/ward-200k``,
      if built), whose earlier 1.6 million outbox rows count as synced already;
  (2) the city's 9-month backlog: 13 wards, 93,316 dossiers, pushed by 13 concurrent
      ``wardapp sync --no-delay`` processes to a fresh hub; wall time until the last exits, the
      hub's peak RSS (VmHWM) and the CPU time of the hub, the wards and everything else;
  (3) the hub's apply rate: in-process, the batches a ward would send (``make_batch``, 1,000
      records, superseded versions as placeholders) applied with ``apply_batch`` in one write
      transaction each, as the push route does, against a fresh hub database; then the rows
      ``apply_batch`` wrote, as it wrote them (INSERT of new records, UPDATE of newer versions),
      with one plain ``executemany`` per table and statement in one transaction into another
      fresh hub database. The ratio of the rates (best of three runs of each);
  (4) bytes on the wire per record: the gzip batch bodies (``protocol.encode``) of (3) summed,
      divided by the records.

Figures are printed next to their targets; nothing is asserted. ``--code-at REV`` measures a
commit (exported with ``git archive``) instead of the working tree. ``--hub-command`` and
``--ward-command`` run another command in place of ``.venv/bin/city-hub``/``wardapp`` (a
wrapper that patches in a candidate fix). ``--profile`` also prints a cProfile of the apply
path (3) and of one ward's whole sync run in-process (``SyncRun``).
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import gc
import io
import json
import os
import pstats
import random
import resource
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = ROOT / ".venv" / "bin"
OUT = BENCH_DIR / "out" / "sync"
sys.path.insert(0, str(BENCH_DIR))

import benchlib  # bench/ is not a package: imported from its path
import build_ward_db as bwd
from benchlib import proc_status

BUILD_VERSION = 3  # bump when the way the wards are made changes
# The 13 units of Long Xuyên (11 phường, 2 xã), as in wardapp/refdata/units.json.
CITY_UNITS = ["30280", "30283", "30285", "30286", "30289", "30292", "30295", "30298", "30301",
              "30304", "30307", "30310", "30313"]
SINGLE_UNIT = "30280"
PROFILES = {
    # dossiers: single ward, whole city; years: how far back the copies reach;
    # seed_day: the seed runs from the 1st of last month to this day of it (17:30 local).
    "full": {"single": 1_500, "city": 93_316, "single_years": 0.08, "city_years": 0.69,
             "seed_day": 21},
    "quick": {"single": 400, "city": 13 * 600, "single_years": 0.08, "city_years": 0.2,
              "seed_day": 7},
}
TARGET_SINGLE_S = 5.0
TARGET_CITY_S = 60.0
TARGET_HUB_RSS_MB = 300.0
TARGET_RATIO = 0.3
HUB_THREADS = 8
# The commands run as subprocesses; --hub-command/--ward-command replace them (to try a fix).
COMMANDS = {"city-hub": [str(VENV_BIN / "city-hub")], "wardapp": [str(VENV_BIN / "wardapp")]}


def log(message: str = "") -> None:
    print(message, flush=True)


def mark(ok: bool) -> str:
    return "ok" if ok else "OVER"


def mb(n_bytes: float) -> float:
    return n_bytes / 1e6


def code_version() -> str:
    if os.environ.get("BENCH_SYNC_CODE"):
        return (f"{os.environ['BENCH_SYNC_CODE']} (exported to "
                f"{Path(os.environ['PYTHONPATH']).relative_to(ROOT)}, not the working tree)")
    return benchlib.code_version()


# --- Building the wards ---------------------------------------------------------------------

def seed_until(day: int, now: dt.datetime | None = None) -> dt.datetime:
    """17:30 local on ``day`` of last month: a fixed end for the seed within a month."""
    from kernel.workdays import local_datetime, to_local

    today = to_local(now or dt.datetime.now(dt.UTC)).date()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=day)
    return local_datetime(last_month, dt.time(17, 30))


def make_seed(out: Path, unit: str, *, seed: int, until: dt.datetime) -> int:
    """``build_ward_db.make_seed`` for any unit: the ward, its accounts and one month's seed."""
    from wardapp.cli import initialise
    from demo.city import create_demo_users, demo_passwords, generate_dossiers
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

    from wardapp import create_app
    from wardapp.extensions import db
    from kernel.columns import utcnow
    from wardapp.outbox import outbox_row
    from wardapp.sync.protocol import SYNCED_MODELS

    conn = sqlite3.connect(out / "ward.sqlite")
    versions: dict[tuple[str, str], list[int]] = {}
    newest: dict[tuple[str, str], tuple[str, str]] = {}
    bad_sha = acked = rows = 0
    for table, uuid, version, payload, sha, ack in conn.execute(
            "SELECT table_name, record_uuid, record_version, payload, payload_sha256, "
            "acked_at_utc FROM outbox ORDER BY seq"):
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
                    problems.append(f"{name} {record.uuid}: versions {versions.get(key)} "
                                    f"for version {record.version}")
                elif newest[key][0] != outbox_row(record, now)["payload"]:
                    problems.append(f"{name} {record.uuid}: newest payload differs")
                versions.pop(key, None)
            db.session.expunge_all()
        db.session.remove()
        db.engine.dispose()
    if versions:
        problems.append(f"{len(versions)} outbox records without a record, e.g. "
                        f"{next(iter(versions))}")
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
                "working_days_used FROM dossier WHERE resolved_at IS NOT NULL"):
            value = service.working_days_used(SimpleNamespace(
                received_at=bwd.parse_db_time(received),
                due_at_original=bwd.parse_db_time(due_original), due_at=bwd.parse_db_time(due)),
                bwd.parse_db_time(resolved), calendar)
            if value != stored:
                changed[uuid] = value
    conn.execute("BEGIN")
    conn.executemany("UPDATE dossier SET working_days_used = ? WHERE uuid = ?",
                     [(v, u) for u, v in changed.items()])
    updates = []
    for seq, uuid, payload in conn.execute(
            "SELECT seq, record_uuid, payload FROM outbox WHERE table_name = 'dossier' AND "
            "record_uuid IN (SELECT value FROM json_each(?))", (json.dumps(list(changed)),)):
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
    conn.execute("INSERT INTO outbox SELECT rowid, table_name, record_uuid, op, record_version, "
                 "payload, payload_sha256, created_utc, acked_at_utc FROM sorted_outbox "
                 "ORDER BY rowid")
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
        plan = bwd.replicate(db_path, target=params["dossiers"], years=params["years"],
                             seed=params["seed"], chunk=10_000)
        derived = derive_columns(db_path)
        bwd.finish(db_path)
        bwd.check(db_path)
        chronological_outbox(db_path)
        checked = verify_outbox(out)
    conn = sqlite3.connect(db_path)
    span = conn.execute("SELECT min(received_at), max(received_at) FROM dossier").fetchone()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    built = {"params": params, "until": spec["until"], "seed_dossiers": n_seed,
             "seed_s": round(seed_s, 1), "build_s": round(time.perf_counter() - started, 1),
             "received": [span[0][:10], span[1][:10]], "copies": plan["copies"],
             "max_per_day": plan["max_per_day"], "derived_columns_set": derived, **checked,
             "size_bytes": db_path.stat().st_size,
             "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
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


def ward_specs(profile: str, force: bool) -> tuple[dict, list[dict]]:
    p = PROFILES[profile]
    until = seed_until(p["seed_day"]).isoformat()
    schema = schema_fingerprint()
    base = OUT / "wards"

    def spec(label, unit, dossiers, years, seed):
        return {"out": str(base / f"{profile}-{label}"), "until": until, "force": force,
                "params": {"version": BUILD_VERSION, "unit": unit, "dossiers": dossiers,
                           "years": years, "seed": seed, "seed_day": p["seed_day"],
                           "schema": schema}}

    single = spec(f"single-{SINGLE_UNIT}", SINGLE_UNIT, p["single"], p["single_years"], 3000)
    share, extra = divmod(p["city"], len(CITY_UNITS))
    city = [spec(f"city-{unit}", unit, share + (i < extra), p["city_years"], 2020 + i)
            for i, unit in enumerate(CITY_UNITS)]
    return single, city


def build_all(specs: list[dict]) -> list[dict]:
    todo = [s for s in specs if s["force"] or not _reusable(s)]
    if todo:
        log(f"-- building {len(todo)} ward database(s) under {OUT / 'wards'} "
            f"(2 processes; each logs to its build.log) ...")
    started = time.perf_counter()
    results = []
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        for spec, built in zip(specs, pool.map(build_ward, specs)):
            results.append(built)
            if not built["reused"]:
                log(f"   {Path(spec['out']).name}: {built['params']['dossiers']:,} dossiers "
                    f"(seed {built['seed_dossiers']} in {built['seed_s']} s, "
                    f"{built['copies']} copies), {built['outbox_rows']:,} outbox rows, "
                    f"received {built['received'][0]} .. {built['received'][1]}, "
                    f"{built['size_bytes'] / 2**20:,.0f} MiB, built in {built['build_s']} s")
    if todo:
        log(f"   built in {time.perf_counter() - started:.0f} s")
    return results


def _reusable(spec: dict) -> bool:
    marker = Path(spec["out"]) / "build.json"
    return marker.exists() and json.loads(marker.read_text())["params"] == spec["params"]


# --- Processes: the hub and the wards ---------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, timeout: float = 120) -> str:
    done = subprocess.run([*COMMANDS[args[0]], *args[1:]], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): "
                           f"{done.stdout[-500:]} {done.stderr[-1500:]}")
    return done.stdout


def machine_cpu_s() -> float:
    """CPU seconds the whole machine has been busy (all CPUs), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def others_busy(seconds: float = 3.0) -> float:
    """How many CPUs other processes keep busy, measured over ``seconds``."""
    machine, own = machine_cpu_s(), own_cpu_s()
    time.sleep(seconds)
    return max(machine_cpu_s() - machine - (own_cpu_s() - own), 0) / seconds


def own_cpu_s() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


class Hub:
    """A fresh hub instance: ``city-hub init``, ``ward add`` per ward, then ``city-hub serve``."""

    def __init__(self, instance: Path, ward_codes: list[str]):
        self.instance = instance
        if instance.exists():
            shutil.rmtree(instance)
        run_cli("city-hub", "init", "--instance", str(instance))
        self.tokens = {}
        for code in ward_codes:
            out = run_cli("city-hub", "ward", "add", code, "--instance", str(instance))
            self.tokens[code] = out.strip().splitlines()[-1].strip()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(instance.parent / f"{instance.name}.log", "w")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            [*COMMANDS["city-hub"], "serve", "--instance", str(instance), "--host",
             "127.0.0.1", "--port", str(self.port), "--threads", str(HUB_THREADS)],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"city-hub serve exited with {self.process.returncode}; "
                                   f"see {self.log.name}")
            try:  # any answer will do (the sync API answers 401 without a token)
                if requests.get(self.url + "/api/sync/v1/reconcile", timeout=1,
                                allow_redirects=False).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("city-hub serve did not answer in time")

    def status(self) -> dict[str, int]:
        return proc_status(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def counts(self, tables) -> dict[str, dict[str, int]]:
        """Records held per ward and table, and quarantined records, read from the hub file."""
        conn = sqlite3.connect(f"file:{self.instance / 'hub.sqlite'}?mode=ro", uri=True)
        result: dict[str, dict[str, int]] = {}
        for table in (*tables, "quarantine"):
            for code, n in conn.execute(f'SELECT ward_code, count(*) FROM "{table}" '
                                        "GROUP BY ward_code"):
                result.setdefault(code, {})[table] = n
        conn.close()
        return result


def fresh_ward(built_dir: Path, run_dir: Path) -> Path:
    """A throw-away copy of a built ward instance (sync writes acknowledgements into it)."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    for name in ("ward.sqlite", "secret_key"):
        shutil.copy2(built_dir / name, run_dir / name)
    return run_dir


def configure_wards(instances: dict[str, Path], hub: Hub) -> None:
    """``wardapp sync configure`` for every ward, two at a time (each is a Python start-up)."""
    pending = list(instances.items())
    running: list[subprocess.Popen] = []
    while pending or running:
        while pending and len(running) < 2:
            code, instance = pending.pop(0)
            running.append(subprocess.Popen(
                [*COMMANDS["wardapp"], "sync", "configure", "--hub", hub.url, "--token",
                 hub.tokens[code], "--instance", str(instance)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT))
        for p in list(running):
            if p.poll() is not None:
                running.remove(p)
                if p.returncode != 0:
                    raise RuntimeError(f"wardapp sync configure failed: {p.stderr.read()}")
        time.sleep(0.02)


def start_sync(instance: Path) -> subprocess.Popen:
    return subprocess.Popen([*COMMANDS["wardapp"], "sync", "--no-delay", "--instance",
                             str(instance)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)


def sync_result(p: subprocess.Popen, instance: Path) -> dict:
    stdout, stderr = p.communicate()
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"wardapp sync for {instance} exited {p.returncode}: "
                           f"{stdout[-500:]} {stderr[-1500:]}")
    return json.loads(lines[-1])


def ward_counts(instance: Path, tables) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{instance / 'ward.sqlite'}?mode=ro", uri=True)
    counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    conn.close()
    return counts


def check_hub(hub: Hub, instances: dict[str, Path], tables) -> str:
    """Whether the hub holds as many records of each synced table as each ward, none in
    quarantine (the wards' copies are read after their sync)."""
    held = hub.counts(tables)
    problems = []
    for code, instance in instances.items():
        have = held.get(code, {})
        for table, n in ward_counts(instance, tables).items():
            if have.get(table, 0) != n:
                problems.append(f"{code} {table}: hub {have.get(table, 0)}, ward {n}")
        if have.get("quarantine"):
            problems.append(f"{code}: {have['quarantine']} quarantined")
    return "hub holds every record, none quarantined" if not problems else \
        "HUB DIFFERS: " + "; ".join(problems[:6])


# --- (1) one ward, (2) the city ---------------------------------------------------------------

HISTORY_SOURCE = BENCH_DIR / "out" / "ward-200k"  # the desk benchmark's 20-year ward


def history_ward() -> Path | None:
    """A copy of the desk benchmark's ward (``build_ward_db.py``), made once, or None if that
    ward has not been built. Its 1.6 million outbox rows stand for 20 years of synced history."""
    source = HISTORY_SOURCE / "ward.sqlite"
    if not (HISTORY_SOURCE / "build.json").exists() or not source.exists():
        return None
    out = OUT / "wards" / "history-ward-200k"
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


def reset_history(instance: Path, backlog: int) -> tuple[int, int]:
    """Every outbox row but the last ``backlog`` acknowledged, the checkpoint there, no sync
    configured: the state after a long synced history and then an outage. Idempotent."""
    for name in ("sync.json", "sync.lock"):
        (instance / name).unlink(missing_ok=True)
    conn = sqlite3.connect(instance / "ward.sqlite", isolation_level=None)
    head = conn.execute("SELECT max(seq) FROM outbox").fetchone()[0]
    history = head - backlog
    conn.execute("BEGIN")
    conn.execute("UPDATE outbox SET acked_at_utc = NULL WHERE seq > ? AND acked_at_utc IS NOT NULL",
                 (history,))
    conn.execute("UPDATE outbox SET acked_at_utc = created_utc WHERE seq <= ? "
                 "AND acked_at_utc IS NULL", (history,))
    conn.execute("DELETE FROM sync_state")
    conn.execute("INSERT INTO sync_state (id, acked_seq, refdata_version, consecutive_failures) "
                 "VALUES (1, ?, 0, 0)", (history,))
    conn.execute("DELETE FROM sync_reject")
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return history, head


def run_history(instance: Path, backlog: int, run_root: Path) -> dict:
    """(1b) the same backlog on a ward whose earlier outbox rows the hub already holds. The hub
    is fresh, with its checkpoint for the ward moved to the history's head, as it would stand."""
    code = "30280"
    history, _head = reset_history(instance, backlog)
    hub = Hub(run_root / "hub-history", [code])
    try:
        conn = sqlite3.connect(hub.instance / "hub.sqlite")
        conn.execute("UPDATE ward SET acked_seq = ?, reported_head_seq = ? WHERE code = ?",
                     (history, history, code))
        conn.commit()
        conn.close()
        configure_wards({code: instance}, hub)
        started = time.perf_counter()
        result = sync_result(start_sync(instance), instance)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        sync_result(start_sync(instance), instance)
        empty_s = time.perf_counter() - started
    finally:
        hub.stop()
    return {"records": result["pushed"], "seconds": seconds, "empty_s": empty_s,
            "history": history, "size": (instance / "ward.sqlite").stat().st_size}


def run_single(built: dict, built_dir: Path, run_root: Path) -> dict:
    instance = fresh_ward(built_dir, run_root / "ward-single")
    hub = Hub(run_root / "hub-single", [built["params"]["unit"]])
    try:
        configure_wards({built["params"]["unit"]: instance}, hub)
        rss_before = hub.status()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        machine_before, own_before = machine_cpu_s(), own_cpu_s()
        started = time.perf_counter()
        result = sync_result(start_sync(instance), instance)
        seconds = time.perf_counter() - started
        after = hub.status()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        ward_cpu = (children.ru_utime + children.ru_stime) \
            - (children_before.ru_utime + children_before.ru_stime)
        others = machine_cpu_s() - machine_before - (own_cpu_s() - own_before) - ward_cpu \
            - (after["cpu_s"] - rss_before["cpu_s"])
        started = time.perf_counter()
        empty = sync_result(start_sync(instance), instance)
        empty_s = time.perf_counter() - started
        reconcile = subprocess.run([*COMMANDS["wardapp"], "sync", "reconcile", "--instance",
                                    str(instance)], capture_output=True, text=True, cwd=ROOT,
                                   check=False)
        check = check_hub(hub, {built["params"]["unit"]: instance}, built["records"])
    finally:
        hub.stop()
    return {"records": result["pushed"], "seconds": seconds, "empty_pushed": empty["pushed"],
            "empty_s": empty_s, "hub_cpu_s": after["cpu_s"] - rss_before["cpu_s"],
            "ward_cpu_s": ward_cpu, "others_cpu_s": others,
            "hub_hwm": after["VmHWM"], "reconcile_ok": reconcile.returncode == 0,
            "reconcile": reconcile.stdout.strip(), "check": check}


def run_city(builds: list[dict], specs: list[dict], run_root: Path) -> dict:
    codes = [b["params"]["unit"] for b in builds]
    instances = {code: fresh_ward(Path(s["out"]), run_root / f"ward-city-{code}")
                 for code, s in zip(codes, specs)}
    hub = Hub(run_root / "hub-city", codes)
    try:
        configure_wards(instances, hub)
        before = hub.status()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        machine_before, own_before = machine_cpu_s(), own_cpu_s()
        started = time.perf_counter()
        procs = {code: start_sync(instance) for code, instance in instances.items()}
        finished: dict[str, float] = {}
        results: dict[str, dict] = {}
        rss_samples = []
        while len(finished) < len(procs):
            for code, p in procs.items():
                if code not in finished and p.poll() is not None:
                    finished[code] = time.perf_counter() - started
                    results[code] = sync_result(p, instances[code])
            rss_samples.append((time.perf_counter() - started, hub.status()["VmRSS"]))
            time.sleep(0.05)
        wall = time.perf_counter() - started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        after = hub.status()
        machine, own = machine_cpu_s() - machine_before, own_cpu_s() - own_before
        check = check_hub(hub, instances, builds[0]["records"])
    finally:
        hub.stop()
    wards_cpu = (children.ru_utime + children.ru_stime) \
        - (children_before.ru_utime + children_before.ru_stime)
    return {"records": sum(r["pushed"] for r in results.values()), "wall": wall,
            "others_cpu_s": machine - own - wards_cpu - (after["cpu_s"] - before["cpu_s"]),
            "finished": finished, "hub_hwm": after["VmHWM"], "hub_rss_idle": before["VmRSS"],
            "hub_rss_end": after["VmRSS"], "hub_cpu_s": after["cpu_s"] - before["cpu_s"],
            "wards_cpu_s": wards_cpu,
            "rss_samples": rss_samples, "check": check}


# --- (3) apply rate and (4) bytes on the wire -------------------------------------------------

def ward_batches(instance: Path) -> tuple[str, list[bytes], float, float]:
    """The gzip bodies the ward would push to this hub (``make_batch`` after each ack, with
    superseded placeholders where the code makes them), and the seconds spent making the batches
    (``make_batch``) and compressing them (``encode``)."""
    import inspect

    from wardapp import create_app
    from wardapp.extensions import db
    from wardapp.sync.client import make_batch, ward_identity
    from wardapp.sync.protocol import BATCH_RECORDS, encode

    # --code-at an older commit: its make_batch sends full records only
    compact = {"placeholders": True} if "placeholders" in inspect.signature(
        make_batch).parameters else {}
    app = create_app(instance_path=str(instance))
    bodies = []
    make_s = encode_s = 0.0
    with app.app_context():
        code = ward_identity().ward_code
        after = 0
        while True:
            t0 = time.perf_counter()
            made = make_batch(after, BATCH_RECORDS, **compact)
            t1 = time.perf_counter()
            if made is None:
                break
            bodies.append(encode(*made))
            encode_s += time.perf_counter() - t1
            make_s += t1 - t0
            after = made[0]["last_seq"]
        db.session.remove()
        db.engine.dispose()
    return code, bodies, make_s, encode_s


def fresh_hub_app(instance: Path, code: str):
    from city_hub import create_app, upgrade_schema
    from city_hub.extensions import db
    from city_hub.models import Ward

    if instance.exists():
        shutil.rmtree(instance)
    instance.mkdir(parents=True)
    app = create_app(instance_path=str(instance))
    with app.app_context():
        upgrade_schema()
        db.session.add(Ward(code=code, name=f"Đơn vị {code}"))
        db.session.commit()
    return app


def apply_all(app, code: str, batches: list[tuple[dict, bytes]], capture: list | None = None,
              profiler: cProfile.Profile | None = None) -> float:
    """Apply the decoded batches (each with the JSON text it was parsed from) as the push route
    does (one write transaction each); seconds taken."""
    from city_hub.extensions import db
    from city_hub.models import Ward
    from city_hub.sync import apply as hub_apply
    from wardapp.database import write_transaction

    original_flush = hub_apply._BatchWriter.flush

    def flush(writer):  # keep the statements apply_batch runs, to replay them with executemany
        capture.extend(original_flush(writer))

    if capture is not None:
        hub_apply._BatchWriter.flush = flush
    try:
        with app.app_context():
            ward = db.session.get(Ward, code)
            db.session.commit()
            gc.collect()
            if profiler:
                profiler.enable()
            started = time.perf_counter()
            for batch, text in batches:
                with write_transaction(db.session):
                    answer = hub_apply.apply_batch(ward, batch, source="http", config=app.config,
                                                   text=text)
                if answer["summary"]["rejected"] or answer["summary"]["conflicts"]:
                    raise RuntimeError(f"batch {batch['first_seq']}: {answer}")
            seconds = time.perf_counter() - started
            if profiler:
                profiler.disable()
            db.session.remove()
            db.engine.dispose()
    finally:
        hub_apply._BatchWriter.flush = original_flush
    return seconds


def plain_executemany(app, captured: list) -> tuple[float, int]:
    """The captured statements with their rows (already in stored form), written with one
    ``executemany`` per table and statement (inserts first, then updates) in one transaction."""
    from city_hub.extensions import db

    with app.app_context():
        path = db.engine.url.database
        db.engine.dispose()
    merged: dict[str, list] = {}
    for sql, rows in captured:
        merged.setdefault(sql, []).extend(rows)
    statements = sorted(merged.items(), key=lambda item: not item[0].startswith("INSERT"))
    rows_written = sum(len(rows) for _, rows in statements)
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")  # the hub's own connection settings
    gc.collect()
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    for sql, params in statements:
        conn.executemany(sql, params)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds, rows_written


def measure_apply(built_dir: Path, run_root: Path, profile: bool, rounds: int = 3) -> dict:
    """(3) and (4) on one ward's batches; the apply and the plain write are each run ``rounds``
    times on fresh hub databases and the fastest run of each counts (the machine is shared)."""
    from wardapp.sync.protocol import decode_with_text

    instance = fresh_ward(built_dir, run_root / "ward-apply")
    code, bodies, make_s, encode_s = ward_batches(instance)
    sizes = [len(body) for body in bodies]
    started = time.perf_counter()
    batches = [decode_with_text(body) for body in bodies]
    decode_s = time.perf_counter() - started
    del bodies
    records = sum(b["count"] for b, _ in batches)
    placeholders = sum("superseded" in r for b, _ in batches for r in b["records"])
    raw = sum(len(text) for _, text in batches)

    apply_runs, exec_runs = [], []
    for _ in range(rounds):
        captured: list = []
        apply_runs.append(apply_all(fresh_hub_app(run_root / "hub-apply", code), code, batches,
                                    captured))
        exec_s, rows_written = plain_executemany(fresh_hub_app(run_root / "hub-plain", code),
                                                 captured)
        exec_runs.append(exec_s)
        del captured
    result = {"records": records, "placeholders": placeholders, "batches": len(batches),
              "apply_s": min(apply_runs),
              "apply_runs": apply_runs, "exec_s": min(exec_runs), "exec_runs": exec_runs,
              "rows_written": rows_written, "wire_bytes": sum(sizes),
              "raw_bytes": raw, "make_s": make_s, "encode_s": encode_s,
              "decode_s": decode_s, "max_batch": max(sizes), "ward": code}
    if profile:
        profiler = cProfile.Profile()
        apply_all(fresh_hub_app(run_root / "hub-apply-profile", code), code, batches,
                  profiler=profiler)
        result["profile"] = profile_text(profiler, "apply_batch over the ward's batches")
    return result


def profile_text(profiler: cProfile.Profile, title: str, limit: int = 28) -> str:
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("cumulative").print_stats(limit)
    buffer.write("\n--- by own time ---\n")
    stats.sort_stats("tottime").print_stats(18)
    return f"==== cProfile: {title} ====\n" + buffer.getvalue()


def profile_ward_run(built_dir: Path, run_root: Path) -> str:
    """One ward's whole sync in-process (``SyncRun``) under cProfile, against a hub subprocess."""
    from wardapp import create_app
    from wardapp.sync.client import HubClient, SyncConfig, SyncRun

    instance = fresh_ward(built_dir, run_root / "ward-profile")
    code = json.loads((built_dir / "build.json").read_text())["params"]["unit"]
    hub = Hub(run_root / "hub-profile", [code])
    try:
        app = create_app(instance_path=str(instance))
        profiler = cProfile.Profile()
        with app.app_context():
            run = SyncRun(HubClient(SyncConfig(hub.url, hub.tokens[code])))
            started = time.perf_counter()
            profiler.enable()
            exit_code = run.run()
            profiler.disable()
            seconds = time.perf_counter() - started
        hub_cpu = hub.status()["cpu_s"]
    finally:
        hub.stop()
    return profile_text(profiler, f"ward side of one sync run in-process: {run.pushed:,} "
                        f"records in {seconds:.1f} s, exit {exit_code}, hub CPU {hub_cpu:.1f} s")


# --- Report ---------------------------------------------------------------------------------------

LABELS = {"dossier": "dossiers", "dossier_event": "events", "user": "accounts",
          "audit_log": "audit entries"}


def describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {LABELS.get(t, t)}" for t, n in counts.items())


def single_lines(single: dict, built: dict) -> list[str]:
    rate = single["records"] / single["seconds"]
    ok = mark(single["seconds"] < TARGET_SINGLE_S)
    return [
        (f"  (1) one ward's backlog: {single['records']:,} records ({describe(built['records'])} "
         f"before the run; one record per version of a dossier) in {single['seconds']:.2f} s = "
         f"{rate:,.0f} records/s   target < {TARGET_SINGLE_S:.0f} s {ok}"),
        (f"      (a second `wardapp sync` with nothing to push takes {single['empty_s']:.2f} s: "
         "start-up, hello, refdata check)"),
        (f"      CPU: ward process {single['ward_cpu_s']:.1f} s, hub {single['hub_cpu_s']:.1f} s, "
         f"other processes on the machine {max(single['others_cpu_s'], 0):.1f} s; hub peak RSS "
         f"{mb(single['hub_hwm']):.0f} MB")]


def history_lines(h: dict) -> list[str]:
    ok = mark(h["seconds"] < TARGET_SINGLE_S)
    return [
        (f"  (1b) the same-size backlog on a ward with 20 years of synced history "
         f"({h['history']:,} outbox rows acknowledged before it, {h['size'] / 2**30:.1f} GiB): "
         f"{h['records']:,} records in {h['seconds']:.2f} s = "
         f"{h['records'] / h['seconds']:,.0f} records/s   target < {TARGET_SINGLE_S:.0f} s {ok}"),
        f"      (an empty `wardapp sync` on it takes {h['empty_s']:.2f} s)"]


def city_lines(city: dict, builds: list[dict]) -> list[str]:
    totals = {t: sum(b["records"][t] for b in builds) for t in builds[0]["records"]}
    slowest = max(city["finished"], key=city["finished"].get)
    fastest = min(city["finished"], key=city["finished"].get)
    hwm = mb(city["hub_hwm"])
    per_record = 1e6 / city["records"]
    return [
        (f"  (2) {len(builds)} wards at once: {city['records']:,} records, the versions of "
         f"{sum(totals.values()):,} distinct ones ({describe(totals)}) in {city['wall']:.1f} s "
         f"wall = {city['records'] / city['wall']:,.0f} records/s"
         f"   target < {TARGET_CITY_S:.0f} s {mark(city['wall'] < TARGET_CITY_S)}"),
        (f"      hub peak RSS (VmHWM) {hwm:.1f} MB (idle {mb(city['hub_rss_idle']):.1f} MB, at "
         f"the end {mb(city['hub_rss_end']):.1f} MB)"
         f"   target < {TARGET_HUB_RSS_MB:.0f} MB {mark(hwm < TARGET_HUB_RSS_MB)}"),
        (f"      CPU: hub {city['hub_cpu_s']:.1f} s ({city['hub_cpu_s'] * per_record:.0f} "
         f"µs/record), the {len(builds)} ward processes {city['wards_cpu_s']:.1f} s "
         f"({city['wards_cpu_s'] * per_record:.0f} µs/record), other processes on the machine "
         f"{max(city['others_cpu_s'], 0):.1f} s, in {city['wall']:.1f} s on {os.cpu_count()} "
         f"CPUs; wards finished between {city['finished'][fastest]:.1f} s ({fastest}) and "
         f"{city['finished'][slowest]:.1f} s ({slowest})")]


def apply_lines(a: dict) -> list[str]:
    sync_rate = a["records"] / a["apply_s"]
    plain_rate = a["records"] / a["exec_s"]
    ratio = sync_rate / plain_rate
    apply_runs = ", ".join(f"{x:.2f}" for x in a["apply_runs"])
    exec_runs = ", ".join(f"{x:.2f}" for x in a["exec_runs"])
    return [
        (f"  (3) hub apply rate, ward {a['ward']}: {a['records']:,} records in {a['batches']} "
         f"batches ({a['placeholders']:,} of them superseded placeholders); apply_batch "
         f"{a['apply_s']:.2f} s = {sync_rate:,.0f} records/s; plain "
         f"executemany of the {a['rows_written']:,} rows it wrote {a['exec_s']:.2f} s = "
         f"{plain_rate:,.0f} records/s; ratio {ratio:.2f}"
         f"   target >= {TARGET_RATIO} {mark(ratio >= TARGET_RATIO)}"),
        (f"      (best of {len(a['apply_runs'])}: apply_batch {apply_runs} s; executemany "
         f"{exec_runs} s; {a['apply_s'] / a['records'] * 1e6:.0f} vs "
         f"{a['exec_s'] / a['records'] * 1e6:.1f} µs per record)"),
        (f"      (same batches: ward's make_batch {a['make_s']:.2f} s and gzip encode "
         f"{a['encode_s']:.2f} s; hub's gunzip + JSON decode {a['decode_s']:.2f} s, not in "
         "apply_batch)"),
        (f"  (4) bytes on the wire: {a['wire_bytes']:,} B of gzip for {a['records']:,} records = "
         f"{a['wire_bytes'] / a['records']:.0f} B/record ({a['raw_bytes'] / a['records']:.0f} "
         f"B/record as JSON, {a['raw_bytes'] / a['wire_bytes']:.1f}x smaller); largest batch "
         f"{a['max_batch'] / 1024:.0f} KiB   (no target)")]


# --- Main ---------------------------------------------------------------------------------------

def rerun_at(rev: str, argv: list[str]) -> int:
    """Run this script again on the code of commit ``rev``, exported under bench/out/sync/."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev],
                            capture_output=True, text=True, check=True).stdout.strip()
    dest = OUT / f"code-{commit}"
    if not (dest / "wardapp").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "wardapp",
                                  "city_hub"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    # PYTHONPATH comes before the editable install's finder, in this process and in the CLIs.
    env = {**os.environ, "PYTHONPATH": str(dest), "BENCH_SYNC_CODE": commit}
    return subprocess.run([sys.executable, __file__, *argv], env=env, check=False).returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small wards, for trying things")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached wards")
    parser.add_argument("--profile", action="store_true",
                        help="also print cProfile of the apply path and of a ward's sync run")
    parser.add_argument("--only", choices=["single", "history", "city", "apply"],
                        action="append",
                        help="run only these parts (may repeat)")
    parser.add_argument("--hub-command", metavar="CMD",
                        help="run this instead of .venv/bin/city-hub (e.g. a wrapper that "
                             "patches in a candidate fix)")
    parser.add_argument("--ward-command", metavar="CMD",
                        help="run this instead of .venv/bin/wardapp")
    parser.add_argument("--code-at", metavar="REV",
                        help="run the code of this commit (exported with git archive under "
                             "bench/out/sync/), not the working tree being edited")
    parser.add_argument("--build-only", action="store_true", help="only build the wards")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="MINUTES",
                        help="wait up to MINUTES for no other bench_*.py process and an idle "
                             "machine")
    args = parser.parse_args(argv)
    if args.code_at and not os.environ.get("BENCH_SYNC_CODE"):
        return rerun_at(args.code_at, argv if argv is not None else sys.argv[1:])
    profile = "quick" if args.quick else "full"
    if args.hub_command:
        COMMANDS["city-hub"] = shlex.split(args.hub_command)
    if args.ward_command:
        COMMANDS["wardapp"] = shlex.split(args.ward_command)
    parts = set(args.only or ["single", "history", "city", "apply"])

    single_spec, city_specs = ward_specs(profile, args.rebuild)
    log(f"Sync benchmark ({profile}): code {code_version()}, {os.cpu_count()} CPUs")
    for name, command in COMMANDS.items():
        if command != [str(VENV_BIN / name)]:
            log(f"   {name} replaced by: {' '.join(command)}")
    started = time.perf_counter()
    builds = build_all([single_spec, *city_specs])
    single_built, city_built = builds[0], builds[1:]
    log(f"   wards ready: single {single_built['params']['dossiers']:,} dossiers "
        f"({single_built['outbox_rows']:,} outbox rows); city {len(city_built)} wards, "
        f"{sum(b['params']['dossiers'] for b in city_built):,} dossiers "
        f"({sum(b['outbox_rows'] for b in city_built):,} outbox rows), received "
        f"{min(b['received'][0] for b in city_built)} .. "
        f"{max(b['received'][1] for b in city_built)}")

    if args.build_only:
        return 0
    waited = time.monotonic()
    while True:
        others, busy = benchlib.other_benchmarks("bench_sync.py"), others_busy()
        if not others and busy < 0.2:
            break
        log(f"   the machine is not idle: other processes use {busy:.2f} CPUs"
            + ("; running: " + "; ".join(others) if others else ""))
        if not args.wait_idle or time.monotonic() - waited > args.wait_idle * 60:
            log("   (the figures below are disturbed by them)")
            break
        time.sleep(20)

    run_root = OUT / "run"
    run_root.mkdir(parents=True, exist_ok=True)
    single = city = applied = None
    results: list[str] = []
    if "single" in parts:
        log("-- (1) one ward's backlog, one `wardapp sync` process ...")
        single = run_single(single_built, Path(single_spec["out"]), run_root)
        log(f"   {single['check']}; `wardapp sync reconcile`: "
            f"{'match' if single['reconcile_ok'] else 'MISMATCH ' + single['reconcile']}")
        lines = single_lines(single, single_built)
        results += lines
        log("\n".join(lines))
    if "history" in parts:
        instance = history_ward()
        if instance is None:
            log(f"-- (1b) skipped: {HISTORY_SOURCE} not built (bench/build_ward_db.py)")
        else:
            log("-- (1b) the same backlog on the desk benchmark's 20-year ward ...")
            lines = history_lines(run_history(instance, single_built["outbox_rows"], run_root))
            results += lines
            log("\n".join(lines))
    if "city" in parts:
        log(f"-- (2) {len(city_built)} wards at once, {len(city_built)} `wardapp sync` "
            "processes ...")
        city = run_city(city_built, city_specs, run_root)
        log(f"   {city['check']}")
        lines = city_lines(city, city_built)
        results += lines
        log("\n".join(lines))
    if "apply" in parts:
        log(f"-- (3) apply rate in-process, ward {city_built[0]['params']['unit']} "
            "(city build) ...")
        applied = measure_apply(Path(city_specs[0]["out"]), run_root, args.profile)
        lines = apply_lines(applied)
        results += lines
        log("\n".join(lines))

    log("")
    replaced = [n for n, c in COMMANDS.items() if c != [str(VENV_BIN / n)]]
    log(f"Results on {os.cpu_count()} CPUs, hub `city-hub serve --threads {HUB_THREADS}` on "
        f"loopback, code {code_version()} ({profile} run"
        + (f"; {' and '.join(replaced)} replaced as above" if replaced else "") + "):")
    for line in results:
        log(line)
    log(f"Total {time.perf_counter() - started:.0f} s.")

    if args.profile:
        if applied and "profile" in applied:
            log("")
            log(applied["profile"])
        log(profile_ward_run(Path(single_spec["out"]), run_root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
