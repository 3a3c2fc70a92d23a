"""The living city on one machine: the hub and the 14 desks (the city's own and the 13 wards'),
each a separate process on a loopback port, filled by the city generator and synced.

:class:`DemoCity` builds it in a throw-away folder. Generating processes (two by default, one
per core, at a lower priority) each set up wards and play their share of the plan through the
service layer; two more processes sync each ward to the hub, which is already serving, as soon as
it is generated, so the hub applies one ward's records while the next ones are generated and no
core waits for the hub. Every password is fresh and random and printed once.
"""

from __future__ import annotations

import datetime as dt
import functools
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import requests
from werkzeug.security import generate_password_hash

from kernel.columns import utcnow
from kernel.workdays import to_local
from wardapp.extensions import db
from wardapp.generator.people import ensure_chairman_name
from wardapp.generator.plan import ARTICLE, Planned, Preset, city_preset, plan_city
from wardapp.generator.write import WardRun
from wardapp.sync.records import User

DEMO_ACCOUNTS = {
    "letan": ("Trần Thị Ngọc Hân", "receptionist"),
    "chuyenvien": ("Lê Văn Phúc", "officer"),
    "tuphap": ("Nguyễn Thị Mỹ Linh", "officer"),
    "lanhdao": ("Phạm Quốc Hùng", "leader"),
}
HUB_ACCOUNTS = {
    "xembaocao": ("Văn phòng HĐND và UBND thành phố", "viewer"),
    "quantri": ("Quản trị hệ thống thành phố", "admin"),
}


def demo_passwords() -> dict[str, str]:
    """A fresh random password for the admin and each demo account."""
    return {name: secrets.token_urlsafe(9) for name in ("admin", *DEMO_ACCOUNTS)}


def create_demo_users(ward_code: str, passwords: dict[str, str]) -> None:
    for username, (full_name, role) in DEMO_ACCOUNTS.items():
        account = User(
            ward_code=ward_code,
            username=username,
            full_name=full_name,
            roles=role,
            password_hash=demo_password_hash(passwords[username]),
        )
        db.session.add(account)
    db.session.commit()


@functools.cache
def demo_password_hash(password: str) -> str:
    """One hash of a demo password per process: the 14 desks share their demo passwords, and
    each hash costs about 80 ms of CPU (scrypt)."""
    return generate_password_hash(password)


