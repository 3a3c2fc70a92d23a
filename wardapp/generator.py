"""The seeded city generator: realistic dossiers for any period, units and scale, written through
the ward's own service layer so each ward's outbox fills exactly as real work would.

It works in two stages:

1. :func:`plan_city` decides, without a database, every dossier of the city: its desk, the
   moment it is received, its procedure, channel and return method, and its fate (resolved in
   time or late, refused, withdrawn, or still open at the end), with a supplement pause or an
   apology where it has one. The plan meets the preset's :class:`Quotas` exactly, by
   construction: the article's figures (domain.md §0.3) come out of the hub's report to the unit.
2. :class:`WardRun` plays one ward's share of the plan in time order (a simulated clock over
   every open dossier), many steps per write transaction, and checks that the service layer
   classified each resolution as planned. Dossiers go through the desk's own intake and step
   rules, stored by :class:`~wardapp.dossiers.replay.ReplayDesk` without the session's unit of
   work (the same rows and outbox rows, a tenth of the CPU); ``tests/test_replay.py`` proves
   the rows equal to those of the desk's service functions.
   The reform models come along through their own services, from random streams of their own
   so they leave every dossier as planned: writing assistance at intake, letters and ratings
   after return (:data:`AFTER_RETURN_STEPS`), and the ward's feedback and yearly
   self-inspections over the period (:meth:`WardRun._ward_lives`).

Everything is drawn from ``random.Random`` seeded by the preset's seed and, per dossier, by its
own seed, so the same preset gives the same city every time, whichever process plays which ward.
"""
from __future__ import annotations

import datetime as dt
import heapq
import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import sqlalchemy as sa

from .database import batched_writes
from .dossiers.replay import ReplayDesk
from .dossiers.service import load_calendar, this_ward
from .extensions import db
from .feedback.service import answer_feedback, assign_feedback, receive_feedback
from .inspections.service import save_inspection, start_inspection, submit_inspection
from .letters.service import chairman_name
from wardapp.sync.records import INSPECTION_CONTENTS, LETTER_KINDS, RATING_CRITERIA, Dossier, User
from .models import Procedure
from .ratings.service import rating_key
from kernel.refdata import read_json
from kernel.workdays import OFFICE_CLOSES, WorkCalendar, local_datetime, to_local

UTC = dt.timezone.utc
# The city's own desk (Bộ phận Tiếp nhận và Trả kết quả thành phố) and its 13 wards and communes,
# with each desk's share of the intake (the central wards and the city desk are the busiest).
UNIT_WEIGHTS = {"883": 11, "30280": 10, "30283": 8, "30285": 6, "30286": 9, "30289": 8,
                "30292": 9, "30295": 7, "30298": 6, "30301": 8, "30304": 7, "30307": 6,
                "30310": 5, "30313": 6}
CITY_UNITS = tuple(UNIT_WEIGHTS)
# How often each procedure comes to a desk, within its online level; the others weigh 1.
PROCEDURE_WEIGHTS = {"2.000815": 40, "2.000884": 14, "2.001035": 5, "1.001193": 12,
                     "1.000894": 5, "2.000908": 4, "1.004859": 3, "1.004884": 2,
                     "1.001731": 2, "1.001653": 2, "2.000635": 14, "1.004873": 9,
                     "1.000656": 5}
# Monday to Friday, then a weekend day made a working day (ngày làm bù), as quiet as a Friday
WEEKDAY_WEIGHTS = (1.2, 1.05, 1.0, 1.0, 0.85, 0.85, 0.85)
SAME_DAY_RETURN = 0.7   # share of results handed back the day they are ready
PROGRESS_STEPS = 1000   # how often a run tells its progress (it commits every 20,000 steps:
                        # each commit waits for the disk)


@dataclass(frozen=True)
class Quotas:
    """What the city's report must show for the period, exactly.

    ``in_time`` are resolved early or on time; the rest of ``resolved`` are late. The level-3
    and level-4 pairs are the online dossiers over all dossiers of the procedures offered at that
    level; ``postal`` counts dossiers received or returned by post. Received dossiers that are
    neither resolved, refused nor withdrawn are still open when the period ends.
    """

    received: int
    resolved: int
    in_time: int
    level3_dossiers: int
    level3_online: int
    level4_dossiers: int
    level4_online: int
    postal: int
    refused: int
    withdrawn: int

    @property
    def pending(self) -> int:
        return self.received - self.resolved - self.refused - self.withdrawn

    def scaled(self, received: int) -> Quotas:
        """The same proportions for ``received`` dossiers (rounded, so still whole dossiers)."""
        factor = received / self.received
        return Quotas(received, *(round(getattr(self, name) * factor) for name in (
            "resolved", "in_time", "level3_dossiers", "level3_online", "level4_dossiers",
            "level4_online", "postal", "refused", "withdrawn")))


# The article (domain.md §0.3): January–September 2020, the 13 wards and the city desk. 97% of
# the resolved were in time, 35% of the level-3 procedures' dossiers and 87% of the level-4
# ones came online; the split of the 2,274 not resolved by 30 September is ours (about 1% refused,
# 0.5% withdrawn, the rest still open).
ARTICLE_QUOTAS = Quotas(received=93_316, resolved=91_042, in_time=88_311, level3_dossiers=45_703,
                        level3_online=15_996, level4_dossiers=7_563, level4_online=6_580,
                        postal=6_176, refused=930, withdrawn=470)


@dataclass(frozen=True)
class Preset:
    """A city to generate: the days [first, last], the desks, what the report must show, and
    ``until``, the moment the simulated clock stops (steps after it are not taken)."""

    first: dt.date
    last: dt.date
    units: tuple[str, ...]
    quotas: Quotas
    until: dt.datetime
    seed: int = 2020


