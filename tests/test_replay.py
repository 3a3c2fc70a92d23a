"""The generator's run register (:class:`~wardapp.dossiers.service.RunRegister`) changes what the
write functions ask the database, never what they store: one ward's month of the article's plan,
played with the desk's register and with the run's from the same database, leaves the same rows
in every table, the same search index and the same outbox, version by version and in order."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sqlite3
from dataclasses import replace

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from kernel.columns import utcnow
from kernel.statuses import Status
from kernel.workdays import local_datetime
from wardapp import create_app
from wardapp.dossiers.intake import DossierError
from wardapp.dossiers.service import Register, RunRegister, receive_dossier, record_step
from wardapp.extensions import db
from wardapp.generator.plan import ARTICLE, plan_city
from wardapp.generator.write import WardRun
from wardapp.letters.service import issue_letter
from wardapp.rating_codes import well_formed
from wardapp.ratings.service import record_rating
from wardapp.sync.records import Dossier, User

from .conftest import WARD, intake_data, make_ward, vn_time

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RATING_CODE = re.compile(r'"rating_code":"([^"]*)"')
# Tables in the order their rows are compared (the outbox first: it names the records in the
# order they were written, which is how the two runs' random UUIDs are matched).
TABLES = (
    "outbox",
    "dossier",
    "dossier_event",
    "dossier_fts",
    "letter",
    "rating",
    "feedback",
    "inspection",
    "user",
)


def write_time_columns() -> dict[str, set[str]]:
    """Columns stamped with the moment of writing (their default is ``utcnow``), which differ
    between any two runs; everything else must be equal."""
    columns = {"outbox": {"created_utc", "payload_sha256"}}  # the digest is checked apart
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if any(
                getattr(default, "arg", None) is not None
                and getattr(default.arg, "__wrapped__", None) is utcnow
                for default in (column.default, column.onupdate)
            ):
                columns.setdefault(table.name, set()).add(column.name)
    return columns


def dump(path) -> list:
    """Every row of :data:`TABLES`, write times left out, UUIDs and rating codes (both random)
    named in order of first appearance, and each outbox digest checked against its payload."""
    with_time = write_time_columns()
    names: dict[str, str] = {}
    codes: dict[str, str] = {}

    def name(match):
        return names.setdefault(match.group(0), f"uuid-{len(names)}")

    def code_name(code: str | None) -> str | None:
        assert code is None or well_formed(code)
        return code and codes.setdefault(code, f"rating-code-{len(codes)}")

    out = []
    conn = sqlite3.connect(path)
    try:
        for table in TABLES:
            cursor = conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
            columns = [c[0] for c in cursor.description]
            for row in cursor:
                record = dict(zip(columns, row))
                if table == "outbox":
                    assert (
                        record["payload_sha256"]
                        == hashlib.sha256(record["payload"].encode()).hexdigest()
                    )
                    record["payload"] = RATING_CODE.sub(
                        lambda m: f'"rating_code":"{code_name(m.group(1))}"',
                        re.sub(r'"updated_at":"[^"]*"', '"updated_at":-', record["payload"]),
                    )
                if table == "dossier":
                    record["rating_code"] = code_name(record["rating_code"])
                for column in with_time.get(table, ()):
                    record.pop(column)
                out.append((table, UUID.sub(name, repr(sorted(record.items())))))
    finally:
        conn.close()
    return out


def play(instance, register, preset, plans) -> dict:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "CHAIRMAN_NAME": "Nguyễn Văn Bình"},
        instance_path=str(instance),
    )
    with app.app_context():
        run = WardRun(preset, register=register())
        received = run.run(plans)
        kinds = set(db.session.scalars(sa.text("SELECT DISTINCT kind FROM dossier_event")))
        db.session.remove()
        db.engine.dispose()
    return {"received": received, "steps": run.steps, "kinds": kinds}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The first month of Phường Mỹ Bình's share of the article, played with the desk's register
    (every look-up a query) and with the run's, each from a copy of the same database."""
    template = tmp_path_factory.mktemp("replay-template")
    make_ward(template)
    end = dt.date(2020, 2, 1)
    preset = replace(
        ARTICLE, last=end - dt.timedelta(days=1), until=local_datetime(end, dt.time(0))
    )
    plans = [p for p in plan_city(ARTICLE) if p.unit == WARD and p.at < preset.until]
    runs = {}
    for label, register in (("desk", Register), ("run", RunRegister)):
        instance = tmp_path_factory.mktemp(label)
        source, target = (
            sqlite3.connect(path) for path in (template / "ward.sqlite", instance / "ward.sqlite")
        )
        source.backup(target)  # the template's last writes may still be in its WAL file
        source.close()
        target.close()
        runs[label] = play(instance, register, preset, plans)
        runs[label]["rows"] = dump(instance / "ward.sqlite")
    return runs


