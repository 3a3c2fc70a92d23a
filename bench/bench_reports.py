"""City report speed: the 9-month report over five years of the city, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_reports.py [--rebuild] [--only sqlite|postgresql] [--runs 20]
        [--trial-runs 10] [--warmup 2] [--experiments|--no-experiments] [--wait-idle]
        [--build-only] [--pg-url URL]

The requirement: "The 9-month city report over a hub holding 5 years of the city (about 600,000
dossiers and 3 million events) under 300 ms on SQLite and on PostgreSQL; the Excel export of it
under 2 s. Print the ratio of the report's time to a single bare SQL ``COUNT(*) … GROUP BY
ward`` scan of the dossier table in the same run (the physical floor)." Figures are printed next
to their targets; nothing is asserted.

A hub database is built once per backend and cached: SQLite in ``bench/out/reports/sqlite/``,
PostgreSQL in the database ``hub_bench_reports`` (``--pg-url`` names a server and a role that may
create databases; by default ``hubtest`` on 127.0.0.1), each with a ``build.json`` under
``bench/out/reports/``. The hub is made as the tests make one (``tests.conftest.make_hub``:
migrations, the shipped reference data published as snapshot 1, the units registered), then
600,000 dossiers and about 2.9 million events of 14 units (the 13 wards 30280…30313 and the city
desk 883), received from 2021-01-01 to 2025-12-31, are written with plain SQL ``executemany``,
one transaction per 10,000 dossiers, into both backends at once (a writer thread each). They do
not go through sync: this bench is about reading. See :class:`Generator` for what the data looks
like. It is generated from a seed, so a rebuild gives the same rows. A cache is rebuilt when this
script's build parameters or the columns of the tables it fills change; a newer hub migration is
applied to the cached databases in place (about 4–6 minutes to build both, 1 s to reuse them).

Each run then measures, per backend, in the hub app's context and through the Flask test client
logged in as a viewer (``HubUser``, role viewer, made at build time), ``--runs`` timed rounds
after ``--warmup`` untimed ones, every figure once per round:

  - the report: ``ward_report(parse_period("2025-9M").window())``;
  - the Excel export: ``to_xlsx(ward_report(...), period)``, and the workbook alone;
  - ``GET /reports/export.json?period=2025-9M`` and ``GET /reports/export.xlsx?period=2025-9M``;
  - the floor: ``SELECT ward_code, COUNT(*) FROM dossier GROUP BY ward_code``, and its plan;

and prints median, p95 (nearest rank) and max next to the target (judged on p95), and the ratio
report/floor of the medians. Before timing, the report's city row is checked against counts made
in Python while generating.

When the report is over target on a backend (or with ``--experiments``), it then looks for the
cause and measures candidate changes on the cached databases (``--trial-runs`` rounds each), each
relative to the code as it is: first the aggregate statement alone over a temporary table of
exactly the rows ``touches()`` selects (the cost no index can remove: the sums), then each
:func:`trials` entry with its plan (EXPLAIN QUERY PLAN, or EXPLAIN (ANALYZE, BUFFERS) on
PostgreSQL): ANALYZE; PostgreSQL's JIT on (as once the plan's cost passes ``jit_above_cost``) and
off; an index on ``coalesce(resolved_at, closed_at)``; ``touches()`` rewritten with one index per
branch; ``SUM(CASE …)`` instead of ``COUNT(*) FILTER (WHERE …)``; the conditions' time tests
first or last; and the covering index for the report: added when the code has none, or, when it
has one (``ix_dossier_report``, commit 53a1d7d), replaced by the narrow index of before, alone and
with the sums of before. Trial indexes are named ``bench_*``, created for the trial and dropped
after it (an index of the hub a trial drops is recreated after it, and at the next start after
a crash); ``touches`` and ``sum_expression`` are replaced in-process only. Every trial's figures
are compared with the baseline's. Nothing in the product is changed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import queue
import random
import secrets
import shutil
import sqlite3
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT = BENCH_DIR / "out" / "reports"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH_DIR))

import benchlib  # noqa: E402  (bench/ is not a package: imported from its path)

BUILD_VERSION = 2  # bump when the way the hub is filled changes
SEED = 2025
DOSSIERS = 600_000
FIRST_DAY, LAST_DAY = dt.date(2021, 1, 1), dt.date(2025, 12, 31)
# The data ends at 17:30 local on the last day: later steps have not happened yet.
HORIZON_LOCAL = dt.datetime(2025, 12, 31, 17, 30)
CHUNK_DOSSIERS = 10_000
PG_ADMIN_URL = "postgresql+psycopg://hubtest:hubtest@127.0.0.1:5432/postgres"
PG_DATABASE = "hub_bench_reports"
PERIOD = "2025-9M"
TARGET_REPORT_MS = 300.0
TARGET_XLSX_MS = 2000.0
VIEWER = "xembaocao"
FILLED_TABLES = ("user", "dossier", "dossier_event")
UTC_OFFSET = dt.timedelta(hours=7)  # Asia/Ho_Chi_Minh, no daylight saving time

# The 13 wards of Long Xuyên and the city desk (wardapp/refdata/units.json), with how busy each
# office is relative to the others (central wards more, the two communes and the city desk less).
UNIT_WEIGHTS = {
    "30280": 1.5, "30283": 1.3, "30285": 1.0, "30286": 1.2, "30289": 1.1, "30292": 1.2,
    "30295": 1.0, "30298": 0.9, "30301": 0.9, "30304": 0.8, "30307": 0.8, "30310": 0.5,
    "30313": 0.6, "883": 0.4,
}
# Share of the dossiers per procedure (certified copies dominate a ward's one-stop desk); codes
# of the published catalogue not named here get DEFAULT_PROCEDURE_WEIGHT.
PROCEDURE_WEIGHTS = {
    "2.000815": 38.0, "2.000884": 12.0, "1.004873": 8.0, "1.001193": 7.0, "2.000635": 5.0,
    "2.001035": 4.0, "1.000656": 3.0, "1.000894": 3.0, "1.000689": 2.0, "1.001776": 2.0,
    "1.004859": 1.5, "2.000908": 1.5, "2.001406": 1.2, "1.001699": 0.8, "1.004884": 0.6,
    "1.001731": 0.6, "2.000942": 0.5, "1.001022": 0.4, "2.000913": 0.4, "2.001019": 0.3,
    "1.001653": 0.3, "1.000748": 0.3, "1.004837": 0.2, "2.001016": 0.2,
}
DEFAULT_PROCEDURE_WEIGHT = 0.08
YEAR_FACTOR = {2021: 0.92, 2022: 0.97, 2023: 1.0, 2024: 1.05, 2025: 1.09}
MONTH_FACTOR = {1: 1.25, 2: 0.8, 12: 1.1}  # before Tết, Tết, year end
WEEKDAY_FACTOR = {0: 1.15, 4: 0.9}
# Outcomes: withdrawn, refused, waiting for a supplement that never came, stuck in progress.
P_WITHDRAWN, P_REFUSED, P_STUCK_WAITING, P_STUCK_OPEN = 0.010, 0.015, 0.0025, 0.0008
P_SUPPLEMENT = {"working_days": 0.10, "same_day": 0.03}
P_EARLY, P_ON_TIME = 0.58, 0.39  # the rest is late
P_APOLOGY_IF_LATE = 0.45
P_LEADER = 0.86  # the result goes through the leader (a second hand-over) before resolution

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Bùi", "Đặng", "Đỗ",
          "Ngô", "Hồ", "Dương", "Đinh", "Lâm", "Châu", "Tô"]
MIDDLE_M = ["Văn", "Minh", "Quốc", "Thanh", "Hoàng", "Hữu", "Công", "Tấn"]
MIDDLE_F = ["Thị", "Ngọc", "Thị Ngọc", "Kim", "Thanh", "Mỹ", "Thị Kim", "Bích"]
GIVEN_M = ["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Minh", "Nam", "Phúc",
           "Quân", "Sơn", "Tâm", "Tuấn", "Thành", "Trí", "Vinh"]
GIVEN_F = ["Hà", "Hạnh", "Hương", "Lan", "Linh", "Mai", "Nga", "Phương", "Thảo", "Trang", "Vy",
           "Yến", "Tuyết", "Diễm", "Ngân", "Nhung"]
STREETS = ["Hà Hoàng Hổ", "Trần Hưng Đạo", "Lý Thái Tổ", "Nguyễn Huệ", "Hai Bà Trưng",
           "Tôn Đức Thắng", "Lê Lợi", "Trần Quang Khải", "Bùi Văn Danh", "Phạm Cự Lượng",
           "Ung Văn Khiêm", "Nguyễn Thái Học", "Châu Văn Liêm", "Trần Hưng Đạo nối dài"]
ORGS = ["Công ty TNHH Thương mại Dịch vụ", "Công ty Cổ phần Xây dựng", "Doanh nghiệp tư nhân",
        "Hợp tác xã Nông nghiệp", "Công ty TNHH MTV Vận tải"]
REFUSE_REASONS = ["Hồ sơ không đủ điều kiện giải quyết theo quy định",
                  "Giấy tờ xuất trình không hợp lệ", "Yêu cầu không thuộc thẩm quyền của UBND cấp xã"]
WITHDRAW_REASONS = ["Công dân xin rút hồ sơ", "Công dân đã thực hiện tại nơi khác"]
SUPPLEMENT_REASONS = ["Bổ sung bản sao giấy tờ tùy thân", "Bổ sung văn bản ủy quyền",
                      "Bổ sung giấy tờ chứng minh nơi cư trú", "Tờ khai chưa đủ chữ ký"]
ROLES = [("letan", "receptionist"), ("chuyenvien1", "officer"), ("chuyenvien2", "officer"),
         ("lanhdao", "leader"), ("quantri", "admin")]


def log(*parts) -> None:
    print(*parts, flush=True)


def machine_load(seconds: float = 2.0) -> float:
    """CPUs kept busy by other processes than this one, on average over ``seconds``."""
    def total() -> int:
        return sum(int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:4])

    def mine() -> int:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    t0, m0 = total(), mine()
    time.sleep(seconds)
    return max(0, (total() - t0) - (mine() - m0)) / os.sysconf("SC_CLK_TCK") / seconds


def _cpu_ticks() -> dict[int, tuple[int, int]]:
    """Every process's (parent pid, utime + stime ticks)."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(pid)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return out


