"""Data ownership at the hub (docs/architecture.md, G6): a unit writes only its own
records, and a record it pushes may name only records of its own.

A victim ward (every kind of record, built by the upgrade fixtures' builder) syncs to a real hub
on a real waitress server; then a second unit, with its own valid credential, pushes over real
HTTP records that aim at the victim's: an event on the victim's dossier, a rating of it, a
feedback answered by its official, a dossier with the victim's code prefix, the victim's
uuids. Each is refused with its code and quarantined, the victim's records stay as they were,
and a control record identical but for the aim is taken, so the refusal is the aim's alone.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid as uuid_module

import pytest
import requests
import sqlalchemy as sa

from wardapp.sync.protocol import (
    OWN_CODE_COLUMNS,
    PROTOCOL_VERSION,
    REFERENCES,
    SYNCED_MODELS,
    WIRE_SCHEMA_VERSION,
    encode,
    json_value,
    records_digest,
    wire_columns,
)

from .conftest import WARD

ATTACKER = "30283"


def named_records(table: str) -> dict[str, str | None]:
    """The columns of a synced table that name another synced record, read from the model: a
    foreign key to a synced table, or a name ending in ``_uuid`` (target unknown: None)."""
    named: dict[str, str | None] = {}
    for column in wire_columns(table):
        targets = {fk.column.table.name for fk in column.foreign_keys} & set(SYNCED_MODELS)
        if targets:
            named[column.name] = targets.pop()
        elif column.name.endswith("_uuid"):
            named[column.name] = None
    return named


def test_every_synced_table_has_an_ownership_rule():
    assert REFERENCES.keys() == SYNCED_MODELS.keys()
    assert set(OWN_CODE_COLUMNS) <= set(SYNCED_MODELS)


@pytest.mark.parametrize("table", sorted(SYNCED_MODELS))
def test_every_column_naming_a_record_has_its_ownership_rule(table):
    """A new column that names a record (a foreign key, or ``…_uuid``) fails here until
    REFERENCES says which table's record it names, so the hub checks its owner."""
    named = named_records(table)
    assert named.keys() == REFERENCES[table].keys(), (
        f"{table}: columns naming a record without an ownership rule, or rules without a column"
    )
    for column, target in named.items():
        assert target in (None, REFERENCES[table][column]), (table, column)


@pytest.fixture(scope="session")
def _victim_ward(tmp_path_factory):
    """A ward database holding every kind of synced record, built once."""
    from .fixtures.build_fixtures import build_ward

    instance = tmp_path_factory.mktemp("victim") / "ward"
    app = build_ward(instance)
    with app.app_context():
        from wardapp.extensions import db

        db.session.remove()
        db.engine.dispose()
    return instance / "ward.sqlite"


@pytest.fixture
def victim_hub(hub, tmp_path, _victim_ward):
    """The hub, after the victim ward synced all it holds over HTTP."""
    from wardapp import create_app
    from wardapp.extensions import db
    from wardapp.sync.client import EXIT_OK, HubClient, SyncConfig, SyncRun

    instance = tmp_path / "victim"
    instance.mkdir()
    source, target = sqlite3.connect(_victim_ward), sqlite3.connect(instance / "ward.sqlite")
    source.backup(target)
    source.close(), target.close()
    app = create_app({"TESTING": True, "SECRET_KEY": "victim"}, instance_path=str(instance))
    with app.app_context():
        client = HubClient(
            SyncConfig(hub.url, hub.token), retries=1, backoff=0, sleep=lambda s: None, timeout=10
        )
        assert SyncRun(client).run() == EXIT_OK
        db.session.remove()
        db.engine.dispose()
    for table in SYNCED_MODELS:
        assert hub.count(table, WARD) > 0, f"the victim holds no {table} record"
    return hub