def _midnight_after(day: dt.date) -> dt.datetime:
    return local_datetime(day + dt.timedelta(days=1), dt.time(0, 0))


ARTICLE = Preset(dt.date(2020, 1, 1), dt.date(2020, 9, 30), CITY_UNITS,
                 ARTICLE_QUOTAS, _midnight_after(dt.date(2020, 9, 30)))


def working_days(calendar: WorkCalendar, first: dt.date, last: dt.date) -> list[dt.date]:
    days, day = [], first
    while day <= last:
        if calendar.is_working_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def city_preset(first: dt.date, last: dt.date, *, units: Sequence[str] = CITY_UNITS,
                scale: float = 1.0, until: dt.datetime | None = None, seed: int = 2020,
                calendar: WorkCalendar | None = None) -> Preset:
    """A city at the article's daily pace and proportions for another period or set of desks,
    times ``scale``; ``until`` defaults to the end of ``last``."""
    calendar = calendar or WorkCalendar()
    unknown = set(units) - UNIT_WEIGHTS.keys()
    if unknown:
        raise ValueError(f"không có đơn vị {', '.join(sorted(unknown))} trong danh mục")
    per_day = ARTICLE_QUOTAS.received / len(working_days(calendar, ARTICLE.first, ARTICLE.last))
    share = sum(UNIT_WEIGHTS[u] for u in units) / sum(UNIT_WEIGHTS.values())
    received = max(1, round(per_day * len(working_days(calendar, first, last)) * share * scale))
    return Preset(first, last, tuple(units), ARTICLE_QUOTAS.scaled(received),
                  until or _midnight_after(last), seed)


@dataclass(frozen=True)
class ProcedureInfo:
    code: str
    field: str
    online_level: str
    postal_allowed: bool
    duration_value: int
    duration_unit: str
    cutoff_15h: bool


def catalogue(rows: Sequence[Procedure] | None = None) -> dict[str, ProcedureInfo]:
    """The catalogue a plan draws from: a ward's active ``Procedure`` rows, or by default the
    shipped catalogue (what every desk and the hub start from)."""
    names = [f.name for f in fields(ProcedureInfo)]
    if rows is None:
        return {p["code"]: ProcedureInfo(*(p[n] for n in names))
                for p in read_json("procedures.json")["procedures"]}
    return {p.code: ProcedureInfo(*(getattr(p, n) for n in names)) for p in rows if p.active}


@dataclass(frozen=True)
class Planned:
    """One dossier of the plan. ``outcome`` is in_time, late, refused, withdrawn or open."""

    unit: str
    at: dt.datetime
    procedure: str
    channel: str = "desk"
    return_method: str = "desk"
    outcome: str = "in_time"
    supplement: bool = False
    apology: bool = False
    seed: int = 0


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in whole numbers in proportion to ``weights`` (largest remainder)."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[:total - sum(counts)]:
        counts[i] += 1
    return counts


def lunar_new_years(years: range) -> list[dt.date]:
    """The first day of Tết in each of ``years``."""
    import holidays

    return sorted(day for day, name in holidays.VN(years=years, language="vi").items()
                  if name == "Tết Nguyên Đán")


def day_weight(day: dt.date, tet_days: Sequence[dt.date]) -> float:
    """How busy a desk is on a working day: Mondays most; the three weeks before Tết busier, the
    fortnight after it quiet; April 2020's social distancing (Directive 16/CT-TTg) slower still."""
    weight = WEEKDAY_WEIGHTS[day.weekday()]
    for tet in tet_days:
        if dt.timedelta(0) < tet - day <= dt.timedelta(days=21):
            weight *= 1.35
        elif dt.timedelta(0) < day - tet <= dt.timedelta(days=14):
            weight *= 0.6
    if dt.date(2020, 4, 1) <= day <= dt.date(2020, 4, 22):
        weight *= 0.45
    return weight


def _intake_moment(rng: random.Random, day: dt.date, until: dt.datetime) -> dt.datetime | None:
    """A moment of office hours (7:30–11:30, 13:30–17:00, mornings busier) before ``until``."""
    minute = rng.triangular(0, 450, 60)
    minute += 120 if minute >= 240 else 0  # lunch 11:30–13:30
    moment = local_datetime(day, dt.time(7, 30)) + dt.timedelta(minutes=minute)
    return moment if moment < until else None