def busy_benchmarks(seconds: float = 3.0) -> list[str]:
    """The other bench_* processes that are working: using CPU themselves or through their
    children over ``seconds``. One that only waits (another benchmark's --wait-idle waiting for
    this one) does not count, so that two waiting benchmarks cannot wait for each other."""
    others = benchlib.other_benchmarks("bench_reports.py")
    if not others:
        return []
    before = _cpu_ticks()
    time.sleep(seconds)
    after = _cpu_ticks()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in after.items():
        children.setdefault(ppid, []).append(pid)
    busy = []
    for line in others:
        root = int(line.split(":", 1)[0])
        tree, todo = [], [root]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += children.get(pid, [])
        used = sum(after[p][1] - before.get(p, (0, 0))[1] for p in tree if p in after)
        if used / os.sysconf("SC_CLK_TCK") > 0.05 * seconds:
            busy.append(line)
    return busy


# --- The working-day calendar, precomputed ----------------------------------------------------

class Days:
    """The ward calendar (:class:`kernel.workdays.WorkCalendar`, no overrides) as arrays, so
    that millions of due-date and timeliness computations stay cheap. Dates are local."""

    def __init__(self, first: dt.date, last: dt.date):
        from kernel.workdays import WorkCalendar

        self.calendar = WorkCalendar()
        self.first = first
        span = (last - first).days + 1
        self.working = [self.calendar.is_working_day(first + dt.timedelta(i)) for i in range(span)]
        self.list = [first + dt.timedelta(i) for i in range(span) if self.working[i]]
        # index in self.list of the first working day on or after each day
        self.at_or_after, j = [], 0
        for i in range(span):
            while j < len(self.list) and self.list[j] < first + dt.timedelta(i):
                j += 1
            self.at_or_after.append(j)

    def is_working(self, day: dt.date) -> bool:
        return self.working[(day - self.first).days]

    def index(self, working_day: dt.date) -> int:
        return self.at_or_after[(working_day - self.first).days]

    def next_working(self, day: dt.date) -> dt.date:
        return self.list[self.at_or_after[(day - self.first).days + 1]]

    def add(self, working_day: dt.date, count: int) -> dt.date:
        return self.list[self.index(working_day) + count]

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end], as ``WorkCalendar.working_days_between``."""
        if end <= start:
            return 0
        return self.at_or_after[(end - self.first).days + 1] - \
            self.at_or_after[(start - self.first).days + 1]

    def clock_start(self, received: dt.datetime) -> dt.date:
        day = received.date()
        if self.is_working(day) and received.time() < dt.time(15):
            return day
        return self.next_working(day)

    def due_day(self, received: dt.datetime, value: int, unit: str, cutoff: bool) -> dt.date:
        if unit == "same_day":
            day = received.date()
            return day if not cutoff and self.is_working(day) else self.clock_start(received)
        return self.add(self.clock_start(received), value)


def wday(days: Days, day: dt.date) -> dt.date:
    """``day`` if it is a working day, else the next working day."""
    return day if days.is_working(day) else days.next_working(day)


def timeliness(at: dt.datetime, due_day: dt.date) -> str:
    day = at.date()
    return "early" if day < due_day else "on_time" if day == due_day else "late"


# --- Generating the city's five years ---------------------------------------------------------

def office_minute(rng: random.Random) -> int:
    """A minute of the office day (07:00–11:30, 13:00–17:00), more in the morning."""
    if rng.random() < 0.58:
        return 7 * 60 + int(rng.random() * 270)
    return 13 * 60 + int(rng.random() * 240)


def at_minute(day: dt.date, minute: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60,
                       int(random.random() * 60))


def time_after(rng: random.Random, days: Days, day: dt.date, after: dt.datetime) -> dt.datetime:
    """An office time on ``day`` (a working day) after ``after``; the next working day's when
    ``day`` has no office time left."""
    while True:
        if day > after.date():
            return at_minute(day, office_minute(rng))
        start = after.hour * 60 + after.minute + 5
        if start < 17 * 60:
            minute = start + int((17 * 60 - start) * rng.random() ** 1.5)
            if 11 * 60 + 30 <= minute < 13 * 60:
                minute += 90
            if minute < 17 * 60 + 15:
                return at_minute(day, minute)
        day = days.next_working(day)


def between(rng: random.Random, days: Days, a: dt.datetime, b: dt.datetime) -> dt.datetime:
    """An office time strictly between ``a`` and ``b`` when there is one (else their middle)."""
    first, last = days.index(wday(days, a.date())), days.index(b.date())
    for _ in range(4):
        day = days.list[randint(rng, first, last)] if first <= last else a.date()
        t = time_after(rng, days, day, a) if day == a.date() else \
            at_minute(day, office_minute(rng))
        if a < t < b:
            return t
    # b is an office time: just before it (or, when a is as close, half-way)
    t = b - dt.timedelta(minutes=randint(rng, 1, 5))
    return t if t > a else (a + (b - a) / 2).replace(microsecond=0)


def new_uuid(rng: random.Random) -> str:
    """A random (version 4) UUID drawn from ``rng``, as ``str(uuid.uuid4())`` writes one."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def pick(rng: random.Random, seq):
    return seq[int(rng.random() * len(seq))]


def randint(rng: random.Random, a: int, b: int) -> int:
    """``randint(rng, a, b)``, three times cheaper (millions of draws)."""
    return a + int(rng.random() * (b - a + 1))


def person(rng: random.Random) -> tuple[str, str]:
    female = rng.random() < 0.52
    name = " ".join((pick(rng, FAMILY), pick(rng, MIDDLE_F if female else MIDDLE_M),
                     pick(rng, GIVEN_F if female else GIVEN_M)))
    born = randint(rng, 1950, 2005)
    century = (2 if born >= 2000 else 0) + female
    return name, f"089{century}{born % 100:02d}{int(rng.random() * 10**6):06d}"


def catalogue(snapshot: dict) -> list[dict]:
    """The published procedures with what generation needs (weights, required documents)."""
    procedures = []
    for p in snapshot["procedures"]:
        procedures.append({
            "code": p["code"], "name": p["name"], "regime": p.get("regime", "2018"),
            "value": p["duration_value"], "unit": p["duration_unit"], "cutoff": p["cutoff_15h"],
            "level": p["online_level"], "postal": p["postal_allowed"],
            "weight": PROCEDURE_WEIGHTS.get(p["code"], DEFAULT_PROCEDURE_WEIGHT),
            "documents": [{"name": d["name"], "kind": d["kind"], "quantity": d["quantity"]}
                          for d in p["documents"] if d["required"]]})
    return procedures


def daily_counts(rng: random.Random, days: Days, total: int) -> list[tuple[dt.date, str, int]]:
    """How many dossiers each unit receives on each working day, summing to ``total``."""
    cells = []
    for day in days.list:
        if not FIRST_DAY <= day <= LAST_DAY:
            continue
        f = YEAR_FACTOR[day.year] * MONTH_FACTOR.get(day.month, 1.0) * \
            WEEKDAY_FACTOR.get(day.weekday(), 1.0)
        for unit, w in UNIT_WEIGHTS.items():
            cells.append((day, unit, f * w * rng.uniform(0.8, 1.2)))
    scale = total / sum(w for _, _, w in cells)
    out, acc, emitted = [], 0.0, 0
    for day, unit, w in cells:
        acc += w * scale
        n = round(acc) - emitted
        emitted += n
        out.append((day, unit, n))
    return out


