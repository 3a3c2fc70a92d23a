"""Writing a planned city into one ward (:mod:`.plan` decides it): :class:`WardRun` plays the
ward's share of the plan in time order (a simulated clock over every open dossier), many steps
per write transaction, and checks that the service layer classified each resolution as planned.

Every write goes through the desk's own write functions (:func:`~wardapp.dossiers.service.
receive_dossier`, :func:`~wardapp.dossiers.service.record_step`, ``issue_letter``,
``record_rating`` and the feedback and inspection services), so each ward's outbox fills exactly
as real work would; a :class:`~wardapp.dossiers.service.RunRegister` spares the queries a run
that is the ward's one writer need not make. The reform models come along from random streams
of their own so they leave every dossier as planned: writing assistance at intake, letters and
ratings after return (:data:`AFTER_RETURN_STEPS`), and the ward's feedback and yearly
self-inspections over the period (:meth:`WardRun._ward_lives`).

Each dossier's life is drawn from ``random.Random`` seeded by its own seed, so the same plan
gives the same ward every time.
"""

from __future__ import annotations

import datetime as dt
import gc
import heapq
import random
import uuid
from collections.abc import Callable, Iterator, Sequence

import sqlalchemy as sa

from kernel.workdays import OFFICE_CLOSES, local_datetime, to_local
from wardapp.sync.records import INSPECTION_CONTENTS, LETTER_KINDS, RATING_CRITERIA, Dossier, User

from ..database import batched_writes
from ..dossiers.service import (
    Register,
    RunRegister,
    load_calendar,
    receive_dossier,
    record_step,
    this_ward,
)
from ..extensions import db
from ..feedback.service import answer_feedback, assign_feedback, receive_feedback
from ..inspections.service import save_inspection, start_inspection, submit_inspection
from ..letters.service import chairman_name, issue_letter
from ..models import Procedure
from ..ratings.service import rating_key, record_rating
from .people import (
    APOLOGY_REASONS,
    REFUSAL_REASONS,
    SUPPLEMENT_REASONS,
    address,
    ensure_chairman_name,
    person,
)
from .plan import Planned, Preset, catalogue, plan_city, working_days
from .reform import (
    AGREES_WITH_OVERALL,
    EXTRAS_SALT,
    FEEDBACK_CHANNEL_WEIGHTS,
    FEEDBACK_FATES,
    FEEDBACK_PER_DOSSIER,
    FEEDBACK_TOPICS,
    INSPECTION_FINDINGS,
    INSPECTION_SHARES,
    KIOSK_SHARE,
    LATE_TIMELINESS,
    LETTER_SHARE,
    LEVELS,
    RATING_COMMENTS,
    RATING_SHARE,
    RATING_SHARES,
    WRITING_ASSIST_SHARE,
)

SAME_DAY_RETURN = 0.7  # share of results handed back the day they are ready
PROGRESS_STEPS = 1000  # how often a run tells its progress (it commits every 20,000 steps:
# each commit waits for the disk)
# The young generation's threshold of Python's cycle collector during a run. Each write makes
# thousands of short-lived objects (the unit of work's), and at the default 700 the collector
# ran so often it took a sixth of the run's time; the garbage of a flush's cycles still goes
# within 50,000 allocations.
GC_THRESHOLD = 50_000


# Steps the reform models add to a dossier's life: each a generator function
# ``step(run, dossier, rng, when)`` called after the result is returned (``rng`` is the
# dossier's extras stream), yielding the moment of each of its own writes before making it (as
# ``WardRun._life`` does). Steps due after the clock stops are not taken.


def _level(rng: random.Random, shares: Sequence[float]) -> str:
    return rng.choices(LEVELS, shares)[0]


def letter_step(
    run: WardRun, dossier: Dossier, rng: random.Random, when: dt.datetime
) -> Iterator[dt.datetime]:
    """Most resolved birth and marriage registrations get a congratulation letter, death
    registrations a condolence letter, handed over (or posted) with the result."""
    if (
        run.letters.get(dossier.procedure_code) is None
        or not run.chairman
        or rng.random() >= LETTER_SHARE
    ):
        return
    desk = rng.choice(run.desk)
    at = when + dt.timedelta(minutes=rng.randint(1, 8))
    yield at
    issue_letter(dossier.code, actor=desk, now=at)