def plan_city(preset: Preset, procedures: dict[str, ProcedureInfo] | None = None,
              calendar: WorkCalendar | None = None) -> list[Planned]:
    """Every dossier of the preset's city, in order of receipt, meeting its quotas exactly."""
    procedures = procedures or catalogue()
    calendar = calendar or WorkCalendar()
    rng = random.Random(preset.seed)
    q = preset.quotas
    days = [d for d in working_days(calendar, preset.first, preset.last)
            if local_datetime(d, dt.time(7, 30)) < preset.until]
    if not days:
        raise ValueError("kỳ đã chọn không có ngày làm việc nào")

    tet_days = lunar_new_years(range(days[0].year - 1, days[-1].year + 2))
    base = [day_weight(d, tet_days) for d in days]
    moments: list[tuple[dt.datetime, str]] = []
    for unit, total in zip(preset.units, apportion(
            q.received, [UNIT_WEIGHTS[u] for u in preset.units])):
        weights = [w * rng.uniform(0.8, 1.2) for w in base]
        for day, count in zip(days, apportion(total, weights)):
            for _ in range(count):
                moment = None
                while moment is None:
                    moment = _intake_moment(rng, day, preset.until)
                moments.append((moment, unit))
    moments.sort()

    by_level: dict[str, list[ProcedureInfo]] = {}
    for info in procedures.values():
        by_level.setdefault(info.online_level, []).append(info)
    levels = (["partial"] * q.level3_dossiers + ["full"] * q.level4_dossiers
              + ["none"] * (q.received - q.level3_dossiers - q.level4_dossiers))
    rng.shuffle(levels)
    plans = []
    for (moment, unit), level in zip(moments, levels):
        choices = by_level[level]
        info = rng.choices(choices, [PROCEDURE_WEIGHTS.get(p.code, 1) for p in choices])[0]
        plans.append(Planned(unit, moment, info.code, seed=rng.getrandbits(64)))

    def pick(indices: list[int], count: int, what: str) -> list[int]:
        if count > len(indices):
            raise ValueError(f"kỳ quá ngắn hoặc quá ít hồ sơ để có {count} {what}")
        return rng.sample(indices, count)

    for level, channel, count in (("partial", "online_partial", q.level3_online),
                                  ("full", "online_full", q.level4_online)):
        at_level = [i for i, p in enumerate(plans) if procedures[p.procedure].online_level == level]
        for i in pick(at_level, count, f"hồ sơ {channel}"):
            plans[i] = replace(plans[i], channel=channel)
    postal = [i for i, p in enumerate(plans) if procedures[p.procedure].postal_allowed]
    for i in pick(postal, q.postal, "hồ sơ qua bưu chính"):
        if plans[i].channel == "desk" and rng.random() < 0.5:
            plans[i] = replace(plans[i], channel="postal")
        else:
            plans[i] = replace(plans[i], return_method="postal")
    return _assign_outcomes(plans, preset, procedures, calendar, days, rng)


def _assign_outcomes(plans: list[Planned], preset: Preset, procedures, calendar: WorkCalendar,
                     days: list[dt.date], rng: random.Random) -> list[Planned]:
    """Open at the end: the newest dossiers not yet due when the period ends, then the newest
    of procedures that take days. Refused, withdrawn and late ones: from the dossiers with room
    for that before the clock stops. In time: the rest."""
    q = preset.quotas
    if q.pending < 0 or q.in_time > q.resolved:
        raise ValueError("chỉ tiêu không nhất quán")
    last_day = days[-1]
    due = [to_local(calendar.due_at(p.at, info.duration_value, info.duration_unit,
                                    info.cutoff_15h)).date()
           for p in plans for info in (procedures[p.procedure],)]
    newest_first = range(len(plans) - 1, -1, -1)
    ranked = sorted(newest_first, key=lambda i: (
        due[i] <= last_day, procedures[plans[i].procedure].duration_unit != "working_days"))
    open_ = ranked[:q.pending]  # a stable sort: newest first within each rank
    taken = set(open_)
    for i in open_:
        plans[i] = replace(plans[i], outcome="open", supplement=rng.random() < 0.1)

    room = [i for i in range(len(plans)) if i not in taken
            and to_local(plans[i].at).date() < last_day]
    chosen = rng.sample(room, q.refused + q.withdrawn) if len(room) >= q.refused + q.withdrawn \
        else None
    if chosen is None:
        raise ValueError("kỳ quá ngắn để có hồ sơ bị từ chối và rút")
    for n, i in enumerate(chosen):
        plans[i] = replace(plans[i], outcome="refused" if n < q.refused else "withdrawn")
    taken.update(chosen)

    late_room = [i for i in range(len(plans)) if i not in taken
                 and calendar.add_working_days(due[i], 3) <= last_day]
    late = q.resolved - q.in_time
    if late > len(late_room):
        raise ValueError(f"kỳ quá ngắn để có {late} hồ sơ quá hạn")
    for i in rng.sample(late_room, late):
        info = procedures[plans[i].procedure]
        plans[i] = replace(plans[i], outcome="late", apology=(
            info.duration_unit == "working_days" and rng.random() < 0.6))
        taken.add(i)
    pause_before = days[-6] if len(days) > 6 else days[0]  # room to return and be resolved
    for i, p in enumerate(plans):
        if i not in taken and to_local(p.at).date() < pause_before and rng.random() < 0.05:
            plans[i] = replace(p, supplement=True)
    return plans


# --- Playing the plan through the service layer --------------------------------------------

FAMILY = ("Nguyễn Nguyễn Nguyễn Trần Trần Lê Lê Phạm Huỳnh Võ Phan Trương Bùi Đặng Đỗ Ngô Hồ "
          "Dương Đinh Lâm Châu Tô Lý Quách Thái Mai La Từ Trịnh").split()
MIDDLE_MALE = "Văn Văn Hữu Minh Thanh Quốc Đức Công Hoàng Tấn Phước Trung".split()
MIDDLE_FEMALE = "Thị Thị Ngọc Thanh Kim Mỹ Thu Bích Hồng Diễm Phương Thùy".split()
GIVEN_MALE = ("An Bình Cường Dũng Đức Hải Hiếu Hòa Hùng Khang Khoa Lộc Long Minh Nam Nghĩa "
              "Phát Phúc Quang Sang Tài Tâm Thành Thịnh Toàn Trí Trung Tuấn Vinh Việt").split()
GIVEN_FEMALE = ("Anh Châu Diễm Dung Giang Hà Hạnh Hằng Hoa Hương Lan Linh Loan Mai My Ngân "
                "Nhung Oanh Phượng Quyên Thảo Thư Trang Trinh Tuyết Uyên Vy Yến").split()