class Generator:
    """The city's dossiers and events, day by day, as dicts of their wire values.

    - Volume: each working day of the ward calendar (``kernel.workdays.WorkCalendar``, so no
      dossier is received on a weekend or holiday), each unit receives a share of the total by
      its size (UNIT_WEIGHTS), the year (+4–5 % a year), the month (busy before Tết, quiet
      during it) and the weekday, ±20 %; shares are rounded so that the total is exact.
    - Receipt: office hours 07:00–11:30 and 13:00–17:00 Vietnam time, stored in UTC; code
      ``<agency>-<yyMMdd>-<NNNN>`` per unit and local day; logbook line per unit and year.
    - Procedure: drawn from the published catalogue (the hub's snapshot) by PROCEDURE_WEIGHTS
      (certified copies first); due time by the catalogue's duration and the 15:00 rule, 17:00
      of the due day; its required documents.
    - Channel: online by the procedure's level, growing every year (2025: about 87 % of level-4
      and 34 % of level-3 dossiers online); postal where the catalogue allows it.
    - Life: received, handed over to an officer, for about 5 % a supplement request and return
      (the due day moves by the working days paused), for most a hand-over to the leader, an
      apology with a new date for about half the late ones, resolved early / on time / late
      (about 18 / 79 / 3 %: same-day procedures, three quarters of the dossiers, can only be
      early when received after 15:00), returned 0–15 working days later. 1 % are withdrawn and 1.5 % refused; 0.25 % wait for a supplement that never comes
      and 0.08 % are never resolved (both pending for ever). Every step is at an office time
      after the one before; steps after 2025-12-31 17:30 have not happened, so the last weeks'
      dossiers are still open: a few thousand pending at the end in all.
    - Header: status, assignee, paused_at, resolved_at, timeliness, working_days_used,
      returned_at/closed_at, due_at(_revised), version (= its number of events) and updated_at
      follow from the steps kept, as the ward's service would have set them.
    - Sync columns: ``sync_sha256`` is the SHA-256 of the record's canonical wire JSON, as the
      hub computes it; ``sync_seq`` numbers each unit's outbox (accounts, then every event and
      dossier version); ``synced_utc`` is minutes after the write.
    """

    def __init__(self, procedures: list[dict], units: dict[str, dict], seed: int = SEED,
                 total: int = DOSSIERS):
        from kernel.workdays import WorkCalendar

        self.rng = random.Random(seed)
        random.seed(seed + 1)  # at_minute's seconds
        self.days = Days(dt.date(2020, 12, 1), dt.date(2026, 6, 30))
        self.calendar_version = WorkCalendar().version
        self.procedures = procedures
        self.cum_weights = []
        acc = 0.0
        for p in procedures:
            acc += p["weight"]
            self.cum_weights.append(acc)
        self.units = units
        self.users = {code: {name: new_uuid(self.rng) for name, _ in ROLES} for code in units}
        self.counts = daily_counts(self.rng, self.days, total)
        self.seq = dict.fromkeys(units, len(ROLES))
        self.code_day: dict[tuple[str, dt.date], int] = {}
        self.logbook: dict[tuple[str, int], int] = {}
        self.stats = {"dossiers": 0, "events": 0, "status": {}, "channel": {}, "timeliness": {}}

    def user_rows(self) -> list[dict]:
        """Each unit's five accounts, its first outbox rows (the dossiers' come after)."""
        rows = []
        for code in self.units:
            for number, (username, role) in enumerate(ROLES, start=1):
                name, _ = person(self.rng)
                rows.append({"uuid": self.users[code][username], "ward_code": code,
                             "username": username, "full_name": name, "roles": role,
                             "active": True, "created_at": "2020-12-01T01:00:00+00:00",
                             "version": 1, "_seq": number,
                             "_synced": "2020-12-01T01:30:00+00:00"})
        return rows

    def chunks(self, size: int = CHUNK_DOSSIERS):
        """Lists of (dossier, [events]) in order of receipt day, about ``size`` at a time."""
        chunk = []
        for day, unit, n in self.counts:
            if n <= 0:
                continue
            times = sorted(at_minute(day, office_minute(self.rng)) for _ in range(n))
            for received in times:
                chunk.append(self.dossier(unit, received))
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def dossier(self, unit: str, t0: dt.datetime) -> tuple[dict, list[dict]]:
        """One dossier received at ``t0`` (local), its whole life up to the horizon."""
        rng, days, users = self.rng, self.days, self.users[unit]
        p = self.procedures[self._pick()]
        year = t0.year
        due_day = days.due_day(t0, p["value"], p["unit"], p["cutoff"])
        due_orig = due_day
        start_day = days.clock_start(t0)
        channel, ret = self._channel(p, year)
        officer = users["chuyenvien1"] if rng.random() < 0.5 else users["chuyenvien2"]
        events = [("received", t0, users["letan"], None, 2, None, "", {})]

        def ev(kind, at, actor, to_user=None, status=4, step=None, reason="", data=None):
            events.append((kind, at, actor, to_user, status, step, reason, data or {}))

        t_ho = t0 + dt.timedelta(minutes=randint(rng, 5, 120))
        if t_ho.time() > dt.time(17, 15):  # received late in the day: handed over next morning
            t_ho = time_after(rng, days, days.next_working(t0.date()), t0)
        ev("handed_over", t_ho, users["letan"], officer, 4, timeliness(t_ho, due_day))
        due_revised = None
        pause_days = 0
        u = rng.random()
        last = t_ho
        if u < P_WITHDRAWN + P_REFUSED:
            first = wday(days, last.date())
            end_day = days.add(first, randint(rng, 0, days.between(first, due_day) + 1))
            at = time_after(rng, days, end_day, last)
            if u < P_WITHDRAWN:
                ev("withdrawn", at, users["letan"], None, 7, None,
                   pick(rng, WITHDRAW_REASONS))
            else:
                ev("refused", at, users["lanhdao"], None, 3, None, pick(rng, REFUSE_REASONS))
        elif u < P_WITHDRAWN + P_REFUSED + P_STUCK_WAITING:
            at = time_after(rng, days, wday(days, last.date()), last)
            ev("supplement_requested", at, officer, None, 5, None,
               pick(rng, SUPPLEMENT_REASONS))
        elif u < P_WITHDRAWN + P_REFUSED + P_STUCK_WAITING + P_STUCK_OPEN:
            pass  # handed over, never resolved: overdue for ever
        else:
            last_day = wday(days, last.date())
            if rng.random() < P_SUPPLEMENT[p["unit"]]:
                req_day = days.add(last_day, randint(rng, 0, max(days.between(last_day,
                                                                              due_day), 0)))
                t_req = time_after(rng, days, req_day, last)
                ev("supplement_requested", t_req, officer, None, 5, None,
                   pick(rng, SUPPLEMENT_REASONS))
                back_day = days.add(t_req.date(), randint(rng, 1, 7))
                t_back = time_after(rng, days, back_day, t_req)
                pause_days = days.between(t_req.date(), t_back.date())
                before = due_day
                due_day = days.add(due_day, pause_days) if pause_days else due_day
                ev("supplement_received", t_back, users["letan"], None, 4, None, "",
                   {"due_at_before": close_iso(before),
                    "due_at": close_iso(due_day)})
                last = t_back
                last_day = t_back.date()
            v = rng.random()
            if v < P_EARLY and last_day < due_day:
                span = days.index(due_day) - days.index(last_day)
                res_day = days.list[days.index(last_day) + int(span * rng.random() ** 1.3)]
            elif v < P_EARLY + P_ON_TIME and last_day <= due_day:
                res_day = due_day
            else:
                if rng.random() < P_APOLOGY_IF_LATE and last_day <= due_day:
                    t_apo = time_after(rng, days, due_day if rng.random() < 0.5 else last_day,
                                       last)
                    if t_apo.date() <= due_day and t_apo.hour < 17:
                        revised = days.add(due_day, randint(rng, 3, 7))
                        due_revised = revised
                        ev("apology", t_apo, users["lanhdao"], None, 4, None,
                           "Hồ sơ cần xác minh thêm, hẹn lại ngày trả kết quả",
                           {"due_at": close_iso(due_day),
                            "due_at_revised": close_iso(revised)})
                        last = t_apo
                res_day = days.add(wday(days, max(due_day, last.date())), randint(rng, 1, 4))
            t_res = time_after(rng, days, res_day, last)
            if rng.random() < P_LEADER:
                mid = between(rng, days, last, t_res)
                ev("handed_over", mid, officer, users["lanhdao"], 4, timeliness(mid, due_day))
                actor = users["lanhdao"]
            else:
                actor = officer
            kind = timeliness(t_res, due_day)
            ev("resolved", t_res, actor, None, 9, kind)
            r = rng.random()
            lag = 0 if r < 0.45 else 1 if r < 0.70 else 2 if r < 0.82 else randint(rng, 3, 15)
            t_ret = time_after(rng, days, days.add(t_res.date(), lag) if lag else t_res.date(),
                               t_res)
            ev("returned", t_ret, users["letan"], None, 10,
               timeliness(t_ret, due_revised or due_day), "", {"return_method": ret})

        return self._records(unit, p, t0, channel, ret, due_orig, due_day, due_revised,
                             start_day, events)

    def _pick(self) -> int:
        import bisect

        return bisect.bisect(self.cum_weights, self.rng.random() * self.cum_weights[-1])

    def _channel(self, p: dict, year: int) -> tuple[str, str]:
        rng = self.rng
        u = rng.random()
        if p["level"] == "full" and u < 0.55 + 0.08 * (year - 2021):
            channel = "online_full"
        elif p["level"] == "partial" and u < 0.10 + 0.06 * (year - 2021):
            channel = "online_partial"
        elif p["postal"] and rng.random() < 0.03:
            channel = "postal"
        else:
            channel = "desk"
        share = 0.15 if channel in ("online_full", "postal") else 0.05
        ret = "postal" if p["postal"] and rng.random() < share else "desk"
        return channel, ret

    def _records(self, unit, p, t0, channel, ret, due_orig, due_day, due_revised, start_day,
                 events) -> tuple[dict, list[dict]]:
        """The dossier header as the ward holds it once ``events`` (up to the horizon) are
        taken, and the event records. Each record is a dict of its wire values (times as
        ISO-8601 UTC text, as the ward sends them) plus ``_seq`` and ``_synced``."""
        rng = self.rng
        kept = [e for e in events if e[1] <= HORIZON_LOCAL]
        status, assignee, paused = 2, kept[0][2], None
        resolved = closed = returned = tim = None
        due = due_orig
        revised = None
        for kind, at, actor, to_user, status_after, step, reason, data in kept:
            status = status_after
            if kind == "handed_over":
                assignee = to_user
            elif kind == "supplement_requested":
                paused = at
            elif kind == "supplement_received":
                paused = None
                due = due_day
            elif kind == "apology":
                revised = due_revised
            elif kind == "resolved":
                resolved, tim = at, step
            elif kind == "returned":
                returned = closed = at
            elif kind in ("refused", "withdrawn"):
                closed, paused = at, None
        local_day = t0.date()
        number = self.code_day.get((unit, local_day), 0) + 1
        self.code_day[(unit, local_day)] = number
        line = self.logbook.get((unit, t0.year), 0) + 1
        self.logbook[(unit, t0.year)] = line
        u = self.units[unit]
        applicant_kind = "organisation" if rng.random() < 0.05 else "person"
        name, citizen = person(rng)
        if applicant_kind == "organisation":
            name = f"{pick(rng, ORGS)} {pick(rng, GIVEN_M)} {pick(rng, STREETS).split()[-1]}"
            citizen = f"16{int(rng.random() * 10**8):08d}"
        address = (f"Số {randint(rng, 1, 250)} đường {pick(rng, STREETS)}, khóm "
                   f"{randint(rng, 1, 9)}, {u['name']}")
        dossier_uuid = new_uuid(rng)
        seq = self.seq[unit]
        n = len(kept)
        updated = kept[-1][1]
        dossier = {
            "uuid": dossier_uuid, "ward_code": unit,
            "code": f"{u['agency_code']}-{t0.year % 100:02d}{t0.month:02d}{t0.day:02d}-"
                    f"{number:04d}",
            "request_key": f"{rng.getrandbits(128):032x}",
            "procedure_code": p["code"], "procedure_name": p["name"], "regime": p["regime"],
            "applicant_kind": applicant_kind, "applicant_name": name, "citizen_id": citizen,
            "phone": f"09{int(rng.random() * 10**8):08d}",
            "email": "" if rng.random() < 0.9 else f"nguoidan{int(rng.random() * 10**5)}@gmail.com",
            "address": address, "channel": channel, "return_method": ret,
            "return_address": address if ret == "postal" else "",
            "documents": p["documents"], "sets_count": 1, "note": "",
            "received_at": utc_iso(t0),
            "received_by_uuid": kept[0][2],
            "due_at_original": close_iso(due_orig),
            "due_at": close_iso(due),
            "due_at_revised": close_iso(revised) if revised else None,
            "calendar_version": self.calendar_version, "status": status,
            "assignee_uuid": assignee, "paused_at": utc_iso(paused) if paused else None,
            "resolved_at": utc_iso(resolved) if resolved else None, "timeliness": tim,
            "working_days_used": max(self.days.between(start_day, resolved.date())
                                     - self.days.between(due_orig, due), 0)
            if resolved else None,
            "returned_at": utc_iso(returned) if returned else None,
            "closed_at": utc_iso(closed) if closed else None,
            "logbook_number": line, "updated_at": utc_iso(updated), "version": n,
            "_seq": seq + 2 * n,
            "_synced": utc_iso(updated + dt.timedelta(minutes=randint(rng, 1, 40))),
        }
        rows = []
        for position, (kind, at, actor, to_user, status_after, step, reason, data) in \
                enumerate(kept, start=1):
            rows.append({"uuid": new_uuid(rng), "ward_code": unit, "dossier_uuid": dossier_uuid,
                         "position": position, "kind": kind, "at": utc_iso(at),
                         "actor_uuid": actor, "to_user_uuid": to_user,
                         "status_after": status_after, "step_timeliness": step,
                         "reason": reason, "data": data, "version": 1,
                         "_seq": seq + 2 * position - 1,
                         "_synced": utc_iso(at + dt.timedelta(minutes=randint(rng, 1, 40)))})
        self.seq[unit] = seq + 2 * n
        s = self.stats
        s["dossiers"] += 1
        s["events"] += n
        s["status"][status] = s["status"].get(status, 0) + 1
        s["channel"][channel] = s["channel"].get(channel, 0) + 1
        if tim:
            s["timeliness"][tim] = s["timeliness"].get(tim, 0) + 1
        return dossier, rows


