"""Sync faults that need real processes (docs/guarantees.md, T1–T24): kill -9 of the hub and of the
ward, power loss during intake and sync (100 kills), a full disk at either end and at the desk,
and thirteen wards at once.

Everything runs on 127.0.0.1. Hubs are ``city-hub serve`` subprocesses, except for the disk-full
tests, which need a hook on the hub's engine and so run the hub in-process on waitress with
production settings (``TESTING`` off, so an unhandled error is answered as production answers it).
Wards run :class:`SyncRun` in-process, or ``wardapp sync`` as a subprocess.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy import event

from kernel.refdata import read_json, valid_on
from wardapp import create_app
from wardapp.database import upgrade_schema
from wardapp.dossiers.service import receive_dossier, record_step
from wardapp.extensions import db
from wardapp.models import CalendarOverride, Outbox, Procedure, SyncNode, Unit
from wardapp.refdata import load_reference_data
from wardapp.sync.client import EXIT_FAILED, EXIT_OK, HubClient, SyncConfig, SyncRun, hello_body
from wardapp.sync.outgoing import local_reconcile, next_batch, sync_state
from wardapp.sync.protocol import OUTCOMES, encode
from wardapp.sync.records import User

from .conftest import WARD, Hub, LiveServer, account, intake_data, make_hub

BIN = Path(sys.executable).parent
QUIET = {"retries": 1, "backoff": 0, "sleep": lambda s: None, "timeout": 15}
SYNC_TABLES = ("user", "dossier", "dossier_event")


# --- helpers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("SYNC_FAULTS", "CITY_HUB_DATABASE_URL", "CITY_HUB_INSTANCE", "WARDAPP_INSTANCE")
    }
    env.update(extra)
    return env


class HubProcess:
    """``city-hub serve`` as a subprocess on a fixed port, optionally with ``SYNC_FAULTS``."""

    def __init__(self, instance: Path, port: int | None = None):
        self.instance = Path(instance)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.instance / "serve.log"
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, faults: str | None = None, timeout: float = 20) -> HubProcess:
        env = clean_env(**({"SYNC_FAULTS": faults} if faults else {}))
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                str(BIN / "city-hub"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--instance",
                str(self.instance),
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.close()
                raise RuntimeError(f"hub exited with {self.proc.returncode}:\n{self.log()}")
            try:  # any answer (401 without a token) means it is serving
                requests.get(self.url + "/api/sync/v1/reconcile", timeout=1)
                return self
            except requests.RequestException:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"hub did not come up:\n{self.log()}") from None
                time.sleep(0.05)

    def wait(self, timeout: float = 15) -> int:
        code = self.proc.wait(timeout)
        self.close()
        return code

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(15)
        self.close()

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def hub_dir(tmp_path):
    """A hub instance folder (schema, reference data v1, credential for ward 30280), closed:
    ``path``, ``db`` (its SQLite file) and the ward's ``token``."""
    from city_hub.extensions import db as hub_db

    path = tmp_path / "hub"
    app, tokens = make_hub(path, wards=(WARD,))
    with app.app_context():
        hub_db.engine.dispose()
    return SimpleNamespace(path=path, db=path / "hub.sqlite", token=tokens[WARD])


@pytest.fixture
def hub_procs():
    """Every hub subprocess started by a test, killed at the end whatever happened."""
    started: list[HubProcess] = []
    yield started
    for proc in started:
        proc.stop()


def sql(path: Path, query: str, *args) -> list:
    con = sqlite3.connect(path, timeout=15)
    try:
        return con.execute(query, args).fetchall()
    finally:
        con.close()


def integrity_ok(path: Path) -> None:
    assert sql(path, "PRAGMA integrity_check") == [("ok",)]
    assert sql(path, "PRAGMA foreign_key_check") == []


def client(url: str, token: str, **overrides) -> HubClient:
    return HubClient(SyncConfig(url, token), **{**QUIET, **overrides})


def sync_once(url: str, token: str, **overrides) -> int:
    return SyncRun(client(url, token, **overrides)).run()


def remote_reconcile(url: str, token: str) -> dict:
    c = client(url, token)
    return c.answer(c.call("GET", "reconcile"))["tables"]


def fresh_state():
    """The ward's sync state as committed on disk (other processes may have written it)."""
    db.session.remove()
    return sync_state()


