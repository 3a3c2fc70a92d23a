"""The sync benchmark's pushes through real processes: a fresh hub (``city-hub serve`` under
waitress) and ``wardapp sync`` runs against it, timed from start to exit, with the CPU each side
used and what the hub holds afterwards.

  (1) one ward's outage backlog, then a second run with nothing to push (the fixed cost);
  (1b) the same number of records on a ward with 20 years of synced history;
  (2) the city's wards pushing at once, the hub's peak RSS sampled as they go.
"""

from __future__ import annotations

import json
import resource
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from benchlib import ROOT, VENV_BIN, free_port, machine_cpu_s, own_cpu_s, proc_status

HUB_THREADS = 8
# The commands run as subprocesses; --hub-command/--ward-command replace them (to try a fix).
COMMANDS = {"city-hub": [str(VENV_BIN / "city-hub")], "wardapp": [str(VENV_BIN / "wardapp")]}


def run_cli(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [*COMMANDS[args[0]], *args[1:]],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed ({done.returncode}): "
            f"{done.stdout[-500:]} {done.stderr[-1500:]}"
        )
    return done.stdout


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
            [
                *COMMANDS["city-hub"],
                "serve",
                "--instance",
                str(instance),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--threads",
                str(HUB_THREADS),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"city-hub serve exited with {self.process.returncode}; see {self.log.name}"
                )
            try:  # any answer will do (the sync API answers 401 without a token)
                if (
                    requests.get(
                        self.url + "/api/sync/v1/reconcile", timeout=1, allow_redirects=False
                    ).status_code
                    < 500
                ):
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
            for code, n in conn.execute(
                f'SELECT ward_code, count(*) FROM "{table}" GROUP BY ward_code'
            ):
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
            running.append(
                subprocess.Popen(
                    [
                        *COMMANDS["wardapp"],
                        "sync",
                        "configure",
                        "--hub",
                        hub.url,
                        "--token",
                        hub.tokens[code],
                        "--instance",
                        str(instance),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    cwd=ROOT,
                )
            )
        for p in list(running):
            if p.poll() is not None:
                running.remove(p)
                if p.returncode != 0:
                    raise RuntimeError(f"wardapp sync configure failed: {p.stderr.read()}")
        time.sleep(0.02)


def start_sync(instance: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*COMMANDS["wardapp"], "sync", "--no-delay", "--instance", str(instance)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def sync_result(p: subprocess.Popen, instance: Path) -> dict:
    stdout, stderr = p.communicate()
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(
            f"wardapp sync for {instance} exited {p.returncode}: {stdout[-500:]} {stderr[-1500:]}"
        )
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
    return (
        "hub holds every record, none quarantined"
        if not problems
        else "HUB DIFFERS: " + "; ".join(problems[:6])
    )


# --- (1) one ward, (1b) one ward with history, (2) the city ------------------------------------


def reset_history(instance: Path, backlog: int) -> tuple[int, int]:
    """Every outbox row but the last ``backlog`` acknowledged, the checkpoint there, no sync
    configured: the state after a long synced history and then an outage. Idempotent."""
    for name in ("sync.json", "sync.lock"):
        (instance / name).unlink(missing_ok=True)
    conn = sqlite3.connect(instance / "ward.sqlite", isolation_level=None)
    head = conn.execute("SELECT max(seq) FROM outbox").fetchone()[0]
    history = head - backlog
    conn.execute("BEGIN")
    conn.execute(
        "UPDATE outbox SET acked_at_utc = NULL WHERE seq > ? AND acked_at_utc IS NOT NULL",
        (history,),
    )
    conn.execute(
        "UPDATE outbox SET acked_at_utc = created_utc WHERE seq <= ? AND acked_at_utc IS NULL",
        (history,),
    )
    conn.execute("DELETE FROM sync_state")
    conn.execute(
        "INSERT INTO sync_state (id, acked_seq, refdata_version, consecutive_failures) "
        "VALUES (1, ?, 0, 0)",
        (history,),
    )
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
        conn.execute(
            "UPDATE ward SET acked_seq = ?, reported_head_seq = ? WHERE code = ?",
            (history, history, code),
        )
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
    return {
        "records": result["pushed"],
        "seconds": seconds,
        "empty_s": empty_s,
        "history": history,
        "size": (instance / "ward.sqlite").stat().st_size,
    }


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
        ward_cpu = (children.ru_utime + children.ru_stime) - (
            children_before.ru_utime + children_before.ru_stime
        )
        others = (
            machine_cpu_s()
            - machine_before
            - (own_cpu_s() - own_before)
            - ward_cpu
            - (after["cpu_s"] - rss_before["cpu_s"])
        )
        started = time.perf_counter()
        empty = sync_result(start_sync(instance), instance)
        empty_s = time.perf_counter() - started
        reconcile = subprocess.run(
            [*COMMANDS["wardapp"], "sync", "reconcile", "--instance", str(instance)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        check = check_hub(hub, {built["params"]["unit"]: instance}, built["records"])
    finally:
        hub.stop()
    return {
        "records": result["pushed"],
        "seconds": seconds,
        "empty_pushed": empty["pushed"],
        "empty_s": empty_s,
        "hub_cpu_s": after["cpu_s"] - rss_before["cpu_s"],
        "ward_cpu_s": ward_cpu,
        "others_cpu_s": others,
        "hub_hwm": after["VmHWM"],
        "reconcile_ok": reconcile.returncode == 0,
        "reconcile": reconcile.stdout.strip(),
        "check": check,
    }


def run_city(builds: list[dict], specs: list[dict], run_root: Path) -> dict:
    codes = [b["params"]["unit"] for b in builds]
    instances = {
        code: fresh_ward(Path(s["out"]), run_root / f"ward-city-{code}")
        for code, s in zip(codes, specs)
    }
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
    wards_cpu = (children.ru_utime + children.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    return {
        "records": sum(r["pushed"] for r in results.values()),
        "wall": wall,
        "others_cpu_s": machine - own - wards_cpu - (after["cpu_s"] - before["cpu_s"]),
        "finished": finished,
        "hub_hwm": after["VmHWM"],
        "hub_rss_idle": before["VmRSS"],
        "hub_rss_end": after["VmRSS"],
        "hub_cpu_s": after["cpu_s"] - before["cpu_s"],
        "wards_cpu_s": wards_cpu,
        "rss_samples": rss_samples,
        "check": check,
    }