def utc_iso(local: dt.datetime) -> str:
    """A local (Vietnam) wall-clock time as the ward's wire text: ISO-8601 in UTC."""
    return (local - UTC_OFFSET).isoformat() + "+00:00"


def close_iso(day: dt.date) -> str:
    return f"{day.isoformat()}T10:00:00+00:00"  # 17:00 in Vietnam


def iso(utc: dt.datetime) -> str:
    return utc.isoformat() + "+00:00"


def sqlite_text(wire: str | None) -> str | None:
    """ISO-8601 UTC text as SQLAlchemy stores a naive DateTime in SQLite."""
    if wire is None:
        return None
    return f"{wire[:10]} {wire[11:26]}" if wire[19] == "." else f"{wire[:10]} {wire[11:19]}.000000"


# --- What the report must show, counted in Python ----------------------------------------------

class Expected:
    """The report's city-wide counts for a window, counted row by row while generating (times
    compared as the wire's ISO text, which all have the same shape here)."""

    def __init__(self, window, procedures: list[dict]):
        self.start, self.end, self.as_of = (
            iso(t.astimezone(dt.timezone.utc).replace(tzinfo=None))
            for t in (window.start, window.end, window.as_of))
        self.level = {p["code"]: p["level"] for p in procedures}
        self.duration = {p["code"]: p["value"] for p in procedures}
        self.counts: dict[str, int] = {}

    def add(self, d: dict) -> None:
        c, s, e, a = self.counts, self.start, self.end, self.as_of
        rec, res, clo = d["received_at"], d["resolved_at"], d["closed_at"]
        fin = res if res is not None else clo

        def inc(name, cond=True):
            if cond:
                c[name] = c.get(name, 0) + 1
        inc("carried_over", rec < s and (fin is None or fin >= s))
        if s <= rec < e:
            inc("received")
            inc("received_" + d["channel"])
            lvl = self.level.get(d["procedure_code"])
            inc("level3_dossiers", lvl == "partial")
            inc("level3_online", lvl == "partial" and d["channel"] == "online_partial")
            inc("level4_dossiers", lvl == "full")
            inc("level4_online", lvl == "full" and d["channel"] == "online_full")
            inc("postal", d["channel"] == "postal" or d["return_method"] == "postal")
        if res is not None and s <= res < e:
            inc("resolved")
            inc("resolved_" + d["timeliness"])
            inc("resolved_in_time", d["timeliness"] in ("early", "on_time"))
            inc("apologies", d["timeliness"] == "late" and d["due_at_revised"] is not None)
            if d.get("working_days_used") is not None:
                inc("resolved_measured")
                c["working_days_used"] = c.get("working_days_used", 0) + d["working_days_used"]
                c["statutory_days"] = c.get("statutory_days", 0) + \
                    self.duration.get(d["procedure_code"], 0)
        pending = rec < a and (fin is None or fin >= a)
        inc("pending", pending)
        inc("pending_overdue", pending and d["due_at"] < a)
        if clo is not None and s <= clo < e:
            inc("refused", d["status"] == 3)
            inc("withdrawn", d["status"] == 7)


# --- Building the cached hubs -----------------------------------------------------------------

def record_schema() -> str:
    """The columns of the record tables this script fills: a cache is only reused for the
    columns it was filled for (other tables, and new record tables, are migrated in place)."""
    from city_hub.models import RECORD_TABLES

    columns = {name: [(c.name, str(c.type), c.nullable) for c in RECORD_TABLES[name].columns]
               for name in FILLED_TABLES}
    return hashlib.sha256(json.dumps(columns).encode()).hexdigest()[:16]


def migration_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from city_hub import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    return ",".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def missing_columns(b: "Backend") -> list[str]:
    """Columns the hub's models have and the cached database lacks."""
    import sqlalchemy as sa

    from city_hub.extensions import db

    app = hub_app(b)
    with app.app_context():
        inspector = sa.inspect(db.engine)
        missing = []
        for table in db.metadata.sorted_tables:
            have = {c["name"] for c in inspector.get_columns(table.name)} \
                if inspector.has_table(table.name) else set()
            missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in have]
        db.engine.dispose()
    return missing