def rating_step(
    run: WardRun, dossier: Dossier, rng: random.Random, when: dt.datetime
) -> Iterator[dt.datetime]:
    """A share of citizens who take their result at the desk rate the service: at the kiosk
    right away, or on a paper form keyed in by the desk that day or the next ones."""
    if dossier.return_method != "desk" or rng.random() >= RATING_SHARE:
        return
    late = dossier.timeliness == "late"
    overall = _level(rng, LATE_TIMELINESS if late else RATING_SHARES["overall"])
    data = {"overall": overall}
    for criterion in RATING_CRITERIA:
        if criterion != "overall":
            shares = (
                LATE_TIMELINESS if late and criterion == "timeliness" else RATING_SHARES[criterion]
            )
            data[criterion] = overall if rng.random() < AGREES_WITH_OVERALL else _level(rng, shares)
    if rng.random() < 0.12:
        data["comment"] = rng.choice(RATING_COMMENTS[overall])
    if rng.random() < KIOSK_SHARE:  # typing the rating code printed on the receipt
        at = when + dt.timedelta(minutes=rng.randint(1, 6))
        yield at
        record_rating({**data, "code": rating_key(dossier, "kiosk")}, channel="kiosk", now=at)
    else:
        desk = rng.choice(run.desk)
        at = run._working_moment(
            rng,
            run.calendar.add_working_days(to_local(when).date(), rng.choice((0, 1, 1, 2))),
            after=when,
        )
        yield at
        record_rating(
            {**data, "code": rating_key(dossier, "paper")}, channel="paper", actor=desk, now=at
        )


AFTER_RETURN_STEPS: tuple[Callable, ...] = (letter_step, rating_step)


