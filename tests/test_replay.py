"""The generator's ReplayDesk stores exactly what the desk's own service functions store: one
ward's month of the article's plan, played both ways from the same database, leaves the same rows
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

from wardapp import create_app
from wardapp.dossiers.replay import ReplayDesk
from wardapp.dossiers.service import DossierError, receive_dossier, record_step
from wardapp.extensions import db
from wardapp.generator import ARTICLE, WardRun, plan_city
from wardapp.letters.service import issue_letter
from kernel.columns import utcnow
from wardapp.sync.records import Dossier, User
from wardapp.rating_codes import well_formed
from wardapp.ratings.service import record_rating
from kernel.workdays import local_datetime

from .conftest import WARD, intake_data, make_ward, vn_time

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RATING_CODE = re.compile(r'"rating_code":"([^"]*)"')
# Tables in the order their rows are compared (the outbox first: it names the records in the
# order they were written, which is how the two runs' random UUIDs are matched).
TABLES = ("outbox", "dossier", "dossier_event", "dossier_fts", "letter", "rating", "feedback",
          "inspection", "user")


class ServiceDesk:
    """The desk's own path, for comparison: the service functions through the session."""

    def receive(self, data, *, actor, now):
        return receive_dossier(data, actor=actor, now=now)[0]

    def step(self, dossier, kind, *, actor, now, **fields):
        return record_step(dossier.code, kind, actor=actor, now=now, **fields)

    def issue_letter(self, dossier, *, actor, now):
        return issue_letter(dossier.code, actor=actor, now=now)

    def rate(self, dossier, data, *, channel, actor=None, now):
        return record_rating(data, channel=channel, actor=actor, now=now)


def write_time_columns() -> dict[str, set[str]]:
    """Columns stamped with the moment of writing (their default is ``utcnow``), which differ
    between any two runs; everything else must be equal."""
    columns = {"outbox": {"created_utc", "payload_sha256"}}  # the digest is checked apart
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if any(getattr(default, "arg", None) is not None
                   and getattr(default.arg, "__wrapped__", None) is utcnow
                   for default in (column.default, column.onupdate)):
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
                    assert record["payload_sha256"] == hashlib.sha256(
                        record["payload"].encode()).hexdigest()
                    record["payload"] = RATING_CODE.sub(
                        lambda m: f'"rating_code":"{code_name(m.group(1))}"',
                        re.sub(r'"updated_at":"[^"]*"', '"updated_at":-', record["payload"]))
                if table == "dossier":
                    record["rating_code"] = code_name(record["rating_code"])
                for column in with_time.get(table, ()):
                    record.pop(column)
                out.append((table, UUID.sub(name, repr(sorted(record.items())))))
    finally:
        conn.close()
    return out