STREETS = ("Trần Hưng Đạo|Hà Hoàng Hổ|Lý Thái Tổ|Nguyễn Thái Học|Hùng Vương|Tôn Đức Thắng|"
           "Phạm Cự Lượng|Bùi Văn Danh|Ung Văn Khiêm|Lê Lợi|Nguyễn Huệ|Hai Bà Trưng|"
           "Trần Quang Khải|Võ Thị Sáu|Nguyễn Trường Tộ|Lê Minh Ngươn|Trần Nhật Duật|"
           "Nguyễn Văn Cưng|Lê Hồng Phong|Châu Văn Liêm").split("|")
HAMLETS = ("Mỹ Khánh 1|Mỹ Khánh 2|Mỹ Thới|Mỹ Hòa|Mỹ An 1|Mỹ An 2|Mỹ Long|Mỹ Phú|"
           "Mỹ Thạnh|Mỹ Hưng").split("|")
SUPPLEMENT_REASONS = (
    "Bổ sung bản sao giấy tờ tùy thân của người được ủy quyền.",
    "Tờ khai chưa ghi đủ thông tin về nơi cư trú; đề nghị bổ sung.",
    "Bổ sung giấy tờ chứng minh quan hệ nhân thân.",
)
REFUSAL_REASONS = (
    "Hồ sơ không thuộc thẩm quyền giải quyết của cấp xã.",
    "Người yêu cầu không đủ điều kiện theo quy định.",
)
APOLOGY_REASONS = (
    "Cần xác minh thêm thông tin với cơ quan liên quan.",
    "Cán bộ thụ lý phải đi công tác đột xuất; xin lỗi ông/bà vì sự chậm trễ.",
)
# --- The reform models (domain.md §3, §8.2), through their own services -------------------
# Each dossier's extras draw from their own stream (the dossier's seed with EXTRAS_SALT), so
# the dossier itself, its steps and every count of the report are as without them.
EXTRAS_SALT = 0x5EF0_2020
WRITING_ASSIST_SHARE = 0.04  # desk dossiers written for the citizen at the "bàn viết hộ"
LETTER_SHARE = 0.9           # resolved birth, marriage and death registrations given a letter
RATING_SHARE = 0.25          # dossiers returned at the desk whose citizen rates the service
KIOSK_SHARE = 0.7            # ... at the kiosk there and then; the rest fill in a paper form
# Per criterion: very satisfied, satisfied, not satisfied (a late dossier's timeliness: LATE).
RATING_SHARES = {"overall": (0.62, 0.35, 0.03), "attitude": (0.70, 0.28, 0.02),
                 "timeliness": (0.60, 0.37, 0.03), "guidance": (0.58, 0.39, 0.03)}
LATE_TIMELINESS = (0.10, 0.45, 0.45)
AGREES_WITH_OVERALL = 0.6    # how often a criterion is rated as the overall impression
RATING_COMMENTS = {
    "very_satisfied": ("Cán bộ hướng dẫn tận tình, nhanh gọn.", "Rất hài lòng, cảm ơn phường.",
                       "Nhận kết quả đúng hẹn, không phải đi lại nhiều lần."),
    "satisfied": ("Thủ tục nhanh nhưng phải chờ lâu lúc đông người.",
                  "Nên bố trí thêm ghế ngồi chờ.", "Đề nghị niêm yết rõ hơn mẫu tờ khai."),
    "not_satisfied": ("Phải đi lại bổ sung giấy tờ nhiều lần.",
                      "Trả kết quả trễ hẹn, đề nghị thông báo trước qua điện thoại.",
                      "Chờ lâu, ít quầy tiếp nhận vào buổi sáng."),
}
LEVELS = ("very_satisfied", "satisfied", "not_satisfied")


def _level(rng: random.Random, shares: Sequence[float]) -> str:
    return rng.choices(LEVELS, shares)[0]


def letter_step(run: WardRun, dossier: Dossier, rng: random.Random,
                when: dt.datetime) -> Iterator[dt.datetime]:
    """Most resolved birth and marriage registrations get a congratulation letter, death
    registrations a condolence letter, handed over (or posted) with the result."""
    if run.letters.get(dossier.procedure_code) is None or not run.chairman \
            or rng.random() >= LETTER_SHARE:
        return
    desk = rng.choice(run.desk)
    at = when + dt.timedelta(minutes=rng.randint(1, 8))
    yield at
    run.dossiers.issue_letter(dossier, actor=desk, now=at)


def rating_step(run: WardRun, dossier: Dossier, rng: random.Random,
                when: dt.datetime) -> Iterator[dt.datetime]:
    """A share of citizens who take their result at the desk rate the service: at the kiosk
    right away, or on a paper form keyed in by the desk that day or the next ones."""
    if dossier.return_method != "desk" or rng.random() >= RATING_SHARE:
        return
    late = dossier.timeliness == "late"
    overall = _level(rng, LATE_TIMELINESS if late else RATING_SHARES["overall"])
    data = {"overall": overall}
    for criterion in RATING_CRITERIA:
        if criterion != "overall":
            shares = LATE_TIMELINESS if late and criterion == "timeliness" \
                else RATING_SHARES[criterion]
            data[criterion] = overall if rng.random() < AGREES_WITH_OVERALL \
                else _level(rng, shares)
    if rng.random() < 0.12:
        data["comment"] = rng.choice(RATING_COMMENTS[overall])
    if rng.random() < KIOSK_SHARE:  # typing the rating code printed on the receipt
        at = when + dt.timedelta(minutes=rng.randint(1, 6))
        yield at
        run.dossiers.rate(dossier, {**data, "code": rating_key(dossier, "kiosk")},
                          channel="kiosk", now=at)
    else:
        desk = rng.choice(run.desk)
        at = run._working_moment(rng, run.calendar.add_working_days(
            to_local(when).date(), rng.choice((0, 1, 1, 2))), after=when)
        yield at
        run.dossiers.rate(dossier, {**data, "code": rating_key(dossier, "paper")},
                          channel="paper", actor=desk, now=at)