def test_the_sample_takes_every_kind_of_step(two_runs):
    assert two_runs["desk"]["kinds"] == {
        "received",
        "handed_over",
        "supplement_requested",
        "supplement_received",
        "apology",
        "resolved",
        "returned",
        "refused",
        "withdrawn",
    }
    assert two_runs["desk"]["received"] > 900


def test_the_run_register_stores_the_same_rows_and_outbox_as_the_desks(two_runs):
    desk, run = two_runs["desk"], two_runs["run"]
    assert (run["received"], run["steps"]) == (desk["received"], desk["steps"])
    assert len(run["rows"]) == len(desk["rows"])
    for ours, theirs in zip(run["rows"], desk["rows"]):
        assert ours == theirs
    tables = {table for table, _ in desk["rows"]}
    assert {"outbox", "dossier", "dossier_event", "dossier_fts", "letter", "rating"} <= tables


def test_a_run_register_keeps_the_desks_rules(app):
    """A step the desk refuses is refused the same way with a run's register, nothing is
    written, and the same request key twice is the first dossier, as at the desk."""
    register = RunRegister()
    receptionist = db.session.scalar(sa.select(User).where(User.username == "letan"))
    officer = db.session.scalar(sa.select(User).where(User.username == "chuyenvien"))
    now = vn_time(2026, 11, 24, 9)
    data = intake_data()
    dossier, created = receive_dossier(data, actor=receptionist, now=now, register=register)
    assert created
    assert receive_dossier(data, actor=receptionist, now=now, register=register) == (dossier, False)

    def step(kind, actor, at=now, **fields):
        return record_step(dossier.code, kind, actor=actor, now=at, register=register, **fields)

    with pytest.raises(DossierError) as refused:
        step("received", receptionist)
    assert refused.value.code == "unknown_step"
    with pytest.raises(DossierError) as refused:
        step("resolved", receptionist)  # not the desk's role
    assert refused.value.code == "forbidden"
    with pytest.raises(DossierError) as refused:  # the receptionist holds it, not the officer
        step("refused", officer, reason="Không thuộc thẩm quyền.")
    assert refused.value.code == "not_holder"
    with pytest.raises(DossierError) as refused:
        step("handed_over", receptionist, now - dt.timedelta(hours=1), to_user_uuid=officer.uuid)
    assert refused.value.code == "invalid_time"
    code = dossier.code
    db.session.expunge_all()  # what the database holds, not the held dossier
    stored = db.session.scalar(sa.select(Dossier).where(Dossier.code == code))
    assert (stored.version, stored.status, len(stored.events)) == (1, Status.RECEIVED, 1)
    rows = db.session.execute(
        sa.text("SELECT table_name, record_version FROM outbox WHERE table_name LIKE 'dossier%'")
    ).all()
    assert sorted(rows) == [("dossier", 1), ("dossier_event", 1)]