def outbox_head() -> int:
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Outbox.seq), 0)))


def local_counts() -> dict:
    return {name: count["count"] for name, count in local_reconcile().items()}


def write_dossiers(count: int) -> None:
    """``count`` dossiers, each received and handed over (two versions, two events)."""
    officer = account("chuyenvien")
    for _ in range(count):
        dossier, _ = receive_dossier(intake_data(), actor=account("letan"))
        record_step(dossier.code, "handed_over", actor=account("letan"), to_user_uuid=officer.uuid)


def hub_batches(hub_db_path: Path, ward: str = WARD) -> list[tuple]:
    return sql(
        hub_db_path,
        "SELECT first_seq, last_seq, count, answer FROM import_batch "
        "WHERE ward_code = ? ORDER BY first_seq",
        ward,
    )


def assert_each_range_once(hub_db_path: Path, head: int, ward: str = WARD) -> list[dict]:
    """import_batch covers 1..head exactly once, every stored summary balances (G2, G9), and
    the records the hub counted as inserted are exactly the rows it holds (no double counts)."""
    expected, answers = 1, []
    for first, last, count, answer in hub_batches(hub_db_path, ward):
        assert first == expected, f"range starting {first}, expected {expected}"
        assert count == last - first + 1
        summary = json.loads(answer)["summary"]
        assert summary["received"] == count == sum(summary[k] for k in OUTCOMES)
        answers.append(json.loads(answer))
        expected = last + 1
    assert expected - 1 == head
    inserted = sum(a["summary"]["inserted"] for a in answers)
    held = sum(
        sql(hub_db_path, f'SELECT count(*) FROM "{t}" WHERE ward_code = ?', ward)[0][0]
        for t in SYNC_TABLES
    )
    assert inserted == held
    return answers


# --- T2: hub killed mid-apply ---------------------------------------------------------------


def test_hub_killed_before_commit_applies_nothing(app, hub_dir, hub_procs):
    """T2, G5, G1: ``hub.after_apply_before_commit=kill`` on a real hub process: the batch it
    was applying is not there at all after the crash; a restarted hub gets it on the next run."""
    hub_db_path = hub_dir.db
    write_dossiers(3)
    first = HubProcess(hub_dir.path)
    hub_procs.append(first.start())
    assert sync_once(first.url, hub_dir.token) == EXIT_OK
    first.stop()
    acked_before = fresh_state().acked_seq
    held_before = {t: sql(hub_db_path, f'SELECT count(*) FROM "{t}"')[0][0] for t in SYNC_TABLES}

    write_dossiers(4)
    dying = HubProcess(hub_dir.path, port=first.port)
    hub_procs.append(dying.start(faults="hub.after_apply_before_commit=kill"))
    assert sync_once(dying.url, hub_dir.token) == EXIT_FAILED
    assert dying.wait() == -signal.SIGKILL

    # Nothing of the batch in flight is at the hub: no rows, no batch record, no checkpoint move.
    integrity_ok(hub_db_path)
    assert {
        t: sql(hub_db_path, f'SELECT count(*) FROM "{t}"')[0][0] for t in SYNC_TABLES
    } == held_before
    assert sql(hub_db_path, "SELECT acked_seq FROM ward WHERE code = ?", WARD) == [(acked_before,)]
    assert len(hub_batches(hub_db_path)) == 1
    state = fresh_state()
    assert state.acked_seq == acked_before and state.last_error_code == "UNREACHABLE"

    again = HubProcess(hub_dir.path, port=first.port)
    hub_procs.append(again.start())
    assert sync_once(again.url, hub_dir.token) == EXIT_OK
    head = outbox_head()
    assert fresh_state().acked_seq == head
    assert remote_reconcile(again.url, hub_dir.token) == local_reconcile()
    integrity_ok(hub_db_path)
    assert_each_range_once(hub_db_path, head)
    assert local_counts() == {
        "user": 4,
        "dossier": 7,
        "dossier_event": 14,
        "audit_log": 0,
        "letter": 0,
        "rating": 0,
        "feedback": 0,
        "inspection": 0,
    }


# --- T3: hub killed after commit, before answering -------------------------------------------


