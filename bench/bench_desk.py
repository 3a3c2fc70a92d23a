"""Desk latency and memory on the 200,000-dossier benchmark ward, through waitress.

    .venv/bin/python bench/bench_desk.py [-n 200] [--warmup 20] [--in-place]

Starts ``wardapp serve`` as a real subprocess on a free loopback port (4 waitress threads), logs
in as the receptionist ``letan`` with ``requests`` and times, one request after another:

  (a) intake: POST /dossiers (procedure 1.001193 with its required documents, as the htmx form
      sends it) followed by GET /dossiers/<code>/print/01, the printed receipt slip (the pair is
      timed; the dossier page the browser opens in between is timed on its own line);
  (b) GET / (home page and its counters);
  (c) GET /worklists/in_progress and GET /worklists/overdue;
  (d) GET /search?q=... for a common name, a dossier code and a citizen ID (different codes and
      IDs each time, sampled from the database).

Then prints p50/p95/max per scenario against the targets (p95 < 50 ms, server RSS < 150 MB),
the server's peak and current RSS (VmHWM/VmRSS) and the database size.

By default the server runs on a fresh copy of ``bench/out/ward-200k`` (in
``bench/out/ward-200k-run``) so that the intakes of one run do not pile up in the next;
``--in-place`` uses the built ward itself. Build it first with ``bench/build_ward_db.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

# bench/ is not a package: imported from its path
from benchlib import VENV_BIN, code_version, free_port, log, proc_status

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WARDAPP = VENV_BIN / "wardapp"
DEFAULT_WARD = BENCH_DIR / "out" / "ward-200k"
TARGET_P95_MS = 50.0
TARGET_RSS_MB = 150.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
COMMON_NAMES = ["nguyen van", "tran thi", "le van", "pham thi", "huynh van", "vo thi"]
FAMILY = "Nguyễn Trần Lê Phạm Huỳnh Võ Phan Trương Bùi Đặng Đỗ Ngô Hồ".split()
MIDDLE = "Văn Thị Hữu Ngọc Minh Thanh Kim Quốc".split()
GIVEN = "An Bình Cường Dũng Hà Hạnh Hoa Hùng Lan Linh Mai Nam Phúc Tâm Thảo Trang".split()


def mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def db_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs), to measure one step's peak."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    return sorted_values[max(math.ceil(q / 100 * len(sorted_values)) - 1, 0)]


class Server:
    """``wardapp serve`` in a subprocess on a loopback port; stopped with Ctrl-C (SIGINT)."""

    def __init__(self, instance: Path, port: int, threads: int, log_path: Path):
        self.instance, self.port, self.threads, self.log_path = instance, port, threads, log_path
        self.proc: subprocess.Popen | None = None
        self.base = f"http://127.0.0.1:{port}"

    def start(self, timeout: float = 120) -> float:
        started = time.perf_counter()
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [
                str(WARDAPP),
                "serve",
                "--instance",
                str(self.instance),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--threads",
                str(self.threads),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}; see {self.log_path}"
                )
            try:
                if requests.get(self.base + "/auth/login", timeout=2).status_code == 200:
                    return time.perf_counter() - started
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not answer within {timeout} s; see {self.log_path}")

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        for sig, wait in ((signal.SIGINT, 10), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            self.proc.send_signal(sig)
            try:
                return self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        return None

    def close_log(self):
        if getattr(self, "_log", None):
            self._log.close()


class Desk:
    """A logged-in browser session at the desk."""

    def __init__(self, base: str, username: str, password: str):
        self.base = base
        self.http = requests.Session()
        page = self.http.get(base + "/auth/login")
        token = CSRF.search(page.text).group(1)
        answer = self.http.post(
            base + "/auth/login",
            allow_redirects=False,
            data={"csrf_token": token, "username": username, "password": password},
        )
        if answer.status_code != 302:
            raise RuntimeError(f"login failed: {answer.status_code}")
        page = self.http.get(base + "/dossiers/new")
        page.raise_for_status()
        self.csrf = CSRF.search(page.text).group(1)

    def get(self, path: str, **kwargs) -> requests.Response:
        answer = self.http.get(self.base + path, allow_redirects=False, **kwargs)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: {answer.status_code}")
        return answer

    def post_intake(self, form: dict) -> str:
        answer = self.http.post(
            self.base + "/dossiers",
            data=form,
            allow_redirects=False,
            headers={
                "X-CSRFToken": self.csrf,
                "HX-Request": "true",
                "HX-Current-URL": self.base + "/dossiers/new",
            },
        )
        if answer.status_code != 204 or "HX-Redirect" not in answer.headers:
            raise RuntimeError(f"intake refused: {answer.status_code} {answer.text[:300]}")
        return answer.headers["HX-Redirect"].rsplit("/", 1)[1]


def concurrent_logins(base: str, logins: dict[str, str], rounds: int = 3) -> float:
    """All accounts log in at the same moment (the desk opening at 7:30); slowest login in s."""
    import threading

    slowest = 0.0
    for _ in range(rounds):
        sessions = []
        for username, password in logins.items():
            http = requests.Session()
            token = CSRF.search(http.get(base + "/auth/login").text).group(1)
            sessions.append(
                (http, {"csrf_token": token, "username": username, "password": password})
            )
        barrier = threading.Barrier(len(sessions))
        times, failures = [], []

        def login(http, form):
            barrier.wait()
            start = time.perf_counter()
            answer = http.post(base + "/auth/login", data=form, allow_redirects=False)
            times.append(time.perf_counter() - start)
            if answer.status_code != 302:
                failures.append(answer.status_code)

        threads = [threading.Thread(target=login, args=s) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            raise RuntimeError(f"concurrent logins failed: {failures}")
        slowest = max(slowest, *times)
    return slowest


def intake_form(rng: random.Random, documents: list[str], today: dt.date) -> dict:
    female = rng.random() < 0.5
    year = rng.randint(1960, min(2004, today.year - 18))
    century = (2 if year >= 2000 else 0) + female
    return {
        "request_key": "bench-" + "".join(rng.choice("0123456789abcdef") for _ in range(24)),
        "procedure_code": "1.001193",
        "applicant_kind": "person",
        "applicant_name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
        "citizen_id": f"089{century}{year % 100:02d}{rng.randint(0, 999999):06d}",
        "phone": f"09{rng.randint(10000000, 99999999)}",
        "address": f"Số {rng.randint(1, 250)} đường Hà Hoàng Hổ, khóm {rng.randint(1, 8)}, "
        "phường Mỹ Bình",
        "channel": "desk",
        "return_method": "desk",
        "sets_count": "1",
        "documents": documents,
    }


def sample(db_path: Path, rng: random.Random, count: int):
    """Codes and citizen IDs to search for, and the documents of procedure 1.001193."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    total = conn.execute("SELECT max(rowid) FROM dossier").fetchone()[0]
    rowids = rng.sample(range(1, total + 1), count)
    codes, ids = [], []
    for rowid in rowids:
        row = conn.execute(
            "SELECT code, citizen_id FROM dossier WHERE rowid = ?", (rowid,)
        ).fetchone()
        if row:
            codes.append(row[0])
            ids.append(row[1])
    documents = [
        d["name"]
        for d in json.loads(
            conn.execute("SELECT documents FROM procedure WHERE code = '1.001193'").fetchone()[0]
        )
        if d["required"]
    ]
    conn.close()
    return codes, ids, documents