def test_a_run_register_numbers_as_the_desk_and_after_it(app):
    """Codes, logbook lines and rating codes go on from what the database holds, and a desk
    writing after the run goes on from what the run gave."""
    receptionist = db.session.scalar(sa.select(User).where(User.username == "letan"))
    now = vn_time(2026, 11, 24, 9)
    first, _ = receive_dossier(intake_data(), actor=receptionist, now=now)
    register = RunRegister()
    run = [
        receive_dossier(intake_data(), actor=receptionist, now=now, register=register)[0]
        for _ in range(2)
    ]
    last, _ = receive_dossier(intake_data(), actor=receptionist, now=now)
    dossiers = [first, *run, last]
    assert [d.code[-4:] for d in dossiers] == ["0001", "0002", "0003", "0004"]
    assert [d.logbook_number for d in dossiers] == [1, 2, 3, 4]
    assert len({d.rating_code for d in dossiers}) == 4


def test_a_run_registers_dossier_is_refused_an_early_or_second_rating_and_an_early_letter(app):
    app.config["CHAIRMAN_NAME"] = "Nguyễn Văn Bình"
    register = RunRegister()
    receptionist = db.session.scalar(sa.select(User).where(User.username == "letan"))
    now = vn_time(2026, 11, 24, 9)
    dossier, _ = receive_dossier(intake_data(), actor=receptionist, now=now, register=register)
    with pytest.raises(DossierError) as refused:  # a birth registration, not resolved yet
        issue_letter(dossier.code, actor=receptionist, now=now)
    assert refused.value.code == "illegal_transition"
    rating = {
        "code": dossier.rating_code,
        "overall": "satisfied",
        "attitude": "satisfied",
        "timeliness": "satisfied",
        "guidance": "very_satisfied",
    }
    with pytest.raises(DossierError) as refused:  # not returned yet
        record_rating(rating, channel="kiosk", now=now)
    assert refused.value.code == "not_returned"
    leader = db.session.scalar(sa.select(User).where(User.username == "lanhdao"))
    record_step(dossier.code, "resolved", actor=leader, now=now, register=register)
    record_step(dossier.code, "returned", actor=receptionist, now=now, register=register)
    record_rating(rating, channel="kiosk", now=now)
    with pytest.raises(DossierError) as refused:
        record_rating(rating, channel="kiosk", now=now)
    assert refused.value.code == "duplicate"
    rows = (
        db.session.execute(
            sa.text("SELECT table_name FROM outbox WHERE table_name IN ('rating', 'letter')")
        )
        .scalars()
        .all()
    )
    assert rows == ["rating"]


@given(
    st.datetimes(
        min_value=dt.datetime(1900, 1, 1),
        max_value=dt.datetime(2200, 1, 1),
        timezones=st.sampled_from(
            [
                dt.UTC,
                dt.timezone(dt.timedelta(hours=7)),
                dt.timezone(dt.timedelta(hours=-9, minutes=-30)),
            ]
        ),
    )
)
def test_the_fused_datetime_bind_stores_what_sqlalchemy_would(value):
    """The bulk writer's (the hub's apply) one-step SQLite text of an aware datetime is
    SQLAlchemy's own."""
    from sqlalchemy.dialects import sqlite

    from kernel.columns import UTCDateTime
    from kernel.database import bind_processor

    dialect = sqlite.dialect()
    chained = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert bind_processor(UTCDateTime(), dialect)(value) == chained(value)


def test_a_failed_write_fails_its_batch_whole(app):
    """A batch's writes are no savepoints: a write that fails, even when its error is caught,
    leaves nothing of the batch committed, and no write is taken after it."""
    from wardapp.database import batched_writes

    receptionist = db.session.scalar(sa.select(User).where(User.username == "letan"))
    now = vn_time(2026, 11, 24, 9)
    with pytest.raises(RuntimeError, match="rolled back whole"):
        with batched_writes():
            receive_dossier(intake_data(), actor=receptionist, now=now)
            with pytest.raises(DossierError):
                record_step("NO-SUCH-CODE", "handed_over", actor=receptionist, now=now)
            with pytest.raises(RuntimeError, match="rolled back whole"):
                receive_dossier(intake_data(), actor=receptionist, now=now)
    db.session.expunge_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)) == 0
    assert (
        db.session.scalar(sa.text("SELECT count(*) FROM outbox WHERE table_name = 'dossier'")) == 0
    )
