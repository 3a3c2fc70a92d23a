"""Realistic demo data for one ward, written through the service layer (as real work would be).

Everything is seeded, so a demo or a benchmark database is the same each time it is made.
"""
from __future__ import annotations

import datetime as dt
import random
import secrets
import uuid
from collections.abc import Callable

import sqlalchemy as sa

from .dossiers.service import load_calendar, receive_dossier, record_step, this_ward
from .extensions import db
from .models import Procedure, User, utcnow
from .workdays import local_datetime, to_local

FAMILY = ("Nguyễn Trần Lê Phạm Huỳnh Võ Phan Trương Bùi Đặng Đỗ Ngô Hồ Dương Đinh Lâm "
          "Châu Tô Lý Quách Thái Mai").split()
MIDDLE_MALE = "Văn Hữu Minh Thanh Quốc Đức Công Hoàng Tấn Phước".split()
MIDDLE_FEMALE = "Thị Ngọc Thanh Kim Mỹ Thu Bích Hồng Diễm Phương".split()
GIVEN_MALE = ("An Bình Cường Dũng Đức Hải Hiếu Hòa Hùng Khang Khoa Lộc Long Minh Nam Nghĩa "
              "Phát Phúc Quang Sang Tài Tâm Thành Thịnh Toàn Trí Trung Tuấn Vinh Việt").split()
GIVEN_FEMALE = ("Anh Châu Diễm Dung Giang Hà Hạnh Hằng Hoa Hương Lan Linh Loan Mai My Ngân "
                "Nhung Oanh Phượng Quyên Thảo Thư Trang Trinh Tuyết Uyên Vy Yến").split()
STREETS = ("Trần Hưng Đạo|Hà Hoàng Hổ|Lý Thái Tổ|Nguyễn Thái Học|Hùng Vương|Tôn Đức Thắng|"
           "Phạm Cự Lượng|Bùi Văn Danh|Ung Văn Khiêm|Lê Lợi|Nguyễn Huệ|Hai Bà Trưng|"
           "Trần Quang Khải|Võ Thị Sáu|Nguyễn Trường Tộ|Lê Minh Ngươn").split("|")
# How often each procedure comes to a ward desk; the rest share what is left.
WEIGHTS = {"2.000815": 34, "1.001193": 10, "2.000635": 9, "2.000884": 8, "1.004873": 7,
           "1.000656": 4, "1.000894": 4, "2.001035": 4, "2.000908": 2, "1.004859": 2}
DEMO_ACCOUNTS = {
    "letan": ("Trần Thị Ngọc Hân", "receptionist"),
    "chuyenvien": ("Lê Văn Phúc", "officer"),
    "tuphap": ("Nguyễn Thị Mỹ Linh", "officer"),
    "lanhdao": ("Phạm Quốc Hùng", "leader"),
}


def demo_passwords() -> dict[str, str]:
    """A fresh random password for the admin and each demo account."""
    return {name: secrets.token_urlsafe(9) for name in ("admin", *DEMO_ACCOUNTS)}


def create_demo_users(ward_code: str, passwords: dict[str, str]) -> None:
    for username, (full_name, role) in DEMO_ACCOUNTS.items():
        account = User(ward_code=ward_code, username=username, full_name=full_name, roles=role)
        account.set_password(passwords[username])
        db.session.add(account)
    db.session.commit()