# Steps the reform models add to a dossier's life: each a generator function
# ``step(run, dossier, rng, when)`` called after the result is returned (``rng`` is the
# dossier's extras stream), yielding the moment of each of its own writes before making it (as
# ``WardRun._life`` does). Steps due after the clock stops are not taken.
AFTER_RETURN_STEPS: tuple[Callable, ...] = (letter_step, rating_step)

FEEDBACK_PER_DOSSIER = 1 / 500  # feedback and petitions (phản ánh, kiến nghị) a ward receives
FEEDBACK_FATES = {"in_time": 0.8, "late": 0.1, "open": 0.1}
FEEDBACK_CHANNEL_WEIGHTS = {"desk": 45, "phone": 20, "hotline": 20, "letter": 15}
# subject, content, regulation referred to, procedure (or ""), answer
FEEDBACK_TOPICS = (
    ("Đề nghị giảm giấy tờ khi đăng ký thường trú",
     "Khi đăng ký thường trú cho con, tôi được yêu cầu nộp bản sao sổ hộ khẩu dù dữ liệu đã có "
     "trên cơ sở dữ liệu quốc gia về dân cư. Đề nghị không yêu cầu giấy tờ này.",
     "Luật Cư trú 2020; Nghị định 62/2021/NĐ-CP", "",
     "Từ ngày 01/7/2021, công dân không phải nộp sổ hộ khẩu; Bộ phận một cửa đã được nhắc "
     "khai thác thông tin trên cơ sở dữ liệu quốc gia về dân cư."),
    ("Thời hạn chứng thực hợp đồng chuyển nhượng",
     "Đề nghị giải thích vì sao hợp đồng chuyển nhượng quyền sử dụng đất phải chờ đến ngày hôm "
     "sau mới được chứng thực.",
     "Nghị định 23/2015/NĐ-CP, Điều 37", "2.001035",
     "Theo Điều 37 Nghị định 23/2015/NĐ-CP, hợp đồng được chứng thực trong ngày tiếp nhận; "
     "trường hợp tiếp nhận sau 15 giờ thì chứng thực trong ngày làm việc tiếp theo."),
    ("Phí chứng thực bản sao",
     "Tôi chứng thực 10 bản sao cùng một giấy tờ nhưng bị thu phí từng bản. Đề nghị giải thích "
     "mức thu.", "Thông tư 226/2016/TT-BTC", "2.000815",
     "Mức thu 2.000 đồng/trang với trang thứ nhất, thứ hai; từ trang thứ ba thu 1.000 "
     "đồng/trang, tối đa 200.000 đồng/bản. Bộ phận một cửa đã niêm yết lại bảng phí."),
    ("Mẫu tờ khai đăng ký khai sinh khó điền",
     "Mẫu tờ khai có nhiều mục khó hiểu với người lớn tuổi; đề nghị có hướng dẫn hoặc mẫu điền "
     "sẵn.", "Thông tư 04/2020/TT-BTP", "1.001193",
     "Phường đã niêm yết mẫu tờ khai điền sẵn và bố trí bàn viết hộ hỗ trợ người dân."),
    ("Đề nghị trả kết quả qua bưu điện",
     "Tôi làm việc xa nhà, đề nghị cho nhận kết quả xác nhận tình trạng hôn nhân qua bưu điện.",
     "Quyết định 45/2016/QĐ-TTg", "1.004873",
     "Thủ tục này đã được nhận và trả kết quả qua dịch vụ bưu chính công ích; ông/bà đăng ký "
     "khi nộp hồ sơ và thanh toán cước theo bảng giá của Bưu điện."),
    ("Giờ tiếp nhận hồ sơ buổi chiều",
     "Đề nghị Bộ phận một cửa tiếp nhận hồ sơ đến 17 giờ thay vì ngưng nhận sớm.",
     "Quyết định 1291/QĐ-UBND về thời gian làm việc", "",
     "Bộ phận một cửa tiếp nhận hồ sơ đến 17 giờ các ngày làm việc; đã nhắc nhở công chức thực "
     "hiện đúng giờ làm việc."),
    ("Nộp hồ sơ trực tuyến bị báo lỗi",
     "Tôi nộp hồ sơ đăng ký kết hôn trên Cổng dịch vụ công nhưng không tải được tệp đính kèm.",
     "Nghị định 45/2020/NĐ-CP", "1.000894",
     "Đã phối hợp bộ phận kỹ thuật khắc phục lỗi tải tệp; hướng dẫn ông/bà nộp lại, hồ sơ được "
     "tiếp nhận trong ngày."),
    ("Xác nhận thông tin cư trú",
     "Đề nghị rút ngắn thời gian cấp giấy xác nhận thông tin về cư trú.",
     "Thông tư 55/2021/TT-BCA", "",
     "Thời hạn giải quyết theo quy định là 03 ngày làm việc; phường phấn đấu trả kết quả trong "
     "ngày đối với hồ sơ đầy đủ."),
)
INSPECTION_FINDINGS = {
    "good": ("Thực hiện tốt, không có trường hợp vi phạm.", "Duy trì thường xuyên, có sổ theo "
             "dõi.", "Được người dân ghi nhận qua phiếu đánh giá."),
    "pass": ("Cơ bản thực hiện đúng quy định.", "Thực hiện đạt yêu cầu; cần duy trì.",
             "Còn vài trường hợp nhắc nhở, đã chấn chỉnh."),
    "fail": ("Còn hồ sơ trễ hạn chưa có phiếu xin lỗi; đã yêu cầu khắc phục.",
             "Niêm yết thủ tục chưa cập nhật kịp; giao công chức khắc phục trong tháng.",
             "Có công chức đi trễ, đã nhắc nhở, kiểm điểm."),
}
INSPECTION_SHARES = {"good": 0.45, "pass": 0.5, "fail": 0.05}