def test_hub_killed_after_commit_answers_the_retry_from_its_store(app, hub_dir, hub_procs):
    """T3, G2: the hub commits and dies before answering; the ward's retry reaches the restarted
    hub and gets the stored summary: the range is in import_batch once, counts are not doubled."""
    hub_db_path = hub_dir.db
    write_dossiers(5)
    dying = HubProcess(hub_dir.path)
    hub_procs.append(dying.start(faults="hub.after_commit_before_response=kill"))
    restarts = []

    def restart_hub(_seconds):
        """The retry back-off: the first time, bring the hub back (without the fault)."""
        if not restarts:
            assert dying.wait() == -signal.SIGKILL
            # It died after COMMIT: the batch is durably there before anyone answered.
            assert sql(hub_db_path, "SELECT count(*) FROM import_batch")[0][0] == 1
            integrity_ok(hub_db_path)
            restarts.append(HubProcess(hub_dir.path, port=dying.port))
            hub_procs.append(restarts[0].start())

    assert sync_once(dying.url, hub_dir.token, retries=2, sleep=restart_hub) == EXIT_OK
    assert len(restarts) == 1
    head = outbox_head()
    state = fresh_state()
    assert state.acked_seq == head == 24  # 4 accounts + 5 dossiers × (2 versions + 2 events)
    [stored] = assert_each_range_once(hub_db_path, head)
    assert state.last_summary == {"first_seq": 1, "last_seq": head, **stored["summary"]}
    # Each dossier's first version went as a superseded placeholder (the hub reads them).
    assert stored["summary"]["inserted"] == 4 + 5 + 10 and stored["summary"]["stale"] == 5
    assert remote_reconcile(restarts[0].url, hub_dir.token) == local_reconcile()
    integrity_ok(hub_db_path)


# --- T1: ward killed between the hub's answer and its local commit ----------------------------


