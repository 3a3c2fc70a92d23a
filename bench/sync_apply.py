"""The hub's apply rate and the bytes on the wire, in-process (no HTTP), and cProfile of both
sides.

  (3) the batches a ward would send (``make_batch``, 1,000 records, superseded versions as
      placeholders) applied with ``apply_batch`` in one write transaction each, as the push route
      does, against a fresh hub database; then the rows ``apply_batch`` wrote, as it wrote them,
      with one plain ``executemany`` per table and statement in one transaction into another
      fresh hub database: the floor the apply is compared with;
  (4) the gzip batch bodies (``protocol.encode``) of (3) summed, divided by the records.
"""

from __future__ import annotations

import cProfile
import gc
import io
import json
import pstats
import shutil
import sqlite3
import time
from pathlib import Path

from sync_push import Hub, fresh_ward


def ward_batches(instance: Path) -> tuple[str, list[bytes], float, float]:
    """The gzip bodies the ward would push to this hub (``make_batch`` after each ack, with
    superseded placeholders where the code makes them), and the seconds spent making the batches
    (``make_batch``) and compressing them (``encode``)."""
    import inspect

    from wardapp import create_app
    from wardapp.extensions import db
    from wardapp.sync.outgoing import make_batch, ward_identity
    from wardapp.sync.protocol import BATCH_RECORDS, encode

    # --code-at an older commit: its make_batch sends full records only
    compact = (
        {"placeholders": True} if "placeholders" in inspect.signature(make_batch).parameters else {}
    )
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


def apply_all(
    app,
    code: str,
    batches: list[tuple[dict, bytes]],
    capture: list | None = None,
    profiler: cProfile.Profile | None = None,
) -> float:
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
                    answer = hub_apply.apply_batch(
                        ward, batch, source="http", config=app.config, text=text
                    )
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
        apply_runs.append(
            apply_all(fresh_hub_app(run_root / "hub-apply", code), code, batches, captured)
        )
        exec_s, rows_written = plain_executemany(
            fresh_hub_app(run_root / "hub-plain", code), captured
        )
        exec_runs.append(exec_s)
        del captured
    result = {
        "records": records,
        "placeholders": placeholders,
        "batches": len(batches),
        "apply_s": min(apply_runs),
        "apply_runs": apply_runs,
        "exec_s": min(exec_runs),
        "exec_runs": exec_runs,
        "rows_written": rows_written,
        "wire_bytes": sum(sizes),
        "raw_bytes": raw,
        "make_s": make_s,
        "encode_s": encode_s,
        "decode_s": decode_s,
        "max_batch": max(sizes),
        "ward": code,
    }
    if profile:
        profiler = cProfile.Profile()
        apply_all(
            fresh_hub_app(run_root / "hub-apply-profile", code), code, batches, profiler=profiler
        )
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
    return profile_text(
        profiler,
        f"ward side of one sync run in-process: {run.pushed:,} "
        f"records in {seconds:.1f} s, exit {exit_code}, hub CPU {hub_cpu:.1f} s",
    )