class WardRun:
    """Play one ward's share of a plan through the service layer, in time order.

    Each dossier's life is a generator that yields the moment of its next step and takes that
    step when resumed; a heap over all of them is the ward's clock. Steps due after the preset's
    ``until`` are not taken, so the newest dossiers are still open, as in a real office.
    """

    def __init__(
        self, preset: Preset, steps_per_transaction: int = 20_000, register: Register | None = None
    ):
        """:param register: where the write functions find the run's dossiers and number new
        ones: a :class:`RunRegister` by default (the run is the ward's one writer)."""
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
        by_role = {
            role: [u for u in users if role in u.role_set]
            for role in ("receptionist", "officer", "leader")
        }
        if not all(by_role.values()):
            raise ValueError(
                "cần ít nhất một tài khoản đang hoạt động cho mỗi vai trò tiếp nhận, "
                "chuyên viên, lãnh đạo (wardapp user add)"
            )
        self.desk, self.officers, self.leader = (
            by_role["receptionist"],
            by_role["officer"],
            by_role["leader"][0],
        )
        self.procedures = {p.code: p for p in db.session.scalars(sa.select(Procedure))}
        self.letters = {
            code: p.letter for code, p in self.procedures.items() if p.letter in LETTER_KINDS
        }
        self.chairman = chairman_name()  # no letters without a signer (ensure_chairman_name)
        self.register = register or RunRegister()
        self.received = 0
        self.steps = 0

    def run(self, plans: Sequence[Planned], progress: Callable[[int], None] | None = None) -> int:
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
        thresholds = gc.get_threshold()
        gc.set_threshold(max(thresholds[0], GC_THRESHOLD), *thresholds[1:])
        try:
            self._play(clock, progress)
        finally:
            gc.set_threshold(*thresholds)
        return self.received

    def _play(self, clock: list, progress: Callable[[int], None] | None) -> None:
        """Take the steps on the clock due before ``until``, many per write transaction."""
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

    def _step(
        self, dossier: Dossier, kind: str, when: dt.datetime, actor: User, **fields
    ) -> Dossier:
        return record_step(
            dossier.code, kind, actor=actor, now=when, register=self.register, **fields
        )

    def _working_moment(
        self,
        rng: random.Random,
        day: dt.date,
        after: dt.datetime | None = None,
        morning: bool = False,
    ) -> dt.datetime:
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
        dossier, _ = receive_dossier(
            {
                "request_key": uuid.UUID(int=rng.getrandbits(128)).hex,
                "procedure_code": plan.procedure,
                "applicant_name": name,
                "citizen_id": citizen_id,
                "phone": f"0{rng.choice('39875')}{rng.randint(10000000, 99999999)}",
                "address": address(rng, self.unit_kind, self.unit_name),
                "channel": plan.channel,
                "return_method": plan.return_method,
                "documents": [
                    d["name"] for d in info.documents if d["required"] or rng.random() < 0.4
                ],
                # the bàn viết hộ writes the form for the citizen, with their consent
                **(
                    {"writing_assist": True, "prefill_consent": True}
                    if plan.channel == "desk" and extras.random() < WRITING_ASSIST_SHARE
                    else {}
                ),
            },
            actor=desk,
            now=plan.at,
            register=self.register,
        )
        self.received += 1
        at = plan.at + dt.timedelta(minutes=rng.randint(3, 40))
        yield at
        dossier = self._step(dossier, "handed_over", at, desk, to_user_uuid=officer.uuid)
        due_day = to_local(dossier.due_at).date()

        if plan.outcome in ("refused", "withdrawn"):
            at = self._before_until(
                self._working_moment(
                    rng,
                    self.calendar.add_working_days(to_local(at).date(), rng.choice((0, 0, 1))),
                    after=at,
                ),
                after=at,
            )
            yield at
            if plan.outcome == "refused":
                self._step(dossier, "refused", at, officer, reason=rng.choice(REFUSAL_REASONS))
            else:
                self._step(dossier, "withdrawn", at, desk, reason="Công dân xin rút hồ sơ.")
            return
        if plan.supplement:
            at += dt.timedelta(minutes=rng.randint(30, 180))
            yield at
            dossier = self._step(
                dossier, "supplement_requested", at, officer, reason=rng.choice(SUPPLEMENT_REASONS)
            )
            if plan.outcome == "open":
                return
            at = self._working_moment(
                rng, self.calendar.add_working_days(to_local(at).date(), rng.randint(1, 4))
            )
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
                dossier = self._step(
                    dossier,
                    "apology",
                    apology_at,
                    self.leader,
                    reason=rng.choice(APOLOGY_REASONS),
                    new_due_date=resolve_day.isoformat(),
                )
            at = self._working_moment(rng, resolve_day)
        else:
            at = self._in_time_moment(rng, at, due_day)
        yield at
        dossier = self._step(dossier, "resolved", at, officer)
        if (dossier.timeliness == "late") != (plan.outcome == "late"):
            raise AssertionError(
                f"{dossier.code} resolved {dossier.timeliness}, planned {plan.outcome}"
            )
        back = 0 if rng.random() < SAME_DAY_RETURN else rng.randint(1, 3)
        at = self._working_moment(
            rng, self.calendar.add_working_days(to_local(at).date(), back), after=at
        )
        yield at
        dossier = self._step(dossier, "returned", at, desk)
        for step in AFTER_RETURN_STEPS:
            yield from step(self, dossier, extras, at)

    # --- The ward's own reform work over the period: feedback and self-inspections ------------

    def _ward_lives(self, dossiers: int) -> list[Iterator[dt.datetime]]:
        """Lives that belong to the ward, not to a dossier: feedback and petitions at a low rate
        (about one for every 500 dossiers, at least one), and one self-inspection per year."""
        rng = random.Random(f"{self.preset.seed}:{self.unit}:reform")
        days = [
            d
            for d in working_days(self.calendar, self.preset.first, self.preset.last)
            if local_datetime(d, dt.time(7, 30)) < self.until
        ]
        if not days or not dossiers:
            return []
        lives = []
        for _ in range(max(1, round(dossiers * FEEDBACK_PER_DOSSIER))):
            day = rng.choice(days)
            lives.append(self._feedback_life(random.Random(rng.getrandbits(64)), day))
        for year in sorted({d.year for d in days}):
            in_year = [d for d in days if d.year == year]
            lives.append(self._inspection_life(random.Random(rng.getrandbits(64)), year, in_year))
        return lives

    def _feedback_life(self, rng: random.Random, day: dt.date) -> Iterator[dt.datetime]:
        """One feedback: received, assigned by the leader, answered in time, late or not yet."""
        subject, content, regulation, procedure, answer = rng.choice(FEEDBACK_TOPICS)
        channel = rng.choices(
            list(FEEDBACK_CHANNEL_WEIGHTS), list(FEEDBACK_CHANNEL_WEIGHTS.values())
        )[0]
        fate = rng.choices(list(FEEDBACK_FATES), list(FEEDBACK_FATES.values()))[0]
        officer, desk = rng.choice(self.officers), rng.choice(self.desk)
        name, _ = person(rng, day)
        contact = (
            f"0{rng.choice('39875')}{rng.randint(10000000, 99999999)}"
            if rng.random() < 0.7
            else address(rng, self.unit_kind, self.unit_name)
        )
        at = self._working_moment(rng, day)
        yield at
        feedback = receive_feedback(
            {
                "sender_name": name,
                "sender_contact": contact,
                "subject": subject,
                "content": content,
                "regulation": regulation,
                "channel": channel,
                "procedure_code": procedure,
            },
            actor=desk,
            now=at,
        )
        uuid, due_at = feedback.uuid, feedback.due_at
        due_day = to_local(due_at).date()
        at = self._working_moment(
            rng, self.calendar.add_working_days(to_local(at).date(), rng.choice((0, 1))), after=at
        )
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
            answer_day = span[
                min(int(rng.triangular(0, len(span), len(span) * 0.6)), len(span) - 1)
            ]
        at = self._working_moment(rng, answer_day, after=at)
        if fate == "in_time" and at > due_at:  # after closing on the due day
            at = max(
                due_at - dt.timedelta(minutes=rng.randint(10, 90)),
                assigned + dt.timedelta(minutes=5),
            )
        yield at
        answer_feedback(uuid, answer, actor=officer, now=at)

    def _inspection_life(
        self, rng: random.Random, year: int, days: list[dt.date]
    ) -> Iterator[dt.datetime]:
        """The year's self-inspection on the 13 contents: drafted by an officer, submitted by the
        leader towards the end of the year's part of the period."""
        officer = rng.choice(self.officers)
        submit_day = rng.choice(days[-max(1, len(days) // 10) :])
        draft_day = days[max(0, days.index(submit_day) - rng.randint(3, 10))]
        ratings = {
            code: rng.choices(list(INSPECTION_SHARES), list(INSPECTION_SHARES.values()))[0]
            for code in INSPECTION_CONTENTS
        }
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

    def _in_time_moment(
        self, rng: random.Random, after: dt.datetime, due_day: dt.date
    ) -> dt.datetime:
        """A moment on or before the due day (and before the clock stops) to resolve at: most
        early, many on the due day, as a desk works; same-day work a little after intake."""
        last = min(due_day, to_local(self.until - dt.timedelta(seconds=1)).date())
        day = to_local(after).date()
        closing = local_datetime(day, OFFICE_CLOSES) - dt.timedelta(minutes=10)
        if (day == last or (after < closing and rng.random() < 0.5)) and (
            after + dt.timedelta(minutes=15) < closing
        ):
            return self._before_until(
                min(after + dt.timedelta(minutes=rng.randint(15, 150)), closing), after
            )
        candidates = []
        while day < last:
            day = self.calendar.next_working_day(day)
            candidates.append(day)
        if not candidates:  # after closing on the last possible day: just before the clock stops
            return self._before_until(after + dt.timedelta(minutes=5), after)
        chosen = candidates[
            min(int(rng.triangular(0, len(candidates), len(candidates))), len(candidates) - 1)
        ]
        return self._working_moment(rng, chosen)


def generate_ward(
    preset: Preset,
    plans: Sequence[Planned] | None = None,
    progress: Callable[[int], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> int:
    """Generate this ward's share of ``preset`` (planning the city first unless given), naming
    a chairman to sign the letters when the ward has none; ``on_plan`` hears how many dossiers
    the ward's share holds before the first is written."""
    unit = this_ward().ward_code
    if plans is None:
        plans = plan_city(
            preset,
            catalogue(db.session.scalars(sa.select(Procedure)).all()),
            calendar=load_calendar(),
        )
    mine = [p for p in plans if p.unit == unit]
    ensure_chairman_name()
    if on_plan:
        on_plan(len(mine))
    return WardRun(preset).run(mine, progress)