def ward_cli(instance: Path, *args, faults: str | None = None, timeout: float = 60):
    env = clean_env(**({"SYNC_FAULTS": faults} if faults else {}))
    return subprocess.run(
        [str(BIN / "wardapp"), "sync", *args, "--instance", str(instance)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def configure_ward_cli(app, url: str, token: str) -> Path:
    from wardapp import write_secret_key

    instance = Path(app.instance_path)
    write_secret_key(str(instance))
    SyncConfig(url, token).save(str(instance))
    return instance


def test_ward_killed_after_answer_heals_on_the_next_run(app, hub_dir, hub_procs):
    """T1, G4, G1, G2: ``wardapp sync`` is SIGKILLed after the hub answered but before the
    checkpoint was committed locally; the ward's checkpoint stays behind the hub's (never ahead),
    and a clean run heals without sending anything twice."""
    hub_db_path = hub_dir.db
    write_dossiers(3)
    db.session.remove()
    hub = HubProcess(hub_dir.path)
    hub_procs.append(hub.start())
    instance = configure_ward_cli(app, hub.url, hub_dir.token)

    killed = ward_cli(
        instance, "run", "--no-delay", faults="ward.after_response_before_local_commit=kill"
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    head = outbox_head()
    [(hub_acked,)] = sql(hub_db_path, "SELECT acked_seq FROM ward WHERE code = ?", WARD)
    state = fresh_state()
    assert hub_acked == head
    assert state.acked_seq == 0 <= hub_acked  # G4: the ward never runs ahead of the hub
    assert state.last_push_ok_utc is None
    integrity_ok(Path(app.instance_path) / "ward.sqlite")

    healed = ward_cli(instance, "run", "--no-delay")
    assert healed.returncode == 0, healed.stdout + healed.stderr
    report = json.loads(healed.stdout.strip().splitlines()[-1])
    assert report["result"] == 0 and report["acked_seq"] == head and report["error"] is None
    assert report["pushed"] == 0  # healed at hello: the hub's checkpoint is authoritative
    assert_each_range_once(hub_db_path, head)
    reconcile = ward_cli(instance, "reconcile")
    assert reconcile.returncode == 0, reconcile.stdout
    assert "KHÔNG KHỚP" not in reconcile.stdout


# --- T23: power loss during local writes and sync ----------------------------------------------

ZYGOTE = r"""
import fcntl, os, signal, sys, time, uuid
import sqlalchemy as sa
from wardapp import create_app
from wardapp.extensions import db
from wardapp.dossiers.service import receive_dossier, record_step
from wardapp.models import Procedure
from wardapp.sync.records import User
from wardapp.sync.client import HubClient, SyncConfig, SyncRun

instance = sys.argv[1]
hub = SyncConfig(sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else None


def writer(ready_fd, phase_fd):
    app = create_app({"TESTING": True, "SECRET_KEY": "t"}, instance_path=instance)
    with app.app_context():
        def user(name):
            return db.session.scalar(sa.select(User).where(User.username == name))
        procedure = db.session.get(Procedure, "1.001193")
        documents = [d["name"] for d in procedure.documents if d["required"]]
        letan, officer = user("letan"), user("chuyenvien")
        os.write(ready_fd, b"r")
        os.close(ready_fd)
        codes = []
        while True:
            os.write(phase_fd, b"i")
            dossier, _ = receive_dossier({
                "request_key": uuid.uuid4().hex, "procedure_code": "1.001193",
                "applicant_kind": "person", "applicant_name": "Nguyễn Văn Đức",
                "citizen_id": "089095001234", "phone": "0912345678",
                "address": "Số 12 đường Hà Hoàng Hổ, phường Mỹ Bình", "channel": "desk",
                "return_method": "desk", "sets_count": 1, "documents": documents},
                actor=letan)
            codes.append(dossier.code)
            record_step(dossier.code, "handed_over", actor=letan, to_user_uuid=officer.uuid)
            if len(codes) > 3:  # a new version of an older dossier, too
                record_step(codes.pop(0), "resolved", actor=officer)
            if hub is not None:
                os.write(phase_fd, b"s")
                SyncRun(HubClient(hub, retries=0, timeout=5)).run()


for line in sys.stdin:
    delay = float(line)
    ready_r, ready_w = os.pipe()
    phase_r, phase_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        os.close(phase_r)
        try:
            writer(ready_w, phase_w)
        finally:
            os._exit(3)
    os.close(ready_w)
    os.close(phase_w)
    started = os.read(ready_r, 1) == b"r"
    os.close(ready_r)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    phases = b""
    while chunk := os.read(phase_r, 4096):
        phases += chunk
    os.close(phase_r)
    print(started, os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL,
          (phases[-1:] or b"-").decode(), flush=True)
"""

OUTBOX_GAPS = """
SELECT 'missing outbox row', t, uuid, version FROM (
  SELECT 'dossier' AS t, uuid, version FROM dossier
  UNION ALL SELECT 'dossier_event', uuid, version FROM dossier_event
  UNION ALL SELECT 'user', uuid, version FROM user) r
WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.table_name = r.t AND o.record_uuid = r.uuid
                  AND o.record_version = r.version)
UNION ALL
SELECT 'outbox row without its record', o.table_name, o.record_uuid, o.record_version
FROM outbox o WHERE NOT EXISTS (
  SELECT 1 FROM (SELECT 'dossier' AS t, uuid, version FROM dossier
                 UNION ALL SELECT 'dossier_event', uuid, version FROM dossier_event
                 UNION ALL SELECT 'user', uuid, version FROM user) r
  WHERE r.t = o.table_name AND r.uuid = o.record_uuid AND r.version >= o.record_version)
"""


def assert_ward_db_consistent(path: Path) -> None:
    """integrity_check ok, every record's current version has its outbox row, every outbox row
    has its record, the outbox numbering has no holes, and the search index matches."""
    integrity_ok(path)
    assert sql(path, OUTBOX_GAPS) == []
    [(rows, head)] = sql(path, "SELECT count(*), coalesce(max(seq), 0) FROM outbox")
    assert rows == head
    sql(path, "INSERT INTO dossier_fts(dossier_fts) VALUES ('integrity-check')")


class Zygote:
    """A process that has paid the imports once and forks a writer per kill (so each round is
    cheap): ``kill_after(seconds)`` returns the phase the writer was in when it was killed."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE, *args],
            env=clean_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def kill_after(self, seconds: float) -> str:
        self.proc.stdin.write(f"{seconds:.3f}\n")
        self.proc.stdin.flush()
        started, killed, phase = self.proc.stdout.readline().split()
        assert started == "True" and killed == "True"
        return phase

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(15)
        self.proc.stdout.close()


def test_power_loss_during_intake_and_sync_a_hundred_times(app, hub_dir, hub_procs, tmp_path):
    """Issue 8: the ward app, receiving dossiers and syncing them to a real hub process, is
    SIGKILLed at 100 random moments, in intake and in sync alike (T1, T23). After every kill the
    database passes its integrity check, every record has its outbox row and nothing committed
    is lost; at the end one clean sync delivers everything, each batch range once (G1, G2, G5).
    A forked writer per kill keeps each round cheap (the imports are paid once)."""
    db.session.remove()
    db.engine.dispose()
    ward_db = tmp_path / "ward.sqlite"
    server = HubProcess(hub_dir.path)
    hub_procs.append(server.start())
    rng = random.Random(os.environ.get("T23_SEED"))
    zygote = Zygote(str(tmp_path), server.url, hub_dir.token)
    phases, counts = [], []
    try:
        for _ in range(100):
            phases.append(zygote.kill_after(rng.uniform(0.02, 0.25)))
            assert_ward_db_consistent(ward_db)
            counts.append(sql(ward_db, "SELECT count(*) FROM dossier")[0][0])
    finally:
        zygote.close()
    assert phases.count("i") >= 10 and phases.count("s") >= 10, phases
    assert counts[-1] > 0 and counts == sorted(counts)  # it was writing, and kept what it wrote
    assert sync_once(server.url, hub_dir.token) == EXIT_OK
    head = outbox_head()
    assert fresh_state().acked_seq == head
    assert remote_reconcile(server.url, hub_dir.token) == local_reconcile()
    assert_each_range_once(hub_dir.db, head)
    integrity_ok(hub_dir.db)


# --- T12/T13: disk full ----------------------------------------------------------------------


@contextmanager
def disk_full(engine: sa.Engine, spare_pages: int = 0, before=None):
    """Every new connection of ``engine`` may grow the file by ``spare_pages`` pages at most
    (``PRAGMA max_page_count``), so a write that needs more fails with SQLITE_FULL."""
    if before:
        before()
    with engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()

    def cap(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + spare_pages}")

    event.listen(engine, "connect", cap)
    engine.dispose()
    try:
        yield pages + spare_pages
    finally:
        if before:
            before()
        event.remove(engine, "connect", cap)
        engine.dispose()


@pytest.fixture
def prod_hub(tmp_path):
    """An in-process hub on waitress with production error handling (``TESTING`` off)."""
    from city_hub.extensions import db as hub_db

    app, tokens = make_hub(tmp_path / "hub", wards=(WARD,), TESTING=False)
    with LiveServer(app) as url:
        running = Hub(app, url, tokens[WARD])
        running.db_path = tmp_path / "hub" / "hub.sqlite"
        yield running
    with app.app_context():
        hub_db.session.remove()
        hub_db.engine.dispose()


class RecordingSession(requests.Session):
    """A requests session that notes (method, endpoint, status, content type) of each answer."""

    def __init__(self):
        super().__init__()
        self.seen: list[tuple[str, str, int, str]] = []

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        self.seen.append(
            (
                request.method,
                request.path_url.split("?")[0].rsplit("/", 1)[-1],
                response.status_code,
                response.headers.get("Content-Type", ""),
            )
        )
        return response


def hub_engine(hub):
    from city_hub.extensions import db as hub_db

    with hub.app.app_context():
        return hub_db.engine


def test_full_disk_at_hub_rolls_the_batch_back(app, prod_hub):
    """T13, G5: the hub's disk fills mid-batch; nothing is applied, nobody's checkpoint moves,
    the failure is a retried 5xx, and the next run after space is freed delivers everything."""
    write_dossiers(40)
    session = RecordingSession()
    with disk_full(hub_engine(prod_hub), spare_pages=2):
        assert sync_once(prod_hub.url, prod_hub.token, session=session) == EXIT_FAILED
        pushes = [s for s in session.seen if s[1] == "push"]
        assert len(pushes) == 2 and all(500 <= status < 600 for _, _, status, _ in pushes)
        assert [s[2] for s in session.seen if s[1] == "hello"] == [200]
    assert prod_hub.count("dossier") == prod_hub.count("dossier_event") == 0
    assert prod_hub.ward().acked_seq == 0
    assert sql(prod_hub.db_path, "SELECT count(*) FROM import_batch") == [(0,)]
    integrity_ok(prod_hub.db_path)
    state = fresh_state()
    assert state.acked_seq == 0 and state.last_push_ok_utc is None and state.last_error

    assert sync_once(prod_hub.url, prod_hub.token) == EXIT_OK
    assert remote_reconcile(prod_hub.url, prod_hub.token) == local_reconcile()
    assert_each_range_once(prod_hub.db_path, outbox_head())


def test_full_disk_at_hub_answers_json(app, prod_hub):
    """T13: the push refused for lack of space is a 5xx with a JSON error body, like every
    other answer of the sync API (not an HTML error page), and applies nothing."""
    write_dossiers(40)
    hello = client(prod_hub.url, prod_hub.token)
    hello.answer(hello.call("POST", "hello", json=hello_body()))
    with disk_full(hub_engine(prod_hub), spare_pages=2):
        response = requests.post(
            f"{prod_hub.url}/api/sync/v1/push",
            data=encode(next_batch(0)),
            timeout=15,
            headers={"Authorization": f"Bearer {prod_hub.token}", "Content-Encoding": "gzip"},
        )
    assert prod_hub.ward().acked_seq == 0
    assert 500 <= response.status_code < 600
    assert response.headers.get("Content-Type", "").startswith("application/json")
    assert response.json()["error"]["code"]


def refdata_dump() -> list:
    return [
        [
            (u.code, u.name, u.agency_code, u.valid_to)
            for u in db.session.scalars(sa.select(Unit).order_by(Unit.code))
        ],
        [
            (p.code, p.name, p.active, p.duration_value)
            for p in db.session.scalars(sa.select(Procedure).order_by(Procedure.code))
        ],
        [
            (o.day, o.is_working_day)
            for o in db.session.scalars(sa.select(CalendarOverride).order_by(CalendarOverride.day))
        ],
    ]


def publish_big_snapshot(hub) -> int:
    """Reference data v2 at the hub, with enough calendar overrides to need new pages."""
    import datetime as dt

    from city_hub.extensions import db as hub_db
    from city_hub.refdata import publish
    from kernel.refdata import snapshot_from_files

    snapshot = snapshot_from_files()
    snapshot["calendar_overrides"] = [
        {
            "day": (dt.date(2030, 1, 1) + dt.timedelta(days=i)).isoformat(),
            "is_working_day": i % 2 == 0,
            "reason": f"Điều chỉnh lịch làm việc số {i}",
        }
        for i in range(1500)
    ]
    with hub.app.app_context():
        version = publish(snapshot).version
        hub_db.session.commit()
    return version


def run_with_full_ward_disk(hub) -> tuple[int | Exception, list]:
    """Sync cleanly (accounts pushed, reference data v1 pulled), publish a bigger v2, then sync
    again with the ward's file unable to grow. Returns the outcome of that run and the
    reference data as it was before it."""
    assert sync_once(hub.url, hub.token) == EXIT_OK
    assert sync_state().refdata_version == 1
    before = refdata_dump()
    assert publish_big_snapshot(hub) == 2
    with disk_full(db.engine, spare_pages=0, before=db.session.remove):
        outcome = sync_once(hub.url, hub.token)
    return outcome, before


def test_full_disk_during_reference_pull_keeps_the_old_data(app, prod_hub):
    """T12, G8: the ward's disk fills while it applies a new reference-data snapshot; the old
    snapshot stays whole and in force, and the pull succeeds once space is freed."""
    outcome, before = run_with_full_ward_disk(prod_hub)
    assert outcome == EXIT_FAILED
    state = fresh_state()
    assert state.refdata_version == 1
    assert refdata_dump() == before
    integrity_ok(Path(app.instance_path) / "ward.sqlite")

    assert sync_once(prod_hub.url, prod_hub.token) == EXIT_OK
    assert fresh_state().refdata_version == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarOverride)) == 1500


def test_full_disk_during_reference_pull_is_reported(app, prod_hub):
    """G12: the failure is recorded (the panel shows it), with a message that names the disk."""
    outcome, _ = run_with_full_ward_disk(prod_hub)
    assert outcome == EXIT_FAILED
    state = fresh_state()
    assert state.last_error_code == "LOCAL_DB_ERROR" and state.consecutive_failures == 1
    assert "Ổ đĩa" in state.last_error


def test_a_failure_that_cannot_be_recorded_is_logged_not_raised(app, monkeypatch, caplog):
    """When the disk has no byte left even for noting a failure on the panel, sync still ends
    with its exit code and a log line (the admin's scheduler sees both), not a traceback."""
    import contextlib
    import logging

    from wardapp.sync import client as sync_client

    @contextlib.contextmanager
    def no_space(session=None):
        raise sa.exc.OperationalError(
            "UPDATE sync_state", {}, Exception("database or disk is full")
        )
        yield

    monkeypatch.setattr(sync_client, "write_transaction", no_space)
    caplog.set_level(logging.INFO, logger="wardapp.sync")
    run = SyncRun(
        HubClient(
            SyncConfig("http://127.0.0.1:9", "token"),
            retries=1,
            backoff=0,
            sleep=lambda s: None,
            timeout=2,
        )
    )
    assert run.run() == EXIT_FAILED
    events = [json.loads(r.getMessage())["event"] for r in caplog.records]
    assert "failure_not_recorded" in events


def table_counts() -> dict:
    return {
        name: db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
        for name in ("dossier", "dossier_event", "outbox")
    } | {"versions": db.session.scalar(sa.text("SELECT coalesce(sum(version), 0) FROM dossier"))}


def refused_whole(operation) -> bool:
    """Run one service-layer write; True if it failed for lack of space and left no trace."""
    before = table_counts()
    try:
        operation()
    except sa.exc.OperationalError as e:
        db.session.rollback()
        assert "database or disk is full" in str(e)
        assert table_counts() == before
        return True
    return False


def test_full_disk_during_local_intake_writes_nothing_half(app):
    """T12: the ward's disk fills during intake and lifecycle steps. The write that hits the
    limit fails with a clear "database or disk is full" error and leaves no trace (no dossier
    without its event, no record without its outbox row); after space is freed the desk works.
    The headroom grows until the limit has been hit both in an intake and in a step."""
    write_dossiers(2)
    failed_in = set()
    for spare_pages in range(16):
        with disk_full(db.engine, spare_pages=spare_pages, before=db.session.remove):
            officer, letan = account("chuyenvien"), account("letan")
            for _ in range(100):
                received = []
                if refused_whole(
                    lambda: received.append(receive_dossier(intake_data(), actor=letan)[0].code)
                ):
                    failed_in.add("intake")
                    break
                if refused_whole(
                    lambda: record_step(
                        received[0], "handed_over", actor=letan, to_user_uuid=officer.uuid
                    )
                ):
                    failed_in.add("step")
                    break
            else:
                pytest.fail(f"{spare_pages} spare pages were never used up")
        assert_ward_db_consistent(Path(app.instance_path) / "ward.sqlite")
        if failed_in == {"intake", "step"}:
            break
    assert failed_in == {"intake", "step"}
    write_dossiers(1)
    assert_ward_db_consistent(Path(app.instance_path) / "ward.sqlite")


def test_full_disk_at_the_desk_shows_a_clear_message_and_writes_nothing(app, client, auth):
    """Disk full during intake through the web form: a Vietnamese message (507), not a bare 500,
    and nothing half written; the same form goes through once there is room."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production does
    auth.login()
    with disk_full(db.engine, spare_pages=0, before=db.session.remove):
        for _ in range(200):  # the free room left in the file's pages is used up first
            db.session.rollback()
            before, data = table_counts(), intake_data()
            response = client.post("/dossiers", data=data)
            if response.status_code != 302:
                break
        db.session.rollback()
        assert table_counts() == before
    assert response.status_code == 507
    assert "Ổ đĩa của máy đã đầy" in response.text and "dữ liệu cũ vẫn nguyên vẹn" in response.text
    assert client.post("/dossiers", data=data).status_code == 302
    assert_ward_db_consistent(Path(app.instance_path) / "ward.sqlite")


# --- T24: thirteen wards at once after a hub outage -------------------------------------------

WARD_CODES = [
    u["code"]
    for u in read_json("units.json")["units"]
    if u["kind"] in ("phuong", "xa") and valid_on(u, dt.date(2020, 1, 1))
]


@pytest.fixture(scope="module")
def blank_ward_db(tmp_path_factory) -> Path:
    """A migrated ward database with the shipped reference data and no identity yet."""
    path = tmp_path_factory.mktemp("blank-ward")
    blank = create_app({"TESTING": True, "SECRET_KEY": "t"}, instance_path=str(path))
    with blank.app_context():
        upgrade_schema()
        load_reference_data()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return path / "ward.sqlite"


def ward_app(code: str, instance: Path, blank: Path):
    """A ward ``code`` on a copy of ``blank``: its identity and two accounts (no password)."""
    instance.mkdir(parents=True)
    shutil.copy(blank, instance / "ward.sqlite")
    ward = create_app({"TESTING": True, "SECRET_KEY": "t"}, instance_path=str(instance))
    with ward.app_context():
        db.session.add(SyncNode(id=1, ward_code=code))
        db.session.add_all(
            [
                User(
                    ward_code=code,
                    username="letan",
                    full_name="Lễ tân",
                    roles="receptionist",
                    password_hash="!",
                ),
                User(
                    ward_code=code,
                    username="chuyenvien",
                    full_name="Chuyên viên",
                    roles="officer",
                    password_hash="!",
                ),
            ]
        )
        db.session.commit()
        write_dossiers(4)
        db.session.remove()
    return ward


def test_thirteen_wards_converge_after_a_hub_outage(tmp_path, blank_ward_db, hub_procs):
    """T24: the thirteen wards of Long Xuyên (30280…30313) all fail while the hub is down, then
    all sync at once (threads released together, small jitter) against one hub subprocess: every
    run succeeds, no 5xx is left unanswered, and every ward's reconcile equals the hub's."""
    from city_hub.extensions import db as hub_db

    assert len(WARD_CODES) == 13 and WARD_CODES[0] == "30280" and WARD_CODES[-1] == "30313"
    hub_app, tokens = make_hub(tmp_path / "hub", wards=WARD_CODES)
    with hub_app.app_context():
        hub_db.engine.dispose()
    wards = {code: ward_app(code, tmp_path / code, blank_ward_db) for code in WARD_CODES}
    hub = HubProcess(tmp_path / "hub")
    results, sessions, errors = {}, {}, []

    def sync_all(*, jitter: float, **overrides) -> None:
        barrier = threading.Barrier(len(wards))

        def one(code):
            try:
                with wards[code].app_context():
                    sessions[code] = RecordingSession()
                    barrier.wait()
                    time.sleep(random.uniform(0, jitter))
                    results[code] = sync_once(
                        hub.url, tokens[code], session=sessions[code], **overrides
                    )
                    db.session.remove()
            except BaseException as e:  # noqa: BLE001 — reported below
                errors.append((code, e))

        threads = [threading.Thread(target=one, args=(code,)) for code in wards]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert not errors, errors
        assert not any(t.is_alive() for t in threads)

    # The hub is down: every ward fails cleanly and says so.
    sync_all(jitter=0.05)
    assert set(results.values()) == {EXIT_FAILED}
    for ward in wards.values():
        with ward.app_context():
            assert sync_state().last_error_code == "UNREACHABLE" and sync_state().acked_seq == 0
            db.session.remove()

    # The hub comes back and the whole city syncs at once.
    hub_procs.append(hub.start())
    results.clear()
    sync_all(jitter=0.2, retries=4, backoff=0.2, sleep=time.sleep)
    assert results == dict.fromkeys(WARD_CODES, EXIT_OK)
    server_errors = [(c, s) for c, session in sessions.items() for s in session.seen if s[2] >= 500]
    # Any 5xx must have been answered and retried (every run ended OK); none is expected.
    assert server_errors == []
    assert "Traceback" not in hub.log() and "Exception on" not in hub.log()
    hub_db_path = tmp_path / "hub" / "hub.sqlite"
    integrity_ok(hub_db_path)
    for code, ward in wards.items():
        with ward.app_context():
            assert local_reconcile() == remote_reconcile(hub.url, tokens[code]), code
            assert sync_state().acked_seq == outbox_head() == 2 + 4 * 4
            assert_each_range_once(hub_db_path, outbox_head(), ward=code)
            db.session.remove()
            db.engine.dispose()