class Generator:
    """Makes one ward's working days of dossiers, each taken as far through its life as the
    simulated clock allows by ``until`` (so the newest are still open)."""

    def __init__(self, seed: int, until: dt.datetime):
        self.rng = random.Random(seed)
        self.until = until
        self.calendar = load_calendar()
        self.ward_name = this_ward().unit.name
        procedures = list(db.session.scalars(sa.select(Procedure).where(Procedure.active)))
        self.procedures = procedures
        self.weights = [WEIGHTS.get(p.code, 1) for p in procedures]
        users = list(db.session.scalars(sa.select(User).where(User.active)))
        self.by_role = {role: [u for u in users if role in u.role_set]
                        for role in ("receptionist", "officer", "leader")}

    def person(self) -> tuple[str, str]:
        rng = self.rng
        female = rng.random() < 0.5
        middle = rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE)
        given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        name = f"{rng.choice(FAMILY)} {middle} {given}"
        year = rng.randint(1950, 2004)
        gender_century = (2 if year >= 2000 else 0) + female
        citizen_id = f"089{gender_century}{year % 100:02d}{rng.randint(0, 999999):06d}"
        return name, citizen_id

    def day(self, day: dt.date) -> int:
        """Receive and process one working day's dossiers; returns how many were received."""
        rng = self.rng
        minutes = sorted(rng.randint(0, 8 * 60) for _ in range(rng.randint(14, 30)))
        count = 0
        for minute in minutes:
            at = local_datetime(day, dt.time(7, 30)) + dt.timedelta(
                minutes=minute + (90 if minute > 210 else 0))  # lunch break 11:00–12:30
            if at > self.until:
                break
            self.dossier(at)
            count += 1
        return count

    def dossier(self, at: dt.datetime) -> None:
        rng = self.rng
        procedure = rng.choices(self.procedures, self.weights)[0]
        name, citizen_id = self.person()
        channel = "desk"
        if procedure.online_level == "full" and rng.random() < 0.6:
            channel = "online_full"
        elif procedure.online_level in ("partial", "full") and rng.random() < 0.3:
            channel = "online_partial"
        elif procedure.postal_allowed and rng.random() < 0.07:
            channel = "postal"
        postal_return = procedure.postal_allowed and rng.random() < 0.08
        desk = rng.choice(self.by_role["receptionist"])
        dossier, _ = receive_dossier({
            "request_key": uuid.UUID(int=rng.getrandbits(128)).hex,
            "procedure_code": procedure.code,
            "applicant_name": name, "citizen_id": citizen_id,
            "phone": f"09{rng.randint(10000000, 99999999)}",
            "address": f"Số {rng.randint(1, 250)} đường {rng.choice(STREETS)}, "
                       f"khóm {rng.randint(1, 8)}, {self.ward_name}",
            "channel": channel, "return_method": "postal" if postal_return else "desk",
            "documents": [d["name"] for d in procedure.documents if d["required"]
                          or rng.random() < 0.5],
        }, actor=desk, now=at)
        self.process(dossier.code, procedure, at, desk)

    def process(self, code: str, procedure: Procedure, at: dt.datetime, desk: User) -> None:
        """Walk a dossier through hand-over, maybe a supplement or an apology, to its result."""
        rng = self.rng
        officer = rng.choice(self.by_role["officer"])
        leader = rng.choice(self.by_role["leader"])
        dossier = None

        def step(kind: str, when: dt.datetime, actor: User, **kwargs) -> bool:
            nonlocal dossier
            if when > self.until:
                return False
            dossier = record_step(code, kind, actor=actor, now=when, **kwargs)
            return True

        at += dt.timedelta(minutes=rng.randint(5, 40))
        if not step("handed_over", at, desk, to_user_uuid=officer.uuid):
            return
        fate = rng.random()
        if fate < 0.01:
            step("withdrawn", at + dt.timedelta(hours=2), officer, reason="Công dân xin rút hồ sơ.")
            return
        if fate < 0.02:
            step("refused", at + dt.timedelta(hours=3), officer,
                 reason="Hồ sơ không thuộc thẩm quyền giải quyết của UBND cấp xã.")
            return
        due = dossier.due_at
        if fate < 0.07:
            at += dt.timedelta(hours=1)
            if not step("supplement_requested", at, officer,
                        reason="Bổ sung bản sao giấy tờ tùy thân của người được ủy quyền."):
                return
            at = self._working_time(to_local(at).date(), rng.randint(1, 4))
            if not step("supplement_received", at, desk):
                return
            due = dossier.due_at
        late = rng.random() < 0.03
        if late and rng.random() < 0.6 and procedure.duration_unit == "working_days":
            apology_at = due - dt.timedelta(days=1)
            if apology_at > at:
                new_day = self.calendar.add_working_days(to_local(due).date(), 2)
                if not step("apology", apology_at, leader, new_due_date=new_day.isoformat(),
                            reason="Cần xác minh thêm thông tin với cơ quan liên quan."):
                    return
        if procedure.duration_unit == "same_day":
            resolved = at + dt.timedelta(minutes=rng.randint(20, 120))
            if to_local(resolved).date() > to_local(due).date() or to_local(resolved).hour >= 17:
                resolved = self._working_time(to_local(at).date(), 1, morning=True)
        else:
            spare = rng.choice((0, 0, 1, 1, 2))
            resolve_day = self.calendar.add_working_days(to_local(at).date(), max(
                self.calendar.working_days_between(to_local(at).date(), to_local(due).date())
                - spare, 0))
            resolved = local_datetime(resolve_day, dt.time(rng.randint(8, 16), rng.randint(0, 59)))
        if late:
            resolved = self._working_time(to_local(due).date(), rng.randint(1, 3))
        resolved = max(resolved, at + dt.timedelta(minutes=10))
        if not step("resolved", resolved, officer):
            return
        back = self._working_time(to_local(resolved).date(), rng.choice((0, 0, 1, 1, 2, 3)))
        step("returned", max(back, resolved + dt.timedelta(minutes=15)), desk)

    def _working_time(self, day: dt.date, working_days: int, morning: bool = False) -> dt.datetime:
        target = self.calendar.add_working_days(day, working_days)
        hour = self.rng.randint(7, 10) if morning else self.rng.randint(8, 16)
        return local_datetime(target, dt.time(hour, self.rng.randint(0, 59)))


def generate_dossiers(*, months: int, seed: int = 2020, until: dt.datetime | None = None,
                      progress: Callable[[int], None] | None = None) -> int:
    """Fill the ward with ``months`` of working days up to ``until`` (default: now)."""
    until = until or utcnow()
    generator = Generator(seed, until)
    last = to_local(until).date()
    first = (last.replace(day=1) - dt.timedelta(days=31 * (months - 1))).replace(day=1)
    total, day, month = 0, first, first.month
    while day <= last:
        if generator.calendar.is_working_day(day):
            total += generator.day(day)
        day += dt.timedelta(days=1)
        if progress and day.month != month:
            month = day.month
            progress(1)
    return total