def upgrade_cache(b: "Backend") -> None:
    """Bring a cached hub to the newest migration (the other tables changed, not the records)."""
    from city_hub import upgrade_schema
    from city_hub.extensions import db

    app = hub_app(b)
    with app.app_context():
        upgrade_schema()
        db.session.remove()
        db.engine.dispose()


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
            self.url = self.admin_url.set(database=PG_DATABASE if out == OUT else
                                          f"{PG_DATABASE}_{out.name.replace('-', '_')}") \
                .render_as_string(hide_password=False)
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

        return psycopg.connect(sa.make_url(self.url).set(drivername="postgresql")
                               .render_as_string(hide_password=False))


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
        self.later_defaults = {c.name: c.default.arg for c in wire_columns(table_name)
                               if c.server_default is not None}
        self.required = {c.name for c in table.columns if not c.nullable}
        self.dates = [i for i, c in enumerate(table.columns) if isinstance(c.type, UTCDateTime)]
        self.json = [i for i, c in enumerate(table.columns) if isinstance(c.type, JSONText)]
        self.defaults: dict | None = None
        self._json_memo: dict[int, str] = {}

    def sql(self, mark: str) -> str:
        return (f'INSERT INTO "{self.name}" ({", ".join(self.columns)}) '
                f'VALUES ({", ".join([mark] * len(self.columns))})')

    def complete(self, records: list[dict]) -> None:
        """Give each record its ``sync_sha256``: the SHA-256 of its canonical wire JSON, as
        ``city_hub.sync.apply`` computes it (``canonical_json`` of the record's data)."""
        if self.defaults is None:
            have = set(records[0])
            missing = [c for c in self.wire if c not in have]
            if required := [c for c in missing
                            if c in self.required and c not in self.later_defaults]:
                raise SystemExit(f"{self.name}: no generated value for NOT NULL column(s) "
                                 f"{required}; teach Generator about them")
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
            digest = sha(dumps(r, ensure_ascii=False, sort_keys=True,
                               separators=(",", ":")).encode()).hexdigest()
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
                    conn.cursor().executemany(loader.sql(self.backend.mark),
                                              loader.rows(records, self.backend.name))
                self.busy += time.perf_counter() - t
            if sqlite:
                conn.execute("COMMIT")
            conn.close()
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            self.error = e
            while self.queue.get() is not None:
                pass


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
        apps[b.name], _ = make_hub(b.dir, wards=tuple(UNIT_WEIGHTS), database_url=b.hub_url,
                                   SECRET_KEY="bench-reports")
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

    build_now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0, tzinfo=None)
    log(f"-- generating {dossiers:,} dossiers of {len(units)} units, "
        f"{FIRST_DAY} .. {LAST_DAY}, into {', '.join(b.name for b in backends)} ...")
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
            log(f"   {done:>9,} dossiers, {events:>10,} events "
                f"({time.perf_counter() - started:.0f} s)")
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
                recent = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=7)
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
        record = {"key": key, "migration_head": migration_head(),
                  "built_utc": build_now.isoformat() + "Z", "rows": counts,
                  "size_bytes": size, "viewer": {"username": VIEWER, "password": password},
                  "stats": gen.stats, "expected": {PERIOD: expected.counts},
                  "load_seconds": round(timings[b.name], 1),
                  "generate_seconds": round(timings["generate"], 1),
                  "total_seconds": round(time.perf_counter() - started, 1)}
        b.build_file.write_text(json.dumps(record, indent=1, default=str))
    s = gen.stats
    log(f"   {s['dossiers']:,} dossiers, {s['events']:,} events, "
        f"{len(units)} units; built in {time.perf_counter() - started:.0f} s (generate and "
        f"digest {timings['generate']:.0f} s, " +
        ", ".join(f"{b.name} load {timings[b.name]:.0f} s" for b in backends) + ")")


# --- Measuring ---------------------------------------------------------------------------------

BARE_SQL = "SELECT ward_code, COUNT(*) FROM dossier GROUP BY ward_code"


def stats(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]  # nearest rank
    return {"p50": statistics.median(ordered), "p95": p95, "max": ordered[-1], "n": len(ordered)}


def line(label: str, s: dict, target: float | None = None) -> str:
    verdict = "" if target is None else \
        f"p95 < {target:,.0f} ms {'ok' if s['p95'] < target else 'OVER'}"
    return f"   {label:<52} {s['p50']:8.1f} {s['p95']:8.1f} {s['max']:8.1f}   {verdict}"


HEADER = f"   {'figure (ms)':<52} {'p50':>8} {'p95':>8} {'max':>8}   target"


def hub_app(b: Backend, config: dict | None = None):
    from city_hub import create_app

    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench-reports",
                       "SQLALCHEMY_DATABASE_URI": b.url, **(config or {})},
                      instance_path=str(b.dir))


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def rounds(figures: dict, runs: int, warmup: int) -> dict[str, dict]:
    """Run every figure once per round (so that all share the same disturbances), ``warmup``
    untimed rounds first; the samples of each figure, summarised."""
    samples = {name: [] for name in figures}
    for i in range(warmup + runs):
        for name, fn in figures.items():
            ms = timed(fn)
            if i >= warmup:
                samples[name].append(ms)
    return {name: stats(v) for name, v in samples.items()}


def check_report(rows, expected: dict) -> str:
    city = rows[-1]
    wrong = {k: (city.counts.get(k), v) for k, v in expected.items() if city.counts.get(k) != v}
    stale = [r.key for r in rows if r.stale]
    text = (f"city row matches the {len(expected)} counts made while generating"
            if not wrong else f"city row DIFFERS from the generated data: {wrong}")
    text += f"; {len(rows) - 1} ward rows" + (f", stale: {stale}" if stale else ", none stale")
    return text


def measure(b: Backend, built: dict, runs: int, warmup: int) -> dict:
    """The figures of one backend, through the app as a hub serves them."""
    import sqlalchemy as sa

    from city_hub.extensions import db
    from city_hub.reports.export import to_xlsx
    from city_hub.reports.periods import parse_period
    from city_hub.reports.queries import ward_report

    app = hub_app(b)
    period = parse_period(PERIOD)
    window = period.window()
    result = {}
    with app.app_context():
        rows = ward_report(window)
        db.session.remove()
        result["check"] = check_report(rows, built["expected"][PERIOD])
        client = app.test_client()
        answer = client.post("/auth/login", data={"username": built["viewer"]["username"],
                                                  "password": built["viewer"]["password"]})
        if answer.status_code != 302:
            raise SystemExit(f"{b.name}: viewer login failed ({answer.status_code})")
        first = client.get(f"/reports/export.json?period={PERIOD}")
        if first.status_code != 200 or len(first.json["rows"]) != len(rows):
            raise SystemExit(f"{b.name}: export.json answered {first.status_code}")
        xlsx = client.get(f"/reports/export.xlsx?period={PERIOD}")
        if xlsx.status_code != 200 or not xlsx.data.startswith(b"PK"):
            raise SystemExit(f"{b.name}: export.xlsx answered {xlsx.status_code}")
        result["xlsx_bytes"] = len(xlsx.data)

        def report():
            ward_report(window)
            db.session.remove()

        def excel():
            to_xlsx(ward_report(window), period)
            db.session.remove()

        def bare():
            db.session.execute(sa.text(BARE_SQL)).all()
            db.session.remove()

        def get(url):
            def fetch():
                answer = client.get(url)
                if answer.status_code != 200:
                    raise SystemExit(f"{url}: {answer.status_code}")
            return fetch

        figures = {
            "bare": bare,
            "report": report,
            "excel": excel,
            "workbook": lambda: to_xlsx(rows, period),
            "http_json": get(f"/reports/export.json?period={PERIOD}"),
            "http_xlsx": get(f"/reports/export.xlsx?period={PERIOD}"),
        }
        result["figures"] = rounds(figures, runs, warmup)
        db.session.remove()
        with db.engine.connect() as conn:
            plan = conn.exec_driver_sql(("EXPLAIN QUERY PLAN " if b.name == "sqlite" else
                                         "EXPLAIN ") + BARE_SQL).all()
        result["bare_plan"] = [r[3] if b.name == "sqlite" else r[0].strip() for r in plan]
        db.engine.dispose()
    return result


def figure_lines(name: str, r: dict) -> list[str]:
    f = r["figures"]
    ratio = f["report"]["p50"] / f["bare"]["p50"]
    return [
        f"{name}:",
        line(f"report: ward_report({PERIOD}), in-process", f["report"], TARGET_REPORT_MS),
        line(f"GET /reports/export.json?period={PERIOD}", f["http_json"], TARGET_REPORT_MS),
        line("Excel export: to_xlsx(ward_report(...)), in-process", f["excel"], TARGET_XLSX_MS),
        line("   of which the workbook alone (to_xlsx)", f["workbook"]),
        line(f"GET /reports/export.xlsx?period={PERIOD}", f["http_xlsx"], TARGET_XLSX_MS),
        line("floor: SELECT ward_code, COUNT(*) … GROUP BY ward_code", f["bare"]),
        "      its plan: " + "; ".join(r["bare_plan"]),
        f"   ratio report / floor (medians): {ratio:.1f}",
    ]