def chairman_for(unit_code: str) -> str:
    """A plausible name for the chairman of a ward's People's Committee, the same every time."""
    rng = random.Random(f"chairman:{unit_code}")
    female = rng.random() < 0.25
    return (f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE)} "
            f"{rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)}")


def ensure_chairman_name() -> str:
    """The letters' signer: the ward's ``CHAIRMAN_NAME``, or when it is empty a plausible name
    written to the instance's ``config.py`` (and used at once)."""
    from flask import current_app

    name = chairman_name()
    if not name:
        name = chairman_for(this_ward().ward_code)
        path = Path(current_app.instance_path) / "config.py"
        with path.open("a", encoding="utf-8") as out:
            out.write(f"\n# Chủ tịch UBND ký thư chúc mừng, thư chia buồn (dữ liệu mẫu)\n"
                      f"CHAIRMAN_NAME = {name!r}\n")
        current_app.config["CHAIRMAN_NAME"] = name
    return name


def person(rng: random.Random, on: dt.date) -> tuple[str, str]:
    """A Vietnamese full name and a matching 12-digit citizen ID of An Giang (prefix 089)."""
    female = rng.random() < 0.5
    middle = rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE)
    given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
    year = rng.randint(1945, min(on.year - 16, 2004))
    gender_century = (2 if year >= 2000 else 0) + female
    return (f"{rng.choice(FAMILY)} {middle} {given}",
            f"089{gender_century}{year % 100:02d}{rng.randint(0, 999999):06d}")


def address(rng: random.Random, unit_kind: str, unit_name: str) -> str:
    if unit_kind == "xa":
        return f"Tổ {rng.randint(1, 30)}, ấp {rng.choice(HAMLETS)}, {unit_name}"
    if unit_kind == "thanh_pho":
        return f"Số {rng.randint(1, 400)} đường {rng.choice(STREETS)}, {unit_name}"
    return (f"Số {rng.randint(1, 250)} đường {rng.choice(STREETS)}, "
            f"khóm {rng.randint(1, 8)}, {unit_name}")