def play(instance, dossiers, preset, plans) -> dict:
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "CHAIRMAN_NAME": "Nguyễn Văn Bình"},
                     instance_path=str(instance))
    with app.app_context():
        run = WardRun(preset, dossiers=dossiers())
        received = run.run(plans)
        kinds = set(db.session.scalars(sa.text("SELECT DISTINCT kind FROM dossier_event")))
        db.session.remove()
        db.engine.dispose()
    return {"received": received, "steps": run.steps, "kinds": kinds}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The first month of Phường Mỹ Bình's share of the article, played through the service
    functions and through the replay desk, each from a copy of the same database."""
    template = tmp_path_factory.mktemp("replay-template")
    make_ward(template)
    end = dt.date(2020, 2, 1)
    preset = replace(ARTICLE, last=end - dt.timedelta(days=1), until=local_datetime(end, dt.time(0)))
    plans = [p for p in plan_city(ARTICLE) if p.unit == WARD and p.at < preset.until]
    runs = {}
    for label, dossiers in (("service", ServiceDesk), ("replay", ReplayDesk)):
        instance = tmp_path_factory.mktemp(label)
        source, target = (sqlite3.connect(path) for path in (template / "ward.sqlite",
                                                              instance / "ward.sqlite"))
        source.backup(target)  # the template's last writes may still be in its WAL file
        source.close()
        target.close()
        runs[label] = play(instance, dossiers, preset, plans)
        runs[label]["rows"] = dump(instance / "ward.sqlite")
    return runs


def test_the_sample_takes_every_kind_of_step(two_runs):
    assert two_runs["service"]["kinds"] == {
        "received", "handed_over", "supplement_requested", "supplement_received", "apology",
        "resolved", "returned", "refused", "withdrawn"}
    assert two_runs["service"]["received"] > 900


def test_replay_stores_the_same_rows_and_outbox_as_the_service_functions(two_runs):
    service, replay = two_runs["service"], two_runs["replay"]
    assert (replay["received"], replay["steps"]) == (service["received"], service["steps"])
    assert len(replay["rows"]) == len(service["rows"])
    for ours, theirs in zip(replay["rows"], service["rows"]):
        assert ours == theirs
    tables = {table for table, _ in service["rows"]}
    assert {"outbox", "dossier", "dossier_event", "dossier_fts", "letter", "rating"} <= tables


def test_replay_applies_the_desks_rules(app):
    """A step the desk refuses is refused the same way, and nothing is written."""
    desk = ReplayDesk()
    receptionist = db.session.scalar(sa.select(User).where(User.username == "letan"))
    officer = db.session.scalar(sa.select(User).where(User.username == "chuyenvien"))
    now = vn_time(2026, 11, 24, 9)
    dossier = desk.receive(intake_data(), actor=receptionist, now=now)
    with pytest.raises(DossierError) as refused:
        desk.step(dossier, "received", actor=receptionist, now=now)
    assert refused.value.code == "unknown_step"
    with pytest.raises(DossierError) as refused:
        desk.step(dossier, "resolved", actor=receptionist, now=now)  # not the desk's role
    assert refused.value.code == "forbidden"
    with pytest.raises(DossierError) as refused:  # the receptionist holds it, not the officer
        desk.step(dossier, "refused", actor=officer, now=now, reason="Không thuộc thẩm quyền.")
    assert refused.value.code == "not_holder"
    with pytest.raises(DossierError) as refused:
        desk.step(dossier, "handed_over", actor=receptionist, now=now - dt.timedelta(hours=1),
                  to_user_uuid=officer.uuid)
    assert refused.value.code == "invalid_time"
    db.session.commit()
    stored = db.session.scalar(sa.select(Dossier).where(Dossier.code == dossier.code))
    assert (stored.version, stored.status, len(stored.events)) == (1, dossier.status, 1)
    rows = db.session.execute(sa.text("SELECT table_name, record_version FROM outbox "
                                      "WHERE table_name LIKE 'dossier%'")).all()
    assert sorted(rows) == [("dossier", 1), ("dossier_event", 1)]


def test_replay_refuses_an_early_or_second_rating_and_an_early_letter(app):
    app.config["CHAIRMAN_NAME"] = "Nguyễn Văn Bình"
    desk = ReplayDesk()
    receptionist = db.session.scalar(sa.select(User).where(User.username == "letan"))
    now = vn_time(2026, 11, 24, 9)
    dossier = desk.receive(intake_data(), actor=receptionist, now=now)
    with pytest.raises(DossierError) as refused:  # a birth registration, not resolved yet
        desk.issue_letter(dossier, actor=receptionist, now=now)
    assert refused.value.code == "illegal_transition"
    rating = {"code": dossier.rating_code, "overall": "satisfied", "attitude": "satisfied",
              "timeliness": "satisfied", "guidance": "very_satisfied"}
    with pytest.raises(DossierError) as refused:  # not returned yet
        desk.rate(dossier, rating, channel="kiosk", now=now)
    assert refused.value.code == "not_returned"
    leader = db.session.scalar(sa.select(User).where(User.username == "lanhdao"))
    desk.step(dossier, "resolved", actor=leader, now=now)
    desk.step(dossier, "returned", actor=receptionist, now=now)
    desk.rate(dossier, rating, channel="kiosk", now=now)
    with pytest.raises(DossierError) as refused:
        desk.rate(dossier, rating, channel="kiosk", now=now)
    assert refused.value.code == "duplicate"
    db.session.commit()
    rows = db.session.execute(sa.text("SELECT table_name FROM outbox WHERE table_name IN "
                                      "('rating', 'letter')")).scalars().all()
    assert rows == ["rating"]


@given(st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                    timezones=st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=7)),
                                               dt.timezone(dt.timedelta(hours=-9, minutes=-30))])))
def test_the_fused_datetime_bind_stores_what_sqlalchemy_would(value):
    """The bulk writers' one-step SQLite text of an aware datetime is SQLAlchemy's own."""
    from sqlalchemy.dialects import sqlite

    from kernel.database import bind_processor
    from kernel.columns import UTCDateTime

    dialect = sqlite.dialect()
    chained = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert bind_processor(UTCDateTime(), dialect)(value) == chained(value)