def generate_dossiers(
    *,
    months: int,
    seed: int = 2020,
    until: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Fill this ward alone with ``months`` of the city's pace up to ``until`` (default now);
    the benchmarks' seed ward."""
    from wardapp.dossiers.service import this_ward

    preset = seed_preset(this_ward().ward_code, months=months, seed=seed, until=until or utcnow())
    ensure_chairman_name()
    return WardRun(preset).run(plan_city(preset), progress)


def seed_preset(unit: str, *, months: int, seed: int, until: dt.datetime) -> Preset:
    """One desk's share of the city from the 1st of the month ``months - 1`` before ``until``
    up to ``until``: what :func:`generate_dossiers` plays (the benchmarks test their seeds'
    dates against it)."""
    last = to_local(until).date()
    first = (last.replace(day=1) - dt.timedelta(days=31 * (months - 1))).replace(day=1)
    return city_preset(first, last, units=(unit,), until=until, seed=seed)


def small_preset(seed: int = 2020, now: dt.datetime | None = None) -> Preset:
    """The quick city: the 30 days up to yesterday, every desk at a fifth of the article's pace
    (today is left to the people trying the demo)."""
    today = to_local(now or utcnow()).date()
    return city_preset(
        today - dt.timedelta(days=30), today - dt.timedelta(days=1), scale=0.2, seed=seed
    )


def article_preset(seed: int = 2020) -> Preset:
    return replace(ARTICLE, seed=seed)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Desk:
    code: str
    name: str
    instance: Path
    port: int
    token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


def _generate_desk(
    desk: Desk, preset: Preset, plans: list[Planned], passwords: dict, hub_url: str, queue
) -> tuple[str, int]:
    """In a generating process: set up one desk and play its plan. Returns (code, dossiers)."""
    from wardapp.cli import initialise
    from wardapp.sync.client import SyncConfig

    app, _ = initialise(str(desk.instance), desk.code, "admin", passwords["admin"])
    SyncConfig(hub_url, desk.token).save(str(desk.instance))
    with app.app_context():
        create_demo_users(desk.code, passwords)
        ensure_chairman_name()
        received = WardRun(preset).run(plans, progress=lambda n: queue.put(("dossiers", n)))
        db.session.remove()
        db.engine.dispose()
    queue.put(("generated", desk.code))
    return desk.code, received


def _sync_desk(desk: Desk, queue) -> tuple[str, int]:
    """In the syncing process: push one generated desk to the hub, as its scheduled task would.
    Returns (code, sync exit code)."""
    from wardapp import create_app
    from wardapp.sync.client import HubClient, SyncConfig, SyncRun

    app = create_app(instance_path=str(desk.instance))
    with app.app_context():
        code = SyncRun(HubClient(SyncConfig.load(str(desk.instance)))).run()
        db.session.remove()
        db.engine.dispose()
    queue.put(("synced", desk.code))
    return desk.code, code


class ScheduledSyncs:
    """Every desk's scheduled sync, run as its Task Scheduler would run it (``wardapp sync run``,
    which takes the desk's sync lock), each desk once every ``minutes``.

    The desks take turns spread evenly over the period, one sync at a time, so the city stays
    alive on two cores without fourteen syncs at once. :meth:`tick` is called by the demo's
    supervisor loop; it never blocks. Each desk's runs are logged to ``<code>-sync.log``.
    """

    def __init__(
        self,
        desks: list[Desk],
        minutes: float,
        root: Path,
        *,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.desks, self.root, self.clock = desks, Path(root), clock
        self.gap = minutes * 60 / len(desks) if desks and minutes > 0 else 0.0
        self.next_at = clock() + self.gap  # the city was synced as it was built
        self.turn = 0
        self.child: subprocess.Popen | None = None

    def tick(self) -> None:
        """Start the next desk's sync if its time has come and the last one has ended."""
        if not self.gap or (self.child is not None and self.child.poll() is None):
            return
        self.child = None
        now = self.clock()
        if now < self.next_at:
            return
        desk = self.desks[self.turn % len(self.desks)]
        self.turn += 1
        self.next_at = max(self.next_at + self.gap, now)  # a slow run delays, never piles up
        with open(self.root / f"{desk.code}-sync.log", "ab") as log:
            self.child = subprocess.Popen(
                [sys.executable, "-m", "wardapp", "sync", "run", "--no-delay"]
                + ["--instance", str(desk.instance)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the demo, which stops it
            )

    def stop(self) -> None:
        """Stop a sync still running (the lock goes with its process)."""
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        self.child = None


class DemoCity:
    """A hub and its desks in ``root``: build, serve, stop.

    :param base_port: the hub's port; the desks take the following ones (0: any free ports).
    :param sync_every: minutes between two scheduled syncs of a desk once the city is ready
        (0: none).
    """

    def __init__(
        self,
        root: Path,
        preset: Preset,
        *,
        base_port: int = 8080,
        processes: int = 2,
        sync_every: float = 3,
        echo: Callable[[str], None] = print,
    ):
        from kernel.refdata import read_json

        self.root, self.preset, self.processes, self.echo = Path(root), preset, processes, echo
        names = {u["code"]: u["name"] for u in read_json("units.json")["units"]}
        ports = (
            [base_port + i for i in range(len(preset.units) + 1)]
            if base_port
            else [free_port() for _ in range(len(preset.units) + 1)]
        )
        self.hub_port = ports[0]
        self.desks = [
            Desk(code, names[code], self.root / code, port)
            for code, port in zip(preset.units, ports[1:])
        ]
        self.passwords = demo_passwords()
        self.hub_passwords = {name: secrets.token_urlsafe(9) for name in HUB_ACCOUNTS}
        self.children: dict[str, subprocess.Popen] = {}
        self.sync_every = sync_every
        self.schedule: ScheduledSyncs | None = None
        self.received = 0

    @property
    def hub_url(self) -> str:
        return f"http://127.0.0.1:{self.hub_port}/"

    def check_ports(self) -> None:
        """Refuse at once, with the port named, when another program listens on one of ours.

        The test bind asks for SO_REUSEADDR, as the servers' own binds do, so a port whose last
        connections still linger in TIME-WAIT (the demo stopped a moment ago) passes, while a
        port some program really listens on is still refused.
        """
        for port in (self.hub_port, *(d.port for d in self.desks)):
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    raise RuntimeError(f"Cổng {port} đang được dùng; chọn --port khác.") from None

    # --- building -------------------------------------------------------------------------

    def init_hub(self) -> None:
        """The hub's database, its first catalogue, its two accounts and a credential per desk."""
        from city_hub.cli import open_hub
        from city_hub.extensions import db as hub_db
        from city_hub.models import HubUser, Ward
        from city_hub.refdata import publish
        from city_hub.wards import issue_credential
        from kernel.refdata import snapshot_from_files

        app = open_hub(str(self.root / "hub"))
        with app.app_context():
            publish(snapshot_from_files())
            for username, (full_name, role) in HUB_ACCOUNTS.items():
                account = HubUser(username=username, full_name=full_name, role=role)
                account.set_password(self.hub_passwords[username])
                hub_db.session.add(account)
            for desk in self.desks:
                ward = Ward(code=desk.code, name=desk.name)
                desk.token = issue_credential(ward)
                hub_db.session.add(ward)
            hub_db.session.commit()
            hub_db.session.remove()
            hub_db.engine.dispose()

    def build(
        self,
        plans: list[Planned],
        on_progress: Callable[[str, object], None],
        *,
        serve: bool = True,
    ) -> None:
        """Set up, fill and sync every desk in worker processes; ``on_progress(kind, value)`` is
        called with ("dossiers", n), ("generated", code) and ("synced", code).

        :param serve: start each desk's server as soon as its desk is synced, so their start-up
            overlaps the other desks' building.
        """
        context = multiprocessing.get_context("spawn")  # no inherited SQLite handles
        with context.Manager() as manager:
            self._build(plans, on_progress, context, manager.Queue(), serve)

    def _build(self, plans, on_progress, context, queue, serve) -> None:
        def tell(kind, value):
            if kind == "synced" and serve:
                self.start_desk(next(d for d in self.desks if d.code == value))
            on_progress(kind, value)

        by_unit: dict[str, list[Planned]] = {d.code: [] for d in self.desks}
        for plan in plans:
            by_unit[plan.unit].append(plan)
        order = sorted(self.desks, key=lambda d: -len(by_unit[d.code]))  # biggest first
        hub_api = self.hub_url.rstrip("/")
        # Generating yields the processor to syncing, so the hub keeps pace and the last desks
        # are not left waiting for it at the end.
        generating = context.Pool(self.processes, initializer=os.nice, initargs=(10,))
        # Two desks sync at once: one builds its next batch while the hub applies the other's.
        syncing = context.Pool(2)
        syncs = []  # appended by the pool's result thread as each desk is generated

        def sync_when_generated(result, desk):
            syncs.append(syncing.apply_async(_sync_desk, (desk, queue)))

        try:
            generated = [
                generating.apply_async(
                    _generate_desk,
                    (desk, self.preset, by_unit[desk.code], self.passwords, hub_api, queue),
                    callback=functools.partial(sync_when_generated, desk=desk),
                )
                for desk in order
            ]
            while not (
                all(r.ready() for r in generated)
                and len(syncs) == len(generated)
                and all(r.ready() for r in syncs)
            ):
                while not queue.empty():
                    tell(*queue.get())
                for result in generated + syncs:
                    if result.ready() and not result.successful():
                        result.get()  # raises the worker's error here
                time.sleep(0.1)
            while not queue.empty():
                tell(*queue.get())
            self.received += sum(r.get()[1] for r in generated)
            for result in syncs:
                code, sync_code = result.get()
                if sync_code != 0:
                    raise RuntimeError(f"đồng bộ {code} kết thúc với mã {sync_code}")
            generating.close()
            syncing.close()
        except BaseException:  # Ctrl-C or a failed desk: stop the workers now, not after them
            generating.terminate()
            syncing.terminate()
            raise
        finally:
            generating.join()
            syncing.join()

    # --- serving --------------------------------------------------------------------------

    def _start(self, args: list[str], name: str) -> None:
        """Start one server; its output goes to ``<name>.log`` and its process id to
        ``<name>.pid`` in the city's folder (to stop one desk, or the hub, by hand)."""
        log = open(self.root / f"{name}.log", "ab")
        child = subprocess.Popen(
            [sys.executable, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # Ctrl-C reaches us, not them
        log.close()
        (self.root / f"{name}.pid").write_text(f"{child.pid}\n")
        self.children[name] = child

    def start_hub(self, wait: bool = True) -> None:
        """Start the hub's server (``wait=False``: return at once; :meth:`wait_for_hub` later)."""
        self._start(
            [
                "-c",
                "from city_hub.cli import cli; cli()",
                "serve",
                "--port",
                str(self.hub_port),
                "--instance",
                str(self.root / "hub"),
            ],
            "hub",
        )
        if wait:
            self.wait_for_hub()

    def wait_for_hub(self) -> None:
        self.wait_for([self.hub_url + "auth/login"])

    def start_desk(self, desk: Desk) -> None:
        self._start(
            [
                "-m",
                "wardapp",
                "serve",
                "--port",
                str(desk.port),
                "--threads",
                "4",
                "--instance",
                str(desk.instance),
            ],
            desk.code,
        )

    def start_desks(self) -> None:
        """Start the desks not started yet, and wait until every desk answers."""
        for desk in self.desks:
            if desk.code not in self.children:
                self.start_desk(desk)
        self.wait_for([desk.url + "auth/login" for desk in self.desks])

    def wait_for(self, urls: list[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for url in urls:
            while True:
                if any(child.poll() is not None for child in self.children.values()):
                    raise RuntimeError(f"một tiến trình đã dừng; xem nhật ký trong {self.root}")
                try:
                    if requests.get(url, timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} không trả lời sau {timeout:.0f} s")
                time.sleep(0.1)

    def watch(self) -> None:
        """Serve until Ctrl-C, running the desks' scheduled syncs, and telling when a server
        stops (the others go on: stopping the hub by hand is how to see a desk work through an
        outage; its scheduled syncs then fail and the panel says so)."""
        told: set[str] = set()
        self.schedule = ScheduledSyncs(self.desks, self.sync_every, self.root)
        while True:
            self.schedule.tick()
            for name, child in self.children.items():
                if child.poll() is not None and name not in told:
                    told.add(name)
                    self.echo(
                        f"Máy chủ {name} đã dừng (mã {child.returncode}); "
                        f"nhật ký: {self.root / (name + '.log')}"
                    )
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop the scheduled syncs and every server (SIGTERM, then SIGKILL after 5 s)."""
        if self.schedule is not None:
            self.schedule.stop()
        for child in self.children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in self.children.values():
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        self.children.clear()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