def run(backends: list[Backend], built: dict, args, started: float) -> int:
    waited = False
    while others := busy_benchmarks():
        if not waited:
            log("   another benchmark is working: " + "; ".join(others))
        if not args.wait_idle:
            log("   (figures below are disturbed by it; --wait-idle waits for it)")
            break
        waited = True
        time.sleep(15)
    if waited and args.wait_idle:
        log("   ... it is done (or only waiting); measuring now")
    load = machine_load()
    log(f"   the rest of the machine uses {load:.2f} of {os.cpu_count()} CPUs right now "
        "(other work disturbs the figures)")
    results = {}
    for b in backends:
        log(f"-- {b.name}: {args.warmup} warm-up + {args.runs} timed rounds ...")
        results[b.name] = measure(b, built[b.name], args.runs, args.warmup)
        log(f"   {results[b.name]['check']}")
        log(f"   the rest of the machine used {machine_load():.2f} CPUs just after")
    log("")
    log(f"Results, {PERIOD} report over 5 years of the city, {args.runs} timed rounds after "
        f"{args.warmup} warm-up (p95: nearest rank):")
    log(HEADER)
    for b in backends:
        for text in figure_lines(b.name, results[b.name]):
            log(text)
    over = any(r["figures"]["report"]["p95"] >= TARGET_REPORT_MS for r in results.values())
    if args.experiments or (args.experiments is None and over):
        log("")
        experiments(backends, built, args)
    log(f"\nThe rest of the machine uses {machine_load():.2f} CPUs at the end. "
        f"Total {time.perf_counter() - started:.0f} s.")
    return 0


# --- Candidate fixes ---------------------------------------------------------------------------

def touches_indexable(w):
    """``touches()`` rewritten so that each branch of its OR can be answered by an index: a
    superset of the rows the original selects (every count keeps its own full condition, so the
    figures do not change): received in the period (or later), resolved or closed at or after its
    start, or not finished at all."""
    import sqlalchemy as sa

    from city_hub.reports.indicators import DOSSIER

    d = DOSSIER.c
    return sa.and_(d.received_at < w.end, sa.or_(
        d.received_at >= w.start, d.resolved_at >= w.start, d.closed_at >= w.start,
        sa.and_(d.resolved_at.is_(None), d.closed_at.is_(None))))


def sum_filter(count, window, order=None):
    """``sum_expression()`` as an aggregate FILTER: the aggregate is only stepped for the rows
    that meet the condition (SQLite 3.30+, PostgreSQL 9.4+), instead of adding 0 for the rest.
    ``order`` rearranges the condition's AND terms (:func:`cheap_first`, :func:`time_first`)."""
    import sqlalchemy as sa

    condition = count.condition(window)
    if order is not None:
        condition = order(condition)
    if count.value is None:
        return sa.func.count().filter(condition).label(count.code)
    return sa.func.coalesce(sa.func.sum(count.value).filter(condition), 0).label(count.code)


def and_terms(condition) -> list:
    """The AND terms of ``condition``, nested ANDs flattened."""
    from sqlalchemy.sql import operators
    from sqlalchemy.sql.elements import BooleanClauseList, Grouping

    def terms(c):
        if isinstance(c, Grouping):
            c = c.element
        if isinstance(c, BooleanClauseList) and c.operator is operators.and_:
            for x in c.clauses:
                yield from terms(x)
        else:
            yield c
    return list(terms(condition))


def reads_time(term) -> bool:
    import sqlalchemy as sa
    from sqlalchemy.sql.visitors import iterate

    from kernel.columns import UTCDateTime

    return any(isinstance(e, sa.Column) and isinstance(e.type, UTCDateTime) for e in iterate(term))


def cheap_first(condition):
    """The AND terms of ``condition``, flattened, those that compare no time first: both
    databases stop at the first false term, and SQLite's comparisons of DATETIME columns (text,
    NUMERIC affinity) are the dear ones, while a test of channel or status is false for most
    rows."""
    import sqlalchemy as sa

    return sa.and_(*sorted(and_terms(condition), key=reads_time))


def time_first(condition):
    """The reverse of :func:`cheap_first`: the time comparisons first, as the conditions were
    written before commit 53a1d7d (``sa.and_(_received(w), d.channel == …)``)."""
    import sqlalchemy as sa

    return sa.and_(*sorted(and_terms(condition), key=lambda t: not reads_time(t)))


def sum_filter_cheap_first(count, window):
    """:func:`sum_filter` with :func:`cheap_first` conditions."""
    import sqlalchemy as sa

    condition = cheap_first(count.condition(window))
    if count.value is None:
        return sa.func.count().filter(condition).label(count.code)
    return sa.func.coalesce(sa.func.sum(count.value).filter(condition), 0).label(count.code)


TOUCHES_INDEXABLE_SRC = """\
def touches(w: Window):
    return sa.and_(d.received_at < w.end, sa.or_(
        d.received_at >= w.start, d.resolved_at >= w.start, d.closed_at >= w.start,
        sa.and_(d.resolved_at.is_(None), d.closed_at.is_(None))))"""
CHEAP_FIRST_SRC = """\
def cheap_first(condition):
    \"\"\"The AND terms of a condition, flattened, those that compare no time first.\"\"\"
    def terms(c):
        if isinstance(c, Grouping):
            c = c.element
        if isinstance(c, BooleanClauseList) and c.operator is operators.and_:
            for x in c.clauses:
                yield from terms(x)
        else:
            yield c

    def reads_time(c) -> bool:
        return any(isinstance(e, sa.Column) and isinstance(e.type, UTCDateTime)
                   for e in iterate(c))
    return sa.and_(*sorted(terms(condition), key=reads_time))
# imports: from sqlalchemy.sql import operators; from sqlalchemy.sql.elements import
# BooleanClauseList, Grouping; from sqlalchemy.sql.visitors import iterate;
# from wardapp.models import UTCDateTime"""
SUM_FILTER_SRC = """\
def sum_expression(count: Count, window: Window):
    condition = cheap_first(count.condition(window))  # or count.condition(window) alone
    if count.value is None:
        return sa.func.count().filter(condition).label(count.code)
    return sa.func.coalesce(sa.func.sum(count.value).filter(condition), 0).label(count.code)"""

# Every dossier column the report's aggregate reads, ward and receipt first: the index the
# planners already like for GROUP BY ward_code (ix_dossier_ward_received), made covering.
REPORT_COLUMNS = ("ward_code", "received_at", "resolved_at", "closed_at", "channel",
                  "return_method", "timeliness", "status", "due_at", "due_at_revised",
                  "procedure_code", "working_days_used")


class Trial:
    """A candidate fix: SQL run before (and undone after) the measurement, replacements for
    ``touches`` and ``sum_expression``, app settings; ``change`` says what it takes in the
    code."""

    def __init__(self, name: str, change: str, *, sql: dict | None = None,
                 undo: dict | None = None, touches=None, sums=None, config: dict | None = None,
                 backends=("sqlite", "postgresql")):
        self.name, self.change = name, change
        self.sql, self.undo = sql or {}, undo or {}
        self.touches, self.sums = touches, sums
        self.config, self.backends = config or {}, backends


def index_sql(name: str, columns: dict) -> dict:
    """CREATE/DROP of a trial index ``bench_<name>`` on dossier, per backend (PostgreSQL then
    vacuums, so that an index-only scan needs no heap visit, as autovacuum would leave it)."""
    sql, undo = {}, {}
    for backend in ("sqlite", "postgresql"):
        cols = ", ".join(columns.get(backend, columns.get("any")))
        sql[backend] = [f"CREATE INDEX bench_{name} ON dossier ({cols})"] + \
            (["VACUUM (ANALYZE) dossier"] if backend == "postgresql" else [])
        undo[backend] = [f"DROP INDEX IF EXISTS bench_{name}"]
    return {"sql": sql, "undo": undo}


def sum_case(count, window):
    """``sum_expression()`` as it was before commit 53a1d7d: SUM(CASE WHEN … THEN 1 ELSE 0)."""
    import sqlalchemy as sa

    value = 1 if count.value is None else count.value
    return sa.func.sum(sa.case((count.condition(window), value), else_=0)).label(count.code)


def sum_case_time_first(count, window):
    """The sums exactly as before commit 53a1d7d: SUM(CASE …), time comparisons first."""
    import sqlalchemy as sa

    value = 1 if count.value is None else count.value
    return sa.func.sum(sa.case((time_first(count.condition(window)), value), else_=0)) \
        .label(count.code)


def model_covering_index():
    """The hub's own index on dossier that holds every column the report reads, if it has one
    (ix_dossier_report since commit 53a1d7d)."""
    from city_hub.models import RECORD_TABLES

    for index in RECORD_TABLES["dossier"].indexes:
        if set(REPORT_COLUMNS) <= {c.name for c in index.columns}:
            return index
    return None


def create_index_sql(index, backend: str) -> list[str]:
    columns = ", ".join(c.name for c in index.columns)
    return [f"CREATE INDEX IF NOT EXISTS {index.name} ON dossier ({columns})"] + \
        (["VACUUM (ANALYZE) dossier"] if backend == "postgresql" else [])


