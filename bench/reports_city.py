"""The synthetic city the reports benchmark reads: five years of 14 units' dossiers and events.

What the data looks like is told by :class:`Generator`; ``reports_expected.Expected`` counts,
row by row while generating, what the report must show, so that the figures are checked before
they are timed. The deadline rules come from the kernel through :class:`reports_calendar.Days`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random

from reports_calendar import Days, close_iso, disagreements, timeliness_by_day, utc_iso

from kernel.statuses import Status

SEED = 2025
DOSSIERS = 600_000
FIRST_DAY, LAST_DAY = dt.date(2021, 1, 1), dt.date(2025, 12, 31)
# The data ends at 17:30 local on the last day: later steps have not happened yet.
HORIZON_LOCAL = dt.datetime(2025, 12, 31, 17, 30)
CHUNK_DOSSIERS = 10_000
# The report the benchmark times; its counts are made while generating
# (``reports_expected.Expected``).
PERIOD = "2025-9M"

# The 13 wards of Long Xuyên and the city desk (wardapp/refdata/units.json), with how busy each
# office is relative to the others (central wards more, the two communes and the city desk less).
UNIT_WEIGHTS = {
    "30280": 1.5,
    "30283": 1.3,
    "30285": 1.0,
    "30286": 1.2,
    "30289": 1.1,
    "30292": 1.2,
    "30295": 1.0,
    "30298": 0.9,
    "30301": 0.9,
    "30304": 0.8,
    "30307": 0.8,
    "30310": 0.5,
    "30313": 0.6,
    "883": 0.4,
}
# Share of the dossiers per procedure (certified copies dominate a ward's one-stop desk); codes
# of the published catalogue not named here get DEFAULT_PROCEDURE_WEIGHT.
PROCEDURE_WEIGHTS = {
    "2.000815": 38.0,
    "2.000884": 12.0,
    "1.004873": 8.0,
    "1.001193": 7.0,
    "2.000635": 5.0,
    "2.001035": 4.0,
    "1.000656": 3.0,
    "1.000894": 3.0,
    "1.000689": 2.0,
    "1.001776": 2.0,
    "1.004859": 1.5,
    "2.000908": 1.5,
    "2.001406": 1.2,
    "1.001699": 0.8,
    "1.004884": 0.6,
    "1.001731": 0.6,
    "2.000942": 0.5,
    "1.001022": 0.4,
    "2.000913": 0.4,
    "2.001019": 0.3,
    "1.001653": 0.3,
    "1.000748": 0.3,
    "1.004837": 0.2,
    "2.001016": 0.2,
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

FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Huỳnh",
    "Võ",
    "Phan",
    "Trương",
    "Bùi",
    "Đặng",
    "Đỗ",
    "Ngô",
    "Hồ",
    "Dương",
    "Đinh",
    "Lâm",
    "Châu",
    "Tô",
]
MIDDLE_M = ["Văn", "Minh", "Quốc", "Thanh", "Hoàng", "Hữu", "Công", "Tấn"]
MIDDLE_F = ["Thị", "Ngọc", "Thị Ngọc", "Kim", "Thanh", "Mỹ", "Thị Kim", "Bích"]
GIVEN_M = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hải",
    "Hùng",
    "Khánh",
    "Long",
    "Minh",
    "Nam",
    "Phúc",
    "Quân",
    "Sơn",
    "Tâm",
    "Tuấn",
    "Thành",
    "Trí",
    "Vinh",
]
GIVEN_F = [
    "Hà",
    "Hạnh",
    "Hương",
    "Lan",
    "Linh",
    "Mai",
    "Nga",
    "Phương",
    "Thảo",
    "Trang",
    "Vy",
    "Yến",
    "Tuyết",
    "Diễm",
    "Ngân",
    "Nhung",
]
STREETS = [
    "Hà Hoàng Hổ",
    "Trần Hưng Đạo",
    "Lý Thái Tổ",
    "Nguyễn Huệ",
    "Hai Bà Trưng",
    "Tôn Đức Thắng",
    "Lê Lợi",
    "Trần Quang Khải",
    "Bùi Văn Danh",
    "Phạm Cự Lượng",
    "Ung Văn Khiêm",
    "Nguyễn Thái Học",
    "Châu Văn Liêm",
    "Trần Hưng Đạo nối dài",
]
ORGS = [
    "Công ty TNHH Thương mại Dịch vụ",
    "Công ty Cổ phần Xây dựng",
    "Doanh nghiệp tư nhân",
    "Hợp tác xã Nông nghiệp",
    "Công ty TNHH MTV Vận tải",
]
REFUSE_REASONS = [
    "Hồ sơ không đủ điều kiện giải quyết theo quy định",
    "Giấy tờ xuất trình không hợp lệ",
    "Yêu cầu không thuộc thẩm quyền của UBND cấp xã",
]
WITHDRAW_REASONS = ["Công dân xin rút hồ sơ", "Công dân đã thực hiện tại nơi khác"]
SUPPLEMENT_REASONS = [
    "Bổ sung bản sao giấy tờ tùy thân",
    "Bổ sung văn bản ủy quyền",
    "Bổ sung giấy tờ chứng minh nơi cư trú",
    "Tờ khai chưa đủ chữ ký",
]
ROLES = [
    ("letan", "receptionist"),
    ("chuyenvien1", "officer"),
    ("chuyenvien2", "officer"),
    ("lanhdao", "leader"),
    ("quantri", "admin"),
]

# --- Generating the city's five years ---------------------------------------------------------


def office_minute(rng: random.Random) -> int:
    """A minute of the office day (07:00–11:30, 13:00–17:00), more in the morning."""
    if rng.random() < 0.58:
        return 7 * 60 + int(rng.random() * 270)
    return 13 * 60 + int(rng.random() * 240)


def at_minute(day: dt.date, minute: int) -> dt.datetime:
    return dt.datetime(
        day.year, day.month, day.day, minute // 60, minute % 60, int(random.random() * 60)
    )


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
    first, last = days.index(days.working_or_next(a.date())), days.index(b.date())
    for _ in range(4):
        day = days.list[randint(rng, first, last)] if first <= last else a.date()
        t = time_after(rng, days, day, a) if day == a.date() else at_minute(day, office_minute(rng))
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
    name = " ".join(
        (
            pick(rng, FAMILY),
            pick(rng, MIDDLE_F if female else MIDDLE_M),
            pick(rng, GIVEN_F if female else GIVEN_M),
        )
    )
    born = randint(rng, 1950, 2005)
    century = (2 if born >= 2000 else 0) + female
    return name, f"089{century}{born % 100:02d}{int(rng.random() * 10**6):06d}"


def catalogue(snapshot: dict) -> list[dict]:
    """The published procedures with what generation needs (weights, required documents)."""
    procedures = []
    for p in snapshot["procedures"]:
        procedures.append(
            {
                "code": p["code"],
                "name": p["name"],
                "regime": p.get("regime", "2018"),
                "value": p["duration_value"],
                "unit": p["duration_unit"],
                "cutoff": p["cutoff_15h"],
                "level": p["online_level"],
                "postal": p["postal_allowed"],
                "weight": PROCEDURE_WEIGHTS.get(p["code"], DEFAULT_PROCEDURE_WEIGHT),
                "documents": [
                    {"name": d["name"], "kind": d["kind"], "quantity": d["quantity"]}
                    for d in p["documents"]
                    if d["required"]
                ],
            }
        )
    return procedures


def daily_counts(rng: random.Random, days: Days, total: int) -> list[tuple[dt.date, str, int]]:
    """How many dossiers each unit receives on each working day, summing to ``total``."""
    cells = []
    for day in days.list:
        if not FIRST_DAY <= day <= LAST_DAY:
            continue
        f = (
            YEAR_FACTOR[day.year]
            * MONTH_FACTOR.get(day.month, 1.0)
            * WEEKDAY_FACTOR.get(day.weekday(), 1.0)
        )
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
      early when received after 15:00), returned 0–15 working days later. 1 % are withdrawn
      and 1.5 % refused; 0.25 % wait for a supplement that never comes
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

    def __init__(
        self,
        procedures: list[dict],
        units: dict[str, dict],
        seed: int = SEED,
        total: int = DOSSIERS,
    ):
        self.rng = random.Random(seed)
        random.seed(seed + 1)  # at_minute's seconds
        self.days = Days(dt.date(2020, 12, 1), dt.date(2026, 6, 30))
        if wrong := disagreements(self.days):
            raise SystemExit(
                f"the bench's calendar differs from kernel.workdays in "
                f"{len(wrong)} cases, e.g. {wrong[:3]}"
            )
        self.calendar_version = self.days.calendar.version
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
                rows.append(
                    {
                        "uuid": self.users[code][username],
                        "ward_code": code,
                        "username": username,
                        "full_name": name,
                        "roles": role,
                        "active": True,
                        "created_at": "2020-12-01T01:00:00+00:00",
                        "version": 1,
                        "_seq": number,
                        "_synced": "2020-12-01T01:30:00+00:00",
                    }
                )
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
        events = [("received", t0, users["letan"], None, Status.RECEIVED, None, "", {})]

        def ev(
            kind, at, actor, to_user=None, status=Status.PROCESSING, step=None, reason="", data=None
        ):
            events.append((kind, at, actor, to_user, status, step, reason, data or {}))

        t_ho = t0 + dt.timedelta(minutes=randint(rng, 5, 120))
        if t_ho.time() > dt.time(17, 15):  # received late in the day: handed over next morning
            t_ho = time_after(rng, days, days.next_working(t0.date()), t0)
        ev(
            "handed_over",
            t_ho,
            users["letan"],
            officer,
            Status.PROCESSING,
            timeliness_by_day(t_ho, due_day),
        )
        due_revised = None
        pause_days = 0
        u = rng.random()
        last = t_ho
        if u < P_WITHDRAWN + P_REFUSED:
            first = days.working_or_next(last.date())
            end_day = days.add(first, randint(rng, 0, days.between(first, due_day) + 1))
            at = time_after(rng, days, end_day, last)
            if u < P_WITHDRAWN:
                ev(
                    "withdrawn",
                    at,
                    users["letan"],
                    None,
                    Status.WITHDRAWN,
                    None,
                    pick(rng, WITHDRAW_REASONS),
                )
            else:
                ev(
                    "refused",
                    at,
                    users["lanhdao"],
                    None,
                    Status.REFUSED,
                    None,
                    pick(rng, REFUSE_REASONS),
                )
        elif u < P_WITHDRAWN + P_REFUSED + P_STUCK_WAITING:
            at = time_after(rng, days, days.working_or_next(last.date()), last)
            ev(
                "supplement_requested",
                at,
                officer,
                None,
                Status.AWAITING_SUPPLEMENT,
                None,
                pick(rng, SUPPLEMENT_REASONS),
            )
        elif u < P_WITHDRAWN + P_REFUSED + P_STUCK_WAITING + P_STUCK_OPEN:
            pass  # handed over, never resolved: overdue for ever
        else:
            last_day = days.working_or_next(last.date())
            if rng.random() < P_SUPPLEMENT[p["unit"]]:
                req_day = days.add(
                    last_day, randint(rng, 0, max(days.between(last_day, due_day), 0))
                )
                t_req = time_after(rng, days, req_day, last)
                ev(
                    "supplement_requested",
                    t_req,
                    officer,
                    None,
                    Status.AWAITING_SUPPLEMENT,
                    None,
                    pick(rng, SUPPLEMENT_REASONS),
                )
                back_day = days.add(t_req.date(), randint(rng, 1, 7))
                t_back = time_after(rng, days, back_day, t_req)
                pause_days = days.between(t_req.date(), t_back.date())
                before = due_day
                due_day = days.add(due_day, pause_days) if pause_days else due_day
                ev(
                    "supplement_received",
                    t_back,
                    users["letan"],
                    None,
                    Status.PROCESSING,
                    None,
                    "",
                    {"due_at_before": close_iso(before), "due_at": close_iso(due_day)},
                )
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
                    t_apo = time_after(rng, days, due_day if rng.random() < 0.5 else last_day, last)
                    if t_apo.date() <= due_day and t_apo.hour < 17:
                        revised = days.add(due_day, randint(rng, 3, 7))
                        due_revised = revised
                        ev(
                            "apology",
                            t_apo,
                            users["lanhdao"],
                            None,
                            Status.PROCESSING,
                            None,
                            "Hồ sơ cần xác minh thêm, hẹn lại ngày trả kết quả",
                            {"due_at": close_iso(due_day), "due_at_revised": close_iso(revised)},
                        )
                        last = t_apo
                res_day = days.add(
                    days.working_or_next(max(due_day, last.date())), randint(rng, 1, 4)
                )
            t_res = time_after(rng, days, res_day, last)
            if rng.random() < P_LEADER:
                mid = between(rng, days, last, t_res)
                ev(
                    "handed_over",
                    mid,
                    officer,
                    users["lanhdao"],
                    Status.PROCESSING,
                    timeliness_by_day(mid, due_day),
                )
                actor = users["lanhdao"]
            else:
                actor = officer
            kind = timeliness_by_day(t_res, due_day)
            ev("resolved", t_res, actor, None, Status.RESOLVED, kind)
            r = rng.random()
            lag = 0 if r < 0.45 else 1 if r < 0.70 else 2 if r < 0.82 else randint(rng, 3, 15)
            t_ret = time_after(
                rng, days, days.add(t_res.date(), lag) if lag else t_res.date(), t_res
            )
            ev(
                "returned",
                t_ret,
                users["letan"],
                None,
                Status.RETURNED,
                timeliness_by_day(t_ret, due_revised or due_day),
                "",
                {"return_method": ret},
            )

        return self._records(
            unit, p, t0, channel, ret, due_orig, due_day, due_revised, start_day, events
        )

    def _pick(self) -> int:
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

    def _records(
        self, unit, p, t0, channel, ret, due_orig, due_day, due_revised, start_day, events
    ) -> tuple[dict, list[dict]]:
        """The dossier header as the ward holds it once ``events`` (up to the horizon) are
        taken, and the event records. Each record is a dict of its wire values (times as
        ISO-8601 UTC text, as the ward sends them) plus ``_seq`` and ``_synced``."""
        rng = self.rng
        kept = [e for e in events if e[1] <= HORIZON_LOCAL]
        status, assignee, paused = Status.RECEIVED, kept[0][2], None
        resolved = closed = returned = tim = None
        due = due_orig
        revised = None
        for kind, at, _actor, to_user, status_after, step, _reason, _data in kept:
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
        address = (
            f"Số {randint(rng, 1, 250)} đường {pick(rng, STREETS)}, khóm "
            f"{randint(rng, 1, 9)}, {u['name']}"
        )
        dossier_uuid = new_uuid(rng)
        seq = self.seq[unit]
        n = len(kept)
        updated = kept[-1][1]
        dossier = {
            "uuid": dossier_uuid,
            "ward_code": unit,
            "code": f"{u['agency_code']}-{t0.year % 100:02d}{t0.month:02d}{t0.day:02d}-"
            f"{number:04d}",
            "request_key": f"{rng.getrandbits(128):032x}",
            "procedure_code": p["code"],
            "procedure_name": p["name"],
            "regime": p["regime"],
            "applicant_kind": applicant_kind,
            "applicant_name": name,
            "citizen_id": citizen,
            "phone": f"09{int(rng.random() * 10**8):08d}",
            "email": "" if rng.random() < 0.9 else f"nguoidan{int(rng.random() * 10**5)}@gmail.com",
            "address": address,
            "channel": channel,
            "return_method": ret,
            "return_address": address if ret == "postal" else "",
            "documents": p["documents"],
            "sets_count": 1,
            "note": "",
            "received_at": utc_iso(t0),
            "received_by_uuid": kept[0][2],
            "due_at_original": close_iso(due_orig),
            "due_at": close_iso(due),
            "due_at_revised": close_iso(revised) if revised else None,
            "calendar_version": self.calendar_version,
            "status": int(status),
            "assignee_uuid": assignee,
            "paused_at": utc_iso(paused) if paused else None,
            "resolved_at": utc_iso(resolved) if resolved else None,
            "timeliness": tim,
            "working_days_used": max(
                self.days.between(start_day, resolved.date()) - self.days.between(due_orig, due), 0
            )
            if resolved
            else None,
            "returned_at": utc_iso(returned) if returned else None,
            "closed_at": utc_iso(closed) if closed else None,
            "logbook_number": line,
            "updated_at": utc_iso(updated),
            "version": n,
            "_seq": seq + 2 * n,
            "_synced": utc_iso(updated + dt.timedelta(minutes=randint(rng, 1, 40))),
        }
        rows = []
        for position, (kind, at, actor, to_user, status_after, step, reason, data) in enumerate(
            kept, start=1
        ):
            rows.append(
                {
                    "uuid": new_uuid(rng),
                    "ward_code": unit,
                    "dossier_uuid": dossier_uuid,
                    "position": position,
                    "kind": kind,
                    "at": utc_iso(at),
                    "actor_uuid": actor,
                    "to_user_uuid": to_user,
                    "status_after": int(status_after),
                    "step_timeliness": step,
                    "reason": reason,
                    "data": data,
                    "version": 1,
                    "_seq": seq + 2 * position - 1,
                    "_synced": utc_iso(at + dt.timedelta(minutes=randint(rng, 1, 40))),
                }
            )
        self.seq[unit] = seq + 2 * n
        s = self.stats
        s["dossiers"] += 1
        s["events"] += n
        s["status"][int(status)] = s["status"].get(int(status), 0) + 1
        s["channel"][channel] = s["channel"].get(channel, 0) + 1
        if tim:
            s["timeliness"][tim] = s["timeliness"].get(tim, 0) + 1
        return dossier, rows