class Attacker:
    """A unit speaking the protocol with its own valid credential and a database of its own."""

    def __init__(self, hub, code: str = ATTACKER):
        self.hub, self.code, self.token, self.seq = hub, code, hub.tokens[code], 0
        self.instance = uuid_module.uuid4().hex[:32]

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(
            f"{self.hub.url}/api/sync/v1/{path}",
            timeout=30,
            headers={"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})},
            **kwargs,
        )

    def send(self, records: list[dict]) -> requests.Response:
        """Hello, then one batch of ``records`` (table, data); the hub's answer to the push."""
        first = self.seq + 1
        wire = [
            {
                "seq": first + i,
                "table": table,
                "uuid": data["uuid"],
                "op": "upsert",
                "version": data["version"],
                "data": data,
            }
            for i, (table, data) in enumerate(records)
        ]
        self.seq += len(wire)
        hello = self.post(
            "hello",
            json={
                "ward_code": self.code,
                "db_instance_id": self.instance,
                "outbox_head_seq": self.seq,
                "protocol_version": PROTOCOL_VERSION,
                "schema_version": WIRE_SCHEMA_VERSION,
                "ward_utc": dt.datetime.now(dt.UTC).isoformat(),
            },
        )
        assert hello.status_code == 200, hello.text
        batch = {
            "ward_code": self.code,
            "first_seq": first,
            "last_seq": self.seq,
            "count": len(wire),
            "protocol_version": PROTOCOL_VERSION,
            "schema_version": WIRE_SCHEMA_VERSION,
            "records": wire,
            "sha256": records_digest(wire),
        }
        return self.post("push", data=encode(batch), headers={"Content-Encoding": "gzip"})

    def push(self, records: list[dict]) -> dict:
        answer = self.send(records)
        assert answer.status_code == 200, answer.text
        return answer.json()


def hub_rows(hub, table: str, ward_code: str = WARD) -> list[dict]:
    """A unit's records of ``table`` at the hub, as the wire carries them."""
    from city_hub.extensions import db as hub_db
    from city_hub.models import RECORD_TABLES

    names = [c.name for c in wire_columns(table)]
    t = RECORD_TABLES[table]
    with hub.app.app_context():
        rows = hub_db.session.execute(
            sa.select(*(t.c[n] for n in names)).where(t.c.ward_code == ward_code)
        ).all()
        return [{n: json_value(v) for n, v in zip(names, row)} for row in rows]


def snapshot_of(hub, ward_code: str) -> dict:
    return {
        table: sorted((r["uuid"], r["version"]) for r in hub_rows(hub, table, ward_code))
        for table in SYNCED_MODELS
    }


def forged(hub, table: str) -> dict:
    """A well-formed record of ``table`` of the attacker's own: a copy of a victim's record with
    a new uuid, the attacker's code, and every record it names a fresh one no unit holds."""
    data = dict(
        hub_rows(hub, table)[0], uuid=str(uuid_module.uuid4()), ward_code=ATTACKER, version=1
    )
    for column in REFERENCES[table]:
        data[column] = str(uuid_module.uuid4())
    if table == "dossier":
        data["code"] = f"{ATTACKER}-261203-{uuid_module.uuid4().int % 10**6:06d}"
        data["request_key"] = uuid_module.uuid4().hex
    return data


def quarantined(hub, code: str) -> list:
    from city_hub.extensions import db as hub_db
    from city_hub.models import Quarantine

    with hub.app.app_context():
        return hub_db.session.scalars(
            sa.select(Quarantine.record_uuid).where(
                Quarantine.ward_code == ATTACKER, Quarantine.code == code
            )
        ).all()


@pytest.mark.parametrize("table", sorted(SYNCED_MODELS))
def test_a_unit_cannot_write_onto_another_units_records(victim_hub, table):
    """Per table: the victim's uuid (UUID_TAKEN), the victim's ward code (WRONG_WARD) and,
    for each column naming a record, a record naming the victim's (FOREIGN_REFERENCE) are
    refused and quarantined, nothing of them written; the same record naming a record of no
    unit is taken (a transaction's rows may straddle two batches)."""
    hub, attacker = victim_hub, Attacker(victim_hub)
    victim_before = snapshot_of(hub, WARD)
    victims = {t: hub_rows(hub, t) for t in SYNCED_MODELS}
    taken = dict(forged(hub, table), uuid=victims[table][0]["uuid"])
    wrong_ward = dict(forged(hub, table), ward_code=WARD)
    aimed = {}
    for column, target in REFERENCES[table].items():
        aimed[column] = dict(forged(hub, table), **{column: victims[target][0]["uuid"]})
    control = forged(hub, table)
    records = [taken, wrong_ward, *aimed.values(), control]
    answer = attacker.push([(table, data) for data in records])
    codes = {r["uuid"]: r["code"] for r in answer["rejects"]}
    assert codes.pop(taken["uuid"]) == "UUID_TAKEN"
    assert codes.pop(wrong_ward["uuid"]) == "WRONG_WARD"
    for column, data in aimed.items():
        assert codes.pop(data["uuid"]) == "FOREIGN_REFERENCE", column
        assert column in next(r["message"] for r in answer["rejects"] if r["uuid"] == data["uuid"])
    assert codes == {}, codes
    summary = answer["summary"]
    assert summary["conflicts"] == len(records) - 1 and summary["inserted"] == 1
    assert [r["uuid"] for r in hub_rows(hub, table, ATTACKER)] == [control["uuid"]]
    assert snapshot_of(hub, WARD) == victim_before
    assert set(quarantined(hub, "FOREIGN_REFERENCE")) == {d["uuid"] for d in aimed.values()}


def test_an_event_on_another_wards_dossier_changes_nothing_there(victim_hub):
    """The issue's own case: a 'resolved' step whose dossier is the victim's, pushed with the
    attacker's credential, is refused; the victim's dossier and its steps are as they were."""
    hub = victim_hub
    dossier = next(d for d in hub_rows(hub, "dossier") if d["resolved_at"] is None)
    steps_before = [
        e for e in hub_rows(hub, "dossier_event") if e["dossier_uuid"] == dossier["uuid"]
    ]
    event = dict(
        forged(hub, "dossier_event"),
        dossier_uuid=dossier["uuid"],
        kind="resolved",
        position=len(steps_before) + 1,
    )
    answer = Attacker(hub).push([("dossier_event", event)])
    assert answer["summary"]["conflicts"] == 1
    assert answer["rejects"][0]["code"] == "FOREIGN_REFERENCE"
    assert [
        e for e in hub_rows(hub, "dossier_event") if e["dossier_uuid"] == dossier["uuid"]
    ] == steps_before
    assert hub_rows(hub, "dossier_event", ATTACKER) == []


def test_dossier_codes_carry_the_units_own_code_and_are_never_issued_twice(victim_hub):
    """A dossier code with another unit's prefix is refused (CODE_NOT_OWNED); a code the hub
    holds already, or one the same batch gives two dossiers, is refused (CODE_TAKEN), so the
    hub never holds two dossiers with one code. The unit's agency code, once the hub's
    reference data gives it one, heads its codes as well."""
    hub, attacker = victim_hub, Attacker(victim_hub)
    victim_code = hub_rows(hub, "dossier")[0]["code"]
    foreign_prefix = dict(
        forged(hub, "dossier"), code=f"{WARD}-261203-{uuid_module.uuid4().int % 10**4:04d}"
    )
    own = forged(hub, "dossier")
    twin = dict(forged(hub, "dossier"), code=own["code"])
    answer = attacker.push([("dossier", foreign_prefix), ("dossier", own), ("dossier", twin)])
    codes = {r["uuid"]: r["code"] for r in answer["rejects"]}
    assert codes == {foreign_prefix["uuid"]: "CODE_NOT_OWNED", twin["uuid"]: "CODE_TAKEN"}
    again = dict(forged(hub, "dossier"), code=own["code"])
    answer = attacker.push([("dossier", again)])
    assert [r["code"] for r in answer["rejects"]] == ["CODE_TAKEN"]
    # A later version of the dossier that holds the code keeps it.
    answer = attacker.push([("dossier", dict(own, version=2, note="Bổ sung"))])
    assert answer["summary"]["updated"] == 1
    codes_at_hub = [d["code"] for d in hub_rows(hub, "dossier", ATTACKER)]
    assert codes_at_hub == [own["code"]]
    assert victim_code in [d["code"] for d in hub_rows(hub, "dossier")]

    import json

    from city_hub.extensions import db as hub_db
    from city_hub.refdata import latest_snapshot, publish

    with hub.app.app_context():
        snapshot = json.loads(latest_snapshot().body)
        for unit in snapshot["units"]:
            if unit["code"] == ATTACKER:
                unit["agency_code"] = "000.31.28.H02"
        publish(snapshot)
        hub_db.session.commit()
    agency = dict(forged(hub, "dossier"), code="000.31.28.H02-261203-0001")
    assert attacker.push([("dossier", agency)])["summary"]["inserted"] == 1


def test_the_hub_admin_sees_what_was_quarantined(victim_hub, tmp_path):
    """The refused records are listed for the hub's admin, on the page and at the CLI, with
    their code and the record as it came; nothing of the victim's is shown as the attacker's."""
    from click.testing import CliRunner

    from city_hub.cli import cli as hub_cli
    from city_hub.extensions import db as hub_db
    from city_hub.models import HubUser

    from .conftest import PASSWORD

    hub = victim_hub
    victim = hub_rows(hub, "dossier")[0]
    event = dict(forged(hub, "dossier_event"), dossier_uuid=victim["uuid"])
    Attacker(hub).push([("dossier_event", event)])
    with hub.app.app_context():
        admin = HubUser(username="quantri", full_name="Quản trị", role="admin")
        admin.set_password(PASSWORD)
        hub_db.session.add(admin)
        hub_db.session.commit()
    session = requests.Session()
    login = session.post(
        f"{hub.url}/auth/login",
        timeout=10,
        data={
            "username": "quantri",
            "password": PASSWORD,
            "csrf_token": _csrf(session, f"{hub.url}/auth/login"),
        },
    )
    assert login.status_code == 200, login.text
    wards = session.get(f"{hub.url}/admin/wards", timeout=10).text
    assert f"/admin/wards/{ATTACKER}/quarantine" in wards
    page = session.get(f"{hub.url}/admin/wards/{ATTACKER}/quarantine", timeout=10)
    assert page.status_code == 200
    assert "FOREIGN_REFERENCE" in page.text and event["uuid"] in page.text
    assert "Trường dossier_uuid trỏ tới bản ghi dossier của phường, xã khác." in page.text
    result = CliRunner().invoke(
        hub_cli,
        ["ward", "quarantine", ATTACKER, "--instance", hub.app.instance_path],
        env={"CITY_HUB_DATABASE_URL": hub.app.config["SQLALCHEMY_DATABASE_URI"]},
    )
    assert result.exit_code == 0, result.output
    assert f"{ATTACKER}: 1 bản ghi bị cách ly." in result.output
    assert "FOREIGN_REFERENCE" in result.output and event["uuid"] in result.output


def _csrf(session: requests.Session, url: str) -> str:
    import re

    form = session.get(url, timeout=10).text
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    return found.group(1) if found else ""