def trials() -> list[Trial]:
    """Candidate changes, each relative to the code as it is (the first, "baseline")."""
    finished = index_sql("finished", {"sqlite": ["coalesce(resolved_at, closed_at)"],
                                      "postgresql": ["(coalesce(resolved_at, closed_at))"]})
    received = index_sql("received", {"any": ["received_at"]})
    jit_off = {"SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": "-c jit=off"}}}
    jit_soon = {"SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {
        "options": "-c jit_above_cost=50000"}}}
    covering = model_covering_index()
    found = [
        Trial("baseline", "the code as it is"),
        Trial("ANALYZE", "run ANALYZE (or PRAGMA optimize) now and then; the hub never does",
              sql={"sqlite": ["ANALYZE"]},
              undo={"sqlite": ["DROP TABLE IF EXISTS sqlite_stat1",
                               "DROP TABLE IF EXISTS sqlite_stat4"]}, backends=("sqlite",)),
        Trial("JIT on (as once the plan's cost passes 100,000)",
              "nothing: what PostgreSQL does once the plan's cost passes jit_above_cost "
              "(100,000), that is with more dossiers; emulated with jit_above_cost=50000",
              config=jit_soon, backends=("postgresql",)),
        Trial("jit off", "city_hub/__init__.py create_app, for PostgreSQL: "
              "SQLALCHEMY_ENGINE_OPTIONS={'connect_args': {'options': '-c jit=off'}} "
              "(or ALTER DATABASE … SET jit = off)", config=jit_off, backends=("postgresql",)),
        Trial("index on coalesce(resolved_at, closed_at)",
              "models.py _REPORT_INDEXES: sa.Index('ix_dossier_finished', "
              "sa.func.coalesce(sa.column('resolved_at'), sa.column('closed_at'))) + migration",
              **finished),
        Trial("touches() one index per branch + index on received_at",
              "indicators.py touches() as printed below + models.py _REPORT_INDEXES: "
              "sa.Index('ix_dossier_received', 'received_at') + migration",
              touches=touches_indexable, **received),
        Trial("sums: SUM(CASE …)", "indicators.py sum_expression() as before 53a1d7d "
              "(SUM(CASE WHEN … THEN 1 ELSE 0 END)), conditions as written", sums=sum_case),
        Trial("sums: FILTER, time tests first",
              "indicators.py: conditions with the time comparisons first, as before 53a1d7d",
              sums=lambda c, w: sum_filter(c, w, time_first)),
        Trial("sums: FILTER, time tests last", "indicators.py sum_expression() with FILTER and "
              "cheap_first() (as printed below): the order whatever the conditions say",
              sums=sum_filter_cheap_first),
    ]
    if covering is None:
        both = index_sql("report", {"any": REPORT_COLUMNS})
        found += [
            Trial("covering index (ward_code, received_at, …)",
                  "models.py _REPORT_INDEXES: replace ix_dossier_ward_received by sa.Index("
                  f"'ix_dossier_report', {', '.join(repr(c) for c in REPORT_COLUMNS)}) "
                  "+ migration", **both),
            Trial("covering index + FILTER, time tests last",
                  "the covering index and sum_expression() with FILTER and cheap_first()",
                  sums=sum_filter_cheap_first, **both),
            Trial("covering index + FILTER, time tests last + jit off",
                  "the same and jit off", sums=sum_filter_cheap_first, config=jit_off,
                  backends=("postgresql",), **both),
        ]
    else:
        narrow = {b: [f"DROP INDEX {covering.name}",
                      "CREATE INDEX bench_ward_received ON dossier (ward_code, received_at)"] +
                  (["VACUUM (ANALYZE) dossier"] if b == "postgresql" else [])
                  for b in ("sqlite", "postgresql")}
        restore = {b: ["DROP INDEX IF EXISTS bench_ward_received", *create_index_sql(covering, b)]
                   for b in ("sqlite", "postgresql")}
        found += [
            Trial(f"without {covering.name} ((ward_code, received_at) instead)",
                  f"the index as before 53a1d7d: {covering.name} replaced by "
                  "ix_dossier_ward_received (ward_code, received_at)", sql=narrow, undo=restore),
            Trial("as before 53a1d7d: SUM(CASE), time tests first, (ward_code, received_at)",
                  "the report as it was before commit 53a1d7d",
                  sums=sum_case_time_first, sql=narrow, undo=restore),
            Trial("jit off + JIT threshold passed", "jit off, tried where JIT would run",
                  config={"SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {
                      "options": "-c jit=off -c jit_above_cost=50000"}}},
                  backends=("postgresql",)),
        ]
    return found


def aggregate_plan(b: Backend, window, analyze: bool = True) -> list[str]:
    """The plan of the report's aggregate statement as the app sends it (captured from the
    cursor, with its parameters): EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE, BUFFERS) on
    PostgreSQL. Call inside the app context."""
    import sqlalchemy as sa

    from city_hub.extensions import db
    from city_hub.reports.queries import ward_report

    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "GROUP BY dossier.ward_code" in statement:
            captured.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        ward_report(window)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
        db.session.remove()
    statement, parameters = captured[0]
    with db.engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        if b.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return [row[3] for row in cursor.fetchall()]
        cursor.execute(("EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN ") + statement,
                       parameters)
        return [row[0] for row in cursor.fetchall()]


def condensed(plan: list[str], backend: str) -> list[str]:
    """The lines of a plan that say how rows are found and what the time goes to."""
    import re

    if backend == "sqlite":
        return plan
    keep = ("Scan on", "Scan using", "Index Cond", "Rows Removed", "Heap Fetches", "Timing:",
            "Execution Time", "Workers Launched")
    out = []
    for text in plan:
        if any(k in text for k in keep):
            text = re.sub(r"\(cost=[^)]*\) ", "", text.rstrip())
            out.append(text if len(text) < 120 else text[:117] + "...")
    return out


def ddl(b: Backend, statements: list[str]) -> float:
    t = time.perf_counter()
    conn = b.raw()
    if b.name == "postgresql":
        conn.autocommit = True
    for statement in statements:
        conn.execute(statement)
    conn.close()
    return time.perf_counter() - t


def index_bytes(b: Backend) -> int:
    """Size of the bench_* trial indexes now present."""
    conn = b.raw()
    cur = conn.cursor()
    if b.name == "sqlite":
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'bench_%'")
        names = [r[0] for r in cur.fetchall()]
        total = 0
        for name in names:
            try:
                cur.execute("SELECT SUM(pgsize) FROM dbstat WHERE name = ?", (name,))
                total += cur.fetchone()[0] or 0
            except sqlite3.OperationalError:  # no dbstat in this build of SQLite
                return -1
    else:
        cur.execute("SELECT COALESCE(SUM(pg_relation_size(indexrelid)), 0) FROM pg_index "
                    "JOIN pg_class ON pg_class.oid = indexrelid WHERE relname LIKE 'bench_%'")
        total = cur.fetchone()[0]
    conn.close()
    return total


def drop_leftovers(b: Backend) -> None:
    """Trial indexes a crashed run may have left behind."""
    conn = b.raw()
    cur = conn.cursor()
    if b.name == "sqlite":
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'bench_%'")
    else:
        cur.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'bench_%'")
    names = [r[0] for r in cur.fetchall()]
    conn.close()
    if names:
        log(f"   dropping trial indexes left by an earlier run: {names}")
        ddl(b, [f"DROP INDEX IF EXISTS {n}" for n in names])
    if b.name == "sqlite":
        ddl(b, ["DROP TABLE IF EXISTS sqlite_stat1", "DROP TABLE IF EXISTS sqlite_stat4"])
    restore_model_indexes(b)


def restore_model_indexes(b: Backend) -> None:
    """Recreate any index of the hub's dossier table that a crashed trial left dropped."""
    import sqlalchemy as sa

    from city_hub.models import RECORD_TABLES

    engine = sa.create_engine(b.url)
    have = {i["name"] for i in sa.inspect(engine).get_indexes("dossier")}
    engine.dispose()
    for index in RECORD_TABLES["dossier"].indexes:
        if index.name not in have:
            log(f"   recreating {index.name}, dropped by an earlier run")
            ddl(b, create_index_sql(index, b.name))


def try_fix(b: Backend, trial: Trial, window, runs: int, warmup: int, baseline) -> dict:
    import city_hub.reports.queries as queries
    from city_hub.extensions import db

    original, original_sums = queries.touches, queries.sum_expression
    setup = ddl(b, trial.sql.get(b.name, []))
    size = index_bytes(b) if trial.sql.get(b.name) else 0
    try:
        if trial.touches:
            queries.touches = trial.touches
        if trial.sums:
            queries.sum_expression = trial.sums
        app = hub_app(b, trial.config)
        with app.app_context():
            import sqlalchemy as sa

            rows = queries.ward_report(window)
            db.session.remove()
            figures = [(r.key, r.counts) for r in rows]
            same = baseline is None or figures == baseline

            def report():
                queries.ward_report(window)
                db.session.remove()

            def bare():
                db.session.execute(sa.text(BARE_SQL)).all()
                db.session.remove()

            result = rounds({"bare": bare, "report": report}, runs, warmup)
            plan = aggregate_plan(b, window)
            db.engine.dispose()
    finally:
        queries.touches, queries.sum_expression = original, original_sums
        ddl(b, trial.undo.get(b.name, []))
    return {"figures": result, "plan": plan, "same": same, "rows": figures,
            "setup_s": setup, "index_bytes": size}