def show(name: str, times: list[float]) -> None:
    s = sorted(times)
    log(
        f"   {name:<38} p50 {percentile(s, 50):7.1f}  p95 {percentile(s, 95):7.1f}  "
        f"max {s[-1]:7.1f} ms"
    )


def measure(name: str, action, n: int, warmup: int, results: dict) -> None:
    for i in range(warmup):
        action(i)
    times = []
    for i in range(n):
        start = time.perf_counter()
        action(warmup + i)
        times.append((time.perf_counter() - start) * 1000)
    results[name] = times
    show(name, times)


def run_extras(server: Server, desk: Desk, logins: dict[str, str], today: dt.date) -> list[str]:
    """Steps that set the server's peak memory, though none is one of the targeted scenarios:
    several officials logging in at once (each scrypt password check takes 32 MiB), and the
    logbook Mẫu 06 of a whole year (the longest span the page allows)."""
    pid = server.proc.pid
    lines = []
    if not reset_peak(pid):
        return ["(cannot reset VmHWM on this kernel; extras skipped)"]
    slowest = concurrent_logins(server.base, logins)
    peak = proc_status(pid)["VmHWM"] / 1e6
    lines.append(
        f"{len(logins)} accounts logging in at the same moment (x3): slowest login "
        f"{slowest * 1000:.0f} ms, peak RSS {peak:.1f} MB   "
        f"RSS < {TARGET_RSS_MB:.0f} MB {'ok' if peak < TARGET_RSS_MB else 'OVER'}"
    )
    year = today.year - 1
    reset_peak(pid)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        page = desk.get("/logbook", params={"from": f"{year}-01-01", "to": f"{year}-12-31"})
        times.append(time.perf_counter() - start)
    peak = proc_status(pid)["VmHWM"] / 1e6
    lines.append(
        f"logbook Mẫu 06 for {year} (x3, {len(page.content) // 1024:,} KiB of HTML): "
        f"{min(times) * 1000:.0f}-{max(times) * 1000:.0f} ms, peak RSS {peak:.1f} MB   "
        f"RSS < {TARGET_RSS_MB:.0f} MB {'ok' if peak < TARGET_RSS_MB else 'OVER'}"
    )
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ward", type=Path, default=DEFAULT_WARD, help="built benchmark ward")
    parser.add_argument("-n", type=int, default=200, help="timed requests per scenario")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per scenario")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="serve the built ward itself instead of a fresh copy",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where the fresh copy is served from (default: beside the ward, <ward>-run)",
    )
    parser.add_argument(
        "--no-extras",
        action="store_true",
        help="skip the memory checks beyond the targeted scenarios",
    )
    parser.add_argument(
        "--extra-sql",
        action="append",
        default=[],
        metavar="SQL",
        help="run this SQL on the fresh copy before serving, e.g. a candidate "
        "index (may repeat; not with --in-place)",
    )
    args = parser.parse_args(argv)

    ward = args.ward.resolve()
    if not (ward / "build.json").exists():
        log(f"No complete benchmark ward at {ward}; run: .venv/bin/python bench/build_ward_db.py")
        return 2
    logins = json.loads((ward / "logins.json").read_text())
    if args.in_place:
        if args.extra_sql:
            parser.error("--extra-sql changes the database: only on a fresh copy")
        instance = ward
    else:
        instance = args.out.resolve() if args.out else ward.with_name(ward.name + "-run")
        started = time.perf_counter()
        if instance.exists():
            shutil.rmtree(instance)
        instance.mkdir(parents=True)
        for name in ("ward.sqlite", "secret_key"):
            shutil.copyfile(ward / name, instance / name)
            # Flush the copy now: otherwise the server's first WAL checkpoint pays for writing
            # back gigabytes of dirty page cache (a one-off stall of a second or more).
            fd = os.open(instance / name, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        (instance / "secret_key").chmod(0o600)
        log(f"Fresh copy of the ward in {instance} ({time.perf_counter() - started:.1f} s)")
        if args.extra_sql:
            conn = sqlite3.connect(instance / "ward.sqlite", isolation_level=None)
            for sql in args.extra_sql:
                started_sql = time.perf_counter()
                conn.execute(sql)
                log(f"Ran on the copy: {sql} ({time.perf_counter() - started_sql:.1f} s)")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
    db_path = instance / "ward.sqlite"
    rng = random.Random(args.seed)
    total = args.n + args.warmup
    codes, ids, documents = sample(db_path, rng, total)
    size_before = db_size(db_path)

    server = Server(instance, free_port(), args.threads, instance.parent / "bench-server.log")
    results: dict[str, list[float]] = {}
    memory = {}
    extras = []
    try:
        startup = server.start()
        idle = proc_status(server.proc.pid)
        log(
            f"wardapp serve (pid {server.proc.pid}) answering on {server.base} after "
            f"{startup:.1f} s; RSS {mib(idle['VmRSS'])}"
        )
        desk = Desk(server.base, "letan", logins["letan"])
        today = dt.date.today()
        log(
            f"Timing {args.n} requests per scenario after {args.warmup} warm-up requests "
            "(one at a time, keep-alive):"
        )

        slip_times = []
        page_times = []

        def intake(i):
            form = intake_form(rng, documents, today)
            t0 = time.perf_counter()
            code = desk.post_intake(form)
            t1 = time.perf_counter()
            desk.get(f"/dossiers/{code}")  # the page the browser opens, timed separately
            t2 = time.perf_counter()
            slip = desk.get(f"/dossiers/{code}/print/01")
            t3 = time.perf_counter()
            if code not in slip.text:
                raise RuntimeError("the slip does not show the dossier code")
            slip_times.append((t1 - t0 + t3 - t2) * 1000)
            page_times.append((t2 - t1) * 1000)

        for _ in range(args.warmup):
            intake(0)
        slip_times.clear()
        page_times.clear()
        for _ in range(args.n):
            intake(0)
        for name, times in (
            ("(a) intake POST + slip Mẫu 01", slip_times),
            ("    (dossier page after intake)", page_times),
        ):
            results[name] = list(times)
            show(name, times)

        measure("(b) home page /", lambda i: desk.get("/"), args.n, args.warmup, results)
        measure(
            "(c) /worklists/in_progress",
            lambda i: desk.get("/worklists/in_progress"),
            args.n,
            args.warmup,
            results,
        )
        measure(
            "(c) /worklists/overdue",
            lambda i: desk.get("/worklists/overdue"),
            args.n,
            args.warmup,
            results,
        )

        def search(query: str, expect: str) -> None:
            page = desk.get("/search", params={"q": query})
            if expect not in page.text:
                raise RuntimeError(f"search for {query!r} did not find {expect!r}")

        measure(
            "(d) search common name",
            lambda i: search(COMMON_NAMES[i % len(COMMON_NAMES)], "/dossiers/"),
            args.n,
            args.warmup,
            results,
        )
        measure(
            "(d) search dossier code",
            lambda i: search(codes[i % len(codes)], codes[i % len(codes)]),
            args.n,
            args.warmup,
            results,
        )
        measure(
            "(d) search citizen ID",
            lambda i: search(ids[i % len(ids)], "/dossiers/"),
            args.n,
            args.warmup,
            results,
        )
        memory = proc_status(server.proc.pid)
        if not args.no_extras:
            extras = run_extras(server, desk, logins, today)
    finally:
        code = server.stop()
        server.close_log()
    log(f"Server stopped (exit {code}).")

    log("")
    log(
        f"Results on {os.cpu_count()} CPUs, waitress {args.threads} threads, n={args.n} "
        f"per scenario, code {code_version(('kernel', 'wardapp'))} (ms):"
    )
    log(f"   {'scenario':<38} {'p50':>7} {'p95':>7} {'max':>7} {'>50ms':>6}   target")
    for name, times in results.items():
        s = sorted(times)
        p95 = percentile(s, 95)
        over = sum(t >= TARGET_P95_MS for t in s)
        verdict = (
            "(not a target)"
            if name.strip().startswith("(dossier")
            else f"p95 < {TARGET_P95_MS:.0f} ms {'ok' if p95 < TARGET_P95_MS else 'OVER'}"
        )
        log(f"   {name:<38} {percentile(s, 50):7.1f} {p95:7.1f} {s[-1]:7.1f} {over:>6}   {verdict}")
    peak, now = memory.get("VmHWM", 0) / 1e6, memory.get("VmRSS", 0) / 1e6
    log(
        f"   server RSS peak (VmHWM) {peak:6.1f} MB, now (VmRSS) {now:6.1f} MB"
        f"   RSS < {TARGET_RSS_MB:.0f} MB {'ok' if peak < TARGET_RSS_MB else 'OVER'}"
    )
    if extras:
        log(
            "Beyond the targeted scenarios (server peak RSS of each step, measured after the run "
            "above; not in the figures above):"
        )
        for line in extras:
            log(f"   {line}")
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    counts = [
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("dossier", "dossier_event", "outbox")
    ]
    conn.close()
    log(
        f"   database {mib(size_before)} before the run, {mib(db_size(db_path))} after "
        f"({counts[0]:,} dossiers, {counts[1]:,} events, {counts[2]:,} outbox rows)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