class WardRun:
    """Play one ward's share of a plan through the service layer, in time order.

    Each dossier's life is a generator that yields the moment of its next step and takes that
    step when resumed; a heap over all of them is the ward's clock. Steps due after the preset's
    ``until`` are not taken, so the newest dossiers are still open, as in a real office.
    """

    def __init__(self, preset: Preset, steps_per_transaction: int = 20_000, dossiers=None):
        """:param dossiers: what receives the dossiers, takes their steps, issues their letters
            and records their ratings, as :class:`ReplayDesk` does (the default)."""
        self.preset = preset
        self.until = preset.until
        self.steps_per_transaction = steps_per_transaction
        self.calendar = load_calendar()
        # Held for the whole run: the session keeps only weak references, and the service layer
        # looks the ward up at every step.
        self.node = node = this_ward()
        self.unit = node.ward_code
        self.unit_kind, self.unit_name = node.unit.kind, node.unit.name
        users = list(db.session.scalars(sa.select(User).where(User.active)))
        by_role = {role: [u for u in users if role in u.role_set]
                   for role in ("receptionist", "officer", "leader")}
        if not all(by_role.values()):
            raise ValueError("cần ít nhất một tài khoản đang hoạt động cho mỗi vai trò tiếp nhận, "
                             "chuyên viên, lãnh đạo (wardapp user add)")
        self.desk, self.officers, self.leader = by_role["receptionist"], by_role["officer"], \
            by_role["leader"][0]
        self.procedures = {p.code: p for p in db.session.scalars(sa.select(Procedure))}
        self.letters = {code: p.letter for code, p in self.procedures.items()
                        if p.letter in LETTER_KINDS}
        self.chairman = chairman_name()  # no letters without a signer (ensure_chairman_name)
        self.dossiers = dossiers or ReplayDesk()
        self.received = 0
        self.steps = 0

    def run(self, plans: Sequence[Planned],
            progress: Callable[[int], None] | None = None) -> int:
        """Take every step of ``plans`` (this ward's) due before ``until``; returns how many
        dossiers were received. ``progress`` hears how many more were received, every
        :data:`PROGRESS_STEPS` steps and at the end."""
        clock: list[tuple[dt.datetime, int, Iterator[dt.datetime]]] = []
        for n, plan in enumerate(plans):
            if plan.unit != self.unit:
                raise ValueError(f"hồ sơ của đơn vị {plan.unit} trong kế hoạch của {self.unit}")
            life = self._life(plan)
            clock.append((next(life), n, life))
        for n, life in enumerate(self._ward_lives(len(plans)), start=len(plans)):
            first = next(life, None)
            if first is not None:
                clock.append((first, n, life))
        heapq.heapify(clock)
        told = 0
        while clock and clock[0][0] < self.until:
            with batched_writes():
                for _ in range(self.steps_per_transaction):
                    if not clock or clock[0][0] >= self.until:
                        break
                    _, n, life = heapq.heappop(clock)
                    self.steps += 1
                    following = next(life, None)
                    if following is not None:
                        heapq.heappush(clock, (following, n, life))
                    if progress and self.steps % PROGRESS_STEPS == 0:
                        progress(self.received - told)
                        told = self.received
        if progress and self.received > told:
            progress(self.received - told)
        return self.received

    def _step(self, dossier: Dossier, kind: str, when: dt.datetime, actor: User,
              **fields) -> Dossier:
        return self.dossiers.step(dossier, kind, actor=actor, now=when, **fields)

    def _working_moment(self, rng: random.Random, day: dt.date, after: dt.datetime | None = None,
                        morning: bool = False) -> dt.datetime:
        """A moment of office hours on ``day`` (after ``after`` when given)."""
        start = local_datetime(day, dt.time(7, 30))
        end = local_datetime(day, dt.time(11, 0) if morning else dt.time(16, 50))
        if after is not None and after + dt.timedelta(minutes=5) > start:
            start = after + dt.timedelta(minutes=5)
        if start >= end:
            return start
        return start + (end - start) * rng.random()

    def _life(self, plan: Planned) -> Iterator[dt.datetime]:
        """One dossier's steps, each yielded as its moment, then taken."""
        rng = random.Random(plan.seed)
        extras = random.Random(plan.seed ^ EXTRAS_SALT)
        info = self.procedures[plan.procedure]
        desk = rng.choice(self.desk)
        officer = rng.choice(self.officers)
        local_day = to_local(plan.at).date()
        yield plan.at
        name, citizen_id = person(rng, local_day)
        dossier = self.dossiers.receive({
            "request_key": uuid.UUID(int=rng.getrandbits(128)).hex,
            "procedure_code": plan.procedure, "applicant_name": name, "citizen_id": citizen_id,
            "phone": f"0{rng.choice('39875')}{rng.randint(10000000, 99999999)}",
            "address": address(rng, self.unit_kind, self.unit_name),
            "channel": plan.channel, "return_method": plan.return_method,
            "documents": [d["name"] for d in info.documents
                          if d["required"] or rng.random() < 0.4],
            # the bàn viết hộ writes the form for the citizen, with their consent
            **({"writing_assist": True, "prefill_consent": True} if plan.channel == "desk"
               and extras.random() < WRITING_ASSIST_SHARE else {}),
        }, actor=desk, now=plan.at)
        self.received += 1
        at = plan.at + dt.timedelta(minutes=rng.randint(3, 40))
        yield at
        dossier = self._step(dossier, "handed_over", at, desk, to_user_uuid=officer.uuid)
        due_day = to_local(dossier.due_at).date()

        if plan.outcome in ("refused", "withdrawn"):
            at = self._before_until(self._working_moment(rng, self.calendar.add_working_days(
                to_local(at).date(), rng.choice((0, 0, 1))), after=at), after=at)
            yield at
            if plan.outcome == "refused":
                self._step(dossier, "refused", at, officer,
                           reason=rng.choice(REFUSAL_REASONS))
            else:
                self._step(dossier, "withdrawn", at, desk, reason="Công dân xin rút hồ sơ.")
            return
        if plan.supplement:
            at += dt.timedelta(minutes=rng.randint(30, 180))
            yield at
            dossier = self._step(dossier, "supplement_requested", at, officer,
                                 reason=rng.choice(SUPPLEMENT_REASONS))
            if plan.outcome == "open":
                return
            at = self._working_moment(rng, self.calendar.add_working_days(
                to_local(at).date(), rng.randint(1, 4)))
            yield at
            dossier = self._step(dossier, "supplement_received", at, desk)
            due_day = to_local(dossier.due_at).date()
        if plan.outcome == "open":
            return

        if plan.outcome == "late":
            resolve_day = self.calendar.add_working_days(due_day, rng.randint(1, 3))
            if plan.apology:
                apology_at = self._working_moment(rng, due_day, after=at, morning=True)
                yield apology_at
                dossier = self._step(dossier, "apology", apology_at, self.leader,
                                     reason=rng.choice(APOLOGY_REASONS),
                                     new_due_date=resolve_day.isoformat())
            at = self._working_moment(rng, resolve_day)
        else:
            at = self._in_time_moment(rng, at, due_day)
        yield at
        dossier = self._step(dossier, "resolved", at, officer)
        if (dossier.timeliness == "late") != (plan.outcome == "late"):
            raise AssertionError(f"{dossier.code} resolved {dossier.timeliness}, "
                                 f"planned {plan.outcome}")
        back = 0 if rng.random() < SAME_DAY_RETURN else rng.randint(1, 3)
        at = self._working_moment(rng, self.calendar.add_working_days(to_local(at).date(), back),
                                  after=at)
        yield at
        dossier = self._step(dossier, "returned", at, desk)
        for step in AFTER_RETURN_STEPS:
            yield from step(self, dossier, extras, at)

    # --- The ward's own reform work over the period: feedback and self-inspections ------------

    def _ward_lives(self, dossiers: int) -> list[Iterator[dt.datetime]]:
        """Lives that belong to the ward, not to a dossier: feedback and petitions at a low rate
        (about one for every 500 dossiers, at least one), and one self-inspection per year."""
        rng = random.Random(f"{self.preset.seed}:{self.unit}:reform")
        days = [d for d in working_days(self.calendar, self.preset.first, self.preset.last)
                if local_datetime(d, dt.time(7, 30)) < self.until]
        if not days or not dossiers:
            return []
        lives = []
        for _ in range(max(1, round(dossiers * FEEDBACK_PER_DOSSIER))):
            day = rng.choice(days)
            lives.append(self._feedback_life(random.Random(rng.getrandbits(64)), day))
        for year in sorted({d.year for d in days}):
            in_year = [d for d in days if d.year == year]
            lives.append(self._inspection_life(random.Random(rng.getrandbits(64)), year,
                                               in_year))
        return lives

    def _feedback_life(self, rng: random.Random, day: dt.date) -> Iterator[dt.datetime]:
        """One feedback: received, assigned by the leader, answered in time, late or not yet."""
        subject, content, regulation, procedure, answer = rng.choice(FEEDBACK_TOPICS)
        channel = rng.choices(list(FEEDBACK_CHANNEL_WEIGHTS),
                              list(FEEDBACK_CHANNEL_WEIGHTS.values()))[0]
        fate = rng.choices(list(FEEDBACK_FATES), list(FEEDBACK_FATES.values()))[0]
        officer, desk = rng.choice(self.officers), rng.choice(self.desk)
        name, _ = person(rng, day)
        contact = f"0{rng.choice('39875')}{rng.randint(10000000, 99999999)}" \
            if rng.random() < 0.7 else address(rng, self.unit_kind, self.unit_name)
        at = self._working_moment(rng, day)
        yield at
        feedback = receive_feedback({
            "sender_name": name, "sender_contact": contact, "subject": subject,
            "content": content, "regulation": regulation, "channel": channel,
            "procedure_code": procedure}, actor=desk, now=at)
        uuid, due_at = feedback.uuid, feedback.due_at
        due_day = to_local(due_at).date()
        at = self._working_moment(rng, self.calendar.add_working_days(
            to_local(at).date(), rng.choice((0, 1))), after=at)
        yield at
        assign_feedback(uuid, officer.uuid, actor=self.leader)
        assigned = at
        if fate == "open":
            return
        if fate == "late":
            answer_day = self.calendar.add_working_days(due_day, rng.randint(1, 5))
        else:
            span = [to_local(assigned).date()]
            while span[-1] < due_day:
                span.append(self.calendar.next_working_day(span[-1]))
            answer_day = span[min(int(rng.triangular(0, len(span), len(span) * 0.6)),
                                  len(span) - 1)]
        at = self._working_moment(rng, answer_day, after=at)
        if fate == "in_time" and at > due_at:  # after closing on the due day
            at = max(due_at - dt.timedelta(minutes=rng.randint(10, 90)),
                     assigned + dt.timedelta(minutes=5))
        yield at
        answer_feedback(uuid, answer, actor=officer, now=at)

    def _inspection_life(self, rng: random.Random, year: int,
                         days: list[dt.date]) -> Iterator[dt.datetime]:
        """The year's self-inspection on the 13 contents: drafted by an officer, submitted by the
        leader towards the end of the year's part of the period."""
        officer = rng.choice(self.officers)
        submit_day = rng.choice(days[-max(1, len(days) // 10):])
        draft_day = days[max(0, days.index(submit_day) - rng.randint(3, 10))]
        ratings = {code: rng.choices(list(INSPECTION_SHARES),
                                     list(INSPECTION_SHARES.values()))[0]
                   for code in INSPECTION_CONTENTS}
        form = {}
        for code, rating in ratings.items():
            form[f"rating_{code}"] = rating
            form[f"finding_{code}"] = rng.choice(INSPECTION_FINDINGS[rating])
        at = self._working_moment(rng, draft_day)
        yield at
        uuid = start_inspection(f"Năm {year}", actor=officer).uuid
        half = {k: v for k, v in form.items() if k[-2:] <= "06"}
        at = self._working_moment(rng, draft_day, after=at)
        yield at
        save_inspection(uuid, half, actor=officer)
        at = self._working_moment(rng, submit_day, after=at)
        yield at
        submit_inspection(uuid, form, actor=self.leader, now=at)

    def _before_until(self, wanted: dt.datetime, after: dt.datetime) -> dt.datetime:
        """``wanted``, or, when the clock stops first, a moment between ``after`` and then."""
        return wanted if wanted < self.until else after + (self.until - after) / 2

    def _in_time_moment(self, rng: random.Random, after: dt.datetime,
                        due_day: dt.date) -> dt.datetime:
        """A moment on or before the due day (and before the clock stops) to resolve at: most
        early, many on the due day, as a desk works; same-day work a little after intake."""
        last = min(due_day, to_local(self.until - dt.timedelta(seconds=1)).date())
        day = to_local(after).date()
        closing = local_datetime(day, OFFICE_CLOSES) - dt.timedelta(minutes=10)
        if day == last or (after < closing and rng.random() < 0.5):
            if after + dt.timedelta(minutes=15) < closing:
                return self._before_until(min(
                    after + dt.timedelta(minutes=rng.randint(15, 150)), closing), after)
        candidates = []
        while day < last:
            day = self.calendar.next_working_day(day)
            candidates.append(day)
        if not candidates:  # after closing on the last possible day: just before the clock stops
            return self._before_until(after + dt.timedelta(minutes=5), after)
        chosen = candidates[min(int(rng.triangular(0, len(candidates), len(candidates))),
                                len(candidates) - 1)]
        return self._working_moment(rng, chosen)


def generate_ward(preset: Preset, plans: Sequence[Planned] | None = None,
                  progress: Callable[[int], None] | None = None,
                  on_plan: Callable[[int], None] | None = None) -> int:
    """Generate this ward's share of ``preset`` (planning the city first unless given), naming
    a chairman to sign the letters when the ward has none; ``on_plan`` hears how many dossiers
    the ward's share holds before the first is written."""
    unit = this_ward().ward_code
    if plans is None:
        plans = plan_city(preset, catalogue(db.session.scalars(sa.select(Procedure)).all()),
                          calendar=load_calendar())
    mine = [p for p in plans if p.unit == unit]
    ensure_chairman_name()
    if on_plan:
        on_plan(len(mine))
    return WardRun(preset).run(mine, progress)