def experiments(backends: list[Backend], built: dict, args) -> dict:
    from city_hub.reports.periods import parse_period

    window = parse_period(PERIOD).window()
    covering = model_covering_index()
    log(f"Candidate changes, measured on the cached hubs ({args.trial_runs} rounds each after "
        f"{args.warmup} warm-up; the figures of every trial are compared with the baseline's). "
        "Each is relative to the code as it is, which " +
        (f"has the covering index {covering.name} (commit 53a1d7d):" if covering else
         "has no covering index for the report:"))
    found = {}
    for b in backends:
        drop_leftovers(b)
        log(f"-- {b.name}: the rest of the machine uses {machine_load():.2f} CPUs")
        n, floors = expression_floor(b, window, args.trial_runs)
        found[(b.name, "expressions")] = (n, floors)
        log(f"-- {b.name}: the aggregate statement alone, over a temporary table holding only "
            f"the {n:,} rows touches() selects (what no index can take away):")
        for label, floor in floors.items():
            log(f"      sums {label + ':':<25} p50 {floor['p50']:6.1f} / p95 {floor['p95']:6.1f} ms "
                f"({floor['p50'] * 1000 / n:.2f} µs a row)")
        baseline = None
        for trial in trials():
            if b.name not in trial.backends:
                continue
            r = try_fix(b, trial, window, args.trial_runs, args.warmup, baseline)
            if baseline is None:
                baseline = r["rows"]
            found[(b.name, trial.name)] = r
            f = r["figures"]
            extra = f"; index {r['index_bytes'] / 2**20:.1f} MiB built in {r['setup_s']:.1f} s" \
                if r["index_bytes"] else (f"; setup {r['setup_s']:.1f} s" if r["setup_s"] > 0.05
                                          else "")
            log(f"-- {b.name}, {trial.name}: report p50 {f['report']['p50']:.1f} / p95 "
                f"{f['report']['p95']:.1f} ms "
                f"({'ok' if f['report']['p95'] < TARGET_REPORT_MS else 'OVER'}), floor "
                f"{f['bare']['p50']:.1f} ms, ratio {f['report']['p50'] / f['bare']['p50']:.1f}"
                f"{extra}; figures {'same' if r['same'] else 'DIFFERENT'}")
            for text in (r["plan"] if trial.name == "baseline" else
                         condensed(r["plan"], b.name)):
                log(f"      {text}")
    log("")
    log("Summary of the candidate changes, report p50 / p95 ms (target p95 < 300 ms):")
    names = [t for t in trials()]
    log(f"   {'change':<58} " + " ".join(f"{b.name:>20}" for b in backends))
    for t in names:
        cells = []
        for b in backends:
            r = found.get((b.name, t.name))
            cells.append(f"{'-':>20}" if r is None else
                         f"{r['figures']['report']['p50']:>8.1f} / {r['figures']['report']['p95']:>7.1f}"
                         .rjust(20))
        log(f"   {t.name:<58} " + " ".join(cells))
    for t in names:
        log(f"   {t.name}: {t.change}")
    log("   touches() with one index per branch (city_hub/reports/indicators.py):")
    for text in TOUCHES_INDEXABLE_SRC.splitlines():
        log("      " + text)
    log("   sum_expression() with FILTER (city_hub/reports/indicators.py):")
    for text in SUM_FILTER_SRC.splitlines():
        log("      " + text)
    log("   cheap_first() (city_hub/reports/indicators.py):")
    for text in CHEAP_FIRST_SRC.splitlines():
        log("      " + text)
    return found


def expression_floor(b: Backend, window, runs: int) -> tuple[int, dict]:
    """The report's aggregate statement, unchanged (and with FILTER and cheap_first), over a
    temporary copy of exactly the rows ``touches()`` selects (a TEMP table named dossier hides
    the real one): what evaluating the sums costs when finding the rows costs nothing."""
    import sqlalchemy as sa

    import city_hub.reports.queries as queries
    from city_hub.extensions import db

    statements = {}
    original = queries.sum_expression
    app = hub_app(b)
    with app.app_context():
        for label, sums in (("as before 53a1d7d", sum_case_time_first),
                            ("as the code is", original)):
            captured = []

            def capture(conn, cursor, statement, parameters, context, executemany):
                if "GROUP BY dossier.ward_code" in statement:
                    captured.append((statement, parameters))
            sa.event.listen(db.engine, "before_cursor_execute", capture)
            queries.sum_expression = sums
            try:
                queries.ward_report(window)
            finally:
                queries.sum_expression = original
                sa.event.remove(db.engine, "before_cursor_execute", capture)
                db.session.remove()
            statements[label] = captured[0]
        db.engine.dispose()
    start, end = (t.astimezone(dt.timezone.utc).replace(tzinfo=None)
                  for t in (window.start, window.end))
    if b.name == "sqlite":
        start, end = (t.isoformat(" ", "microseconds") for t in (start, end))
    mark = b.mark
    conn = b.raw()
    cur = conn.cursor()
    # in memory, like the real table's pages after warm-up
    cur.execute("PRAGMA temp_store=MEMORY" if b.name == "sqlite" else "SET temp_buffers = '256MB'")
    cur.execute(f"CREATE TEMP TABLE dossier AS SELECT {', '.join(REPORT_COLUMNS)} FROM "
                f"{'main' if b.name == 'sqlite' else 'public'}.dossier WHERE received_at < "
                f"{mark} AND (coalesce(resolved_at, closed_at) IS NULL OR "
                f"coalesce(resolved_at, closed_at) >= {mark})", (end, start))
    cur.execute("SELECT COUNT(*) FROM dossier")
    n = cur.fetchone()[0]
    samples = {label: [] for label in statements}
    for i in range(runs + 1):
        for label, (statement, parameters) in statements.items():
            t = time.perf_counter()
            cur.execute(statement, parameters)
            cur.fetchall()
            if i:
                samples[label].append((time.perf_counter() - t) * 1000)
    conn.close()
    return n, {label: stats(v) for label, v in samples.items()}


def build_key(dossiers: int) -> dict:
    return {"build_version": BUILD_VERSION, "seed": SEED, "dossiers": dossiers,
            "days": [FIRST_DAY.isoformat(), LAST_DAY.isoformat()],
            "horizon_local": HORIZON_LOCAL.isoformat(), "units": sorted(UNIT_WEIGHTS),
            "record_schema": record_schema()}


def ensure_built(backends: list[Backend], dossiers: int, rebuild: bool) -> dict[str, dict]:
    key = build_key(dossiers)
    stale = [b for b in backends if rebuild or b.built(key) is None]
    for b in stale:
        why = "--rebuild" if rebuild else "no cache" if not b.build_file.exists() else \
            "cache made for another build key or schema, or incomplete"
        log(f"   {b.name}: building ({why})")
    head = migration_head()
    for b in backends:
        if b in stale:
            continue
        record = b.built(key)
        if record.get("migration_head") != head:
            log(f"   {b.name}: cached hub at migration {record.get('migration_head')}, code at "
                f"{head}: upgrading it in place")
            try:
                upgrade_cache(b)
                record["migration_head"] = head
                b.build_file.write_text(json.dumps(record, indent=1, default=str))
            except Exception as e:  # noqa: BLE001 - e.g. a migration that was rewritten
                log(f"   {b.name}: upgrade failed ({e!r:.200}); building again")
                stale.append(b)
                continue
        if missing := missing_columns(b):
            log(f"   {b.name}: cached hub lacks {missing[:5]} (a migration rewritten in place?): "
                "building again")
            stale.append(b)
    if stale:
        build(stale, key, dossiers)
    return {b.name: b.built(key) for b in backends}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached hubs")
    parser.add_argument("--build-only", action="store_true", help="only build the caches")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], action="append",
                        help="only this backend (may repeat)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per figure")
    parser.add_argument("--trial-runs", type=int, default=10,
                        help="timed runs per candidate fix")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs before them")
    parser.add_argument("--experiments", action=argparse.BooleanOptionalAction, default=None,
                        help="measure candidate fixes (default: when the report is over target)")
    parser.add_argument("--wait-idle", action="store_true",
                        help="wait until no other bench_*.py process is running")
    parser.add_argument("--pg-url", default=PG_ADMIN_URL,
                        help="a PostgreSQL server and role that may create databases")
    parser.add_argument("--dossiers", type=int, default=DOSSIERS,
                        help="size of the city (other sizes are cached under their own name)")
    args = parser.parse_args(argv)

    out = OUT if args.dossiers == DOSSIERS else OUT.parent / f"reports-{args.dossiers}"
    names = args.only or ["sqlite", "postgresql"]
    backends = [Backend(n, out, args.pg_url if n == "postgresql" else None) for n in names]
    started = time.perf_counter()
    log(f"City report benchmark: code {benchlib.code_version()}, {os.cpu_count()} CPUs, "
        f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}")
    built = ensure_built(backends, args.dossiers, args.rebuild)
    for b in backends:
        r = built[b.name]
        log(f"   {b.name}: {r['rows']['dossier']:,} dossiers, {r['rows']['dossier_event']:,} "
            f"events, {r['rows']['user']:,} accounts, {r['size_bytes'] / 2**20:,.0f} MiB "
            f"(built {r['built_utc']} in {r['total_seconds']:.0f} s)")
    log(f"   ready after {time.perf_counter() - started:.0f} s")
    if args.build_only:
        return 0
    return run(backends, built, args, started)


if __name__ == "__main__":
    sys.exit(main())
