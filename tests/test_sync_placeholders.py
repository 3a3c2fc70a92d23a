"""Superseded placeholders: a version that a later record of the same batch supersedes travels
without its data, to a hub that says at hello that it reads them (wardapp.sync.protocol).

Real HTTP between the ward and a waitress hub, as in test_sync.py. "Old hub" is a hub whose
protocol window is [1, 1], as every hub before placeholders announced; "old ward" sends batches
of full records at protocol 1, as every ward before them did.
"""

import gzip
import json
import zipfile

import pytest
import requests
import sqlalchemy as sa

from wardapp.dossiers.service import record_step
from wardapp.extensions import db
from wardapp.models import Outbox
from wardapp.sync import client as sync_client
from wardapp.sync.client import EXIT_OK, SyncConfig
from wardapp.sync.outgoing import next_batch
from wardapp.sync.protocol import (
    OUTCOMES,
    PLACEHOLDER_PROTOCOL,
    PROTOCOL_VERSION,
    encode,
    records_digest,
)
from wardapp.sync.usb import export_package, import_summary

from .conftest import WARD, Hub, LiveServer, account, make_hub
from .test_sync import hello, hub_matches_ward, push, run, write_dossiers


class Wire:
    """A ``requests`` session that keeps the decoded body of every push it sends."""

    def __init__(self):
        self.session = requests.Session()
        self.batches: list[dict] = []
        send = self.session.send

        def keep(request, **kwargs):
            if request.path_url.endswith("/push"):
                self.batches.append(json.loads(gzip.decompress(request.body)))
            return send(request, **kwargs)

        self.session.send = keep

    def placeholders(self) -> list[dict]:
        return [r for b in self.batches for r in b["records"] if "superseded" in r]


def superseded_in_outbox(after_seq: int = 0) -> int:
    """How many outbox rows after ``after_seq`` a later row of the same record supersedes."""
    rows = db.session.execute(
        sa.select(Outbox.table_name, Outbox.record_uuid, Outbox.record_version)
        .where(Outbox.seq > after_seq)
        .order_by(Outbox.seq)
    ).all()
    newest, count = {}, 0
    for table, uuid, version in reversed(rows):
        count += newest.get((table, uuid), 0) > version
        newest[(table, uuid)] = max(version, newest.get((table, uuid), 0))
    return count


def busy_dossiers(count: int) -> None:
    """Dossiers that each go through four versions (received, handed over, resolved,
    returned), as a backlog holds them."""
    for code in write_dossiers(count):
        record_step(code, "resolved", actor=account("chuyenvien"))
        record_step(code, "returned", actor=account("letan"))


@pytest.fixture
def old_hub(tmp_path):
    """A hub of the releases before placeholders: it announces protocol [1, 1] at hello."""
    app, tokens = make_hub(tmp_path / "old-hub", SYNC_ACCEPT_PROTOCOL=(1, 1))
    with LiveServer(app) as url:
        yield Hub(app, url, tokens[WARD])
    with app.app_context():
        from city_hub.extensions import db as hub_db

        hub_db.session.remove()
        hub_db.engine.dispose()


def hub_tables(hub) -> dict:
    """Every record row the hub holds, but the time it was written."""
    from city_hub.extensions import db as hub_db
    from city_hub.models import RECORD_TABLES

    with hub.app.app_context():
        try:
            return {
                name: sorted(
                    tuple(row)
                    for row in hub_db.session.execute(
                        sa.select(*(c for c in t.columns if c.name != "synced_utc"))
                    )
                )
                for name, t in RECORD_TABLES.items()
            }
        finally:
            hub_db.session.remove()


def stored_summaries(hub) -> list[dict]:
    from city_hub.extensions import db as hub_db
    from city_hub.models import ImportBatch

    with hub.app.app_context():
        try:
            return [
                b.answer["summary"]
                for b in hub_db.session.scalars(
                    sa.select(ImportBatch).order_by(ImportBatch.first_seq)
                )
            ]
        finally:
            hub_db.session.remove()


def test_new_hub_gets_placeholders_counted_stale(app, hub):
    """The hub says at hello that it reads placeholders; every superseded version of a batch
    goes as one and comes back stale, the summaries balance, and the hub holds the ward's
    newest version of every record (G1, G9)."""
    busy_dossiers(6)
    expected = superseded_in_outbox()
    assert expected >= 18  # three of each dossier's four versions, and events' none
    wire = Wire()
    assert run(hub, session=wire.session) == EXIT_OK
    assert len(wire.placeholders()) == expected
    assert all(b["protocol_version"] == PLACEHOLDER_PROTOCOL for b in wire.batches)
    assert all("data" not in r and r["superseded"] is True for r in wire.placeholders())
    (summary,) = stored_summaries(hub)
    assert summary["stale"] == expected and summary["rejected"] == summary["conflicts"] == 0
    assert summary["received"] == sum(summary[k] for k in OUTCOMES)
    assert hub.count("dossier") == 6 and hub_matches_ward(hub)


def test_hub_ends_as_after_full_records(app, hub, old_hub, monkeypatch):
    """The same outbox pushed with placeholders to a new hub and in full to an old one leaves
    the same rows in both, byte for byte, across many small batches and two runs."""
    import city_hub.sync

    monkeypatch.setattr(city_hub.sync, "MAX_BATCH_RECORDS", 7)  # both hubs say so at hello
    busy_dossiers(4)
    new_wire, old_wire = Wire(), Wire()
    assert run(hub, session=new_wire.session) == EXIT_OK
    busy_dossiers(3)  # more versions of new dossiers, and a later run
    record_step(write_dossiers(1)[0], "resolved", actor=account("chuyenvien"))
    assert run(hub, session=new_wire.session) == EXIT_OK
    # The ward then syncs, from the start, with a hub that does not read placeholders.
    assert run(old_hub, session=old_wire.session) == EXIT_OK
    assert len(new_wire.batches) > 5 and max(b["count"] for b in new_wire.batches) == 7
    assert new_wire.placeholders() and not old_wire.placeholders()
    assert hub_tables(hub) == hub_tables(old_hub)
    assert hub_matches_ward(hub) and hub_matches_ward(old_hub)


def test_placeholders_stay_within_their_batch(app):
    """A version superseded only in a later batch goes in full: each batch is complete alone."""
    busy_dossiers(3)
    after, seen = 0, 0
    while (batch := next_batch(after, 5, placeholders=True)) is not None:
        for at, record in enumerate(batch["records"]):
            later = [
                r
                for r in batch["records"][at + 1 :]
                if (r["table"], r["uuid"]) == (record["table"], record["uuid"])
            ]
            assert ("superseded" in record) == any(r["version"] > record["version"] for r in later)
            seen += "superseded" in record
        after = batch["last_seq"]
    assert 0 < seen < superseded_in_outbox()


def test_old_hub_gets_full_records(app, old_hub):
    """A hub that does not announce protocol 2 gets full records at protocol 1, as before."""
    busy_dossiers(3)
    wire = Wire()
    assert run(old_hub, session=wire.session) == EXIT_OK
    assert wire.batches and not wire.placeholders()
    assert all(b["protocol_version"] == PROTOCOL_VERSION for b in wire.batches)
    assert all(s["stale"] == 0 for s in stored_summaries(old_hub))
    assert hub_matches_ward(old_hub)


def test_old_hub_refuses_a_batch_with_placeholders_whole(app, old_hub):
    """G7: a hub that cannot read placeholders never half-applies them: the batch says protocol
    2 and is refused before any record is looked at."""
    busy_dossiers(2)
    hello(old_hub)
    answer = push(old_hub, next_batch(0, placeholders=True))
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "VERSION_UNSUPPORTED"
    assert old_hub.count("dossier") == 0 and old_hub.ward().acked_seq == 0


def test_old_ward_full_records_to_new_hub(app, hub, monkeypatch):
    """A ward that does not read the hub's announcement (an older release) sends full records
    at protocol 1; the new hub takes them as before."""
    monkeypatch.setattr(sync_client, "accepts_placeholders", lambda accept: False)
    busy_dossiers(3)
    wire = Wire()
    assert run(hub, session=wire.session) == EXIT_OK
    assert not wire.placeholders()
    assert all(b["protocol_version"] == PROTOCOL_VERSION for b in wire.batches)
    (summary,) = stored_summaries(hub)
    assert summary["stale"] == summary["rejected"] == 0
    assert summary["updated"] == superseded_in_outbox()  # each later version, in full
    assert hub_matches_ward(hub)


@pytest.mark.parametrize(
    "accept, reads",
    [
        ([1, 2], True),
        ([2, 3], True),
        ([1, 1], False),
        (None, False),
        ([1], False),
        ([1, "2"], False),
        ([True, 2], False),
        ({"max": 2}, False),
    ],
)
def test_only_a_hub_whose_window_reaches_2_gets_placeholders(accept, reads):
    assert sync_client.accepts_placeholders(accept) is reads


def placeholder_batch() -> tuple[dict, dict]:
    """A batch with placeholders, and its first placeholder, for the caller to change."""
    batch = next_batch(0, placeholders=True)
    first = next(r for r in batch["records"] if "superseded" in r)
    return batch, first


def no_successor(batch, record):
    record["version"] = 99


def no_later_successor(batch, record):  # the newer version comes before it
    later = next(
        r
        for r in batch["records"]
        if r["seq"] > record["seq"] and r["uuid"] == record["uuid"] and "data" in r
    )
    record["version"], later["version"], later["data"]["version"] = (
        later["version"],
        record["version"],
        record["version"],
    )


def successor_of_other_ward(batch, record):
    for r in batch["records"]:
        if r["uuid"] == record["uuid"] and "data" in r:
            r["data"]["ward_code"] = "30283"


def successor_rejected(batch, record):
    for r in batch["records"]:
        if r["uuid"] == record["uuid"] and "data" in r:
            r["data"]["received_at"] = "hôm qua"


@pytest.mark.parametrize(
    "change, code",
    [
        (no_successor, "NO_SUCCESSOR"),
        (no_later_successor, "NO_SUCCESSOR"),
        (successor_of_other_ward, "NO_SUCCESSOR"),
        (successor_rejected, "NO_SUCCESSOR"),
        (lambda b, r: r.update(superseded=False), "INVALID"),
        (lambda b, r: r.update(superseded="true"), "INVALID"),
        (lambda b, r: r.update(data=None), "INVALID"),
        (lambda b, r: r.update(version="1"), "INVALID"),
        (lambda b, r: r.update(version=None), "INVALID"),
        (lambda b, r: r.update(uuid=[r["uuid"]]), "INVALID"),
        (lambda b, r: r.update(table=["dossier"]), "UNKNOWN_TABLE"),
        (lambda b, r: r.update(table="ward"), "UNKNOWN_TABLE"),
        (lambda b, r: r.update(op="delete"), "UNSUPPORTED_OP"),
    ],
)
def test_placeholder_without_successor_or_malformed_is_rejected(app, hub, change, code):
    """A placeholder counts stale only with a later record of the same ward at a higher version;
    otherwise it is rejected with its reason, the rest of the batch applied: never a 500."""
    busy_dossiers(2)
    hello(hub)
    batch, record = placeholder_batch()
    change(batch, record)
    batch["sha256"] = records_digest(batch["records"])
    answer = push(hub, batch)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    reject = next(r for r in body["rejects"] if r["seq"] == record["seq"])
    assert reject["code"] == code and reject["message"]
    summary = body["summary"]
    assert summary["received"] == len(batch["records"]) == sum(summary[k] for k in OUTCOMES)
    assert summary["stale"] + summary["rejected"] >= sum(
        "superseded" in r for r in batch["records"]
    )
    assert hub.count("dossier") == 2 - (
        change is successor_of_other_ward or change is successor_rejected
    )


@pytest.mark.parametrize("tamper", ["version", "drop_data", "add_data"])
def test_tampered_placeholder_is_refused_by_its_digest(app, hub, tamper):
    """T9: placeholders are hashed as any record: a placeholder changed after hashing, a full
    record turned into one, or one given data back, is refused whole; nothing is applied."""
    busy_dossiers(2)
    hello(hub)
    batch, record = placeholder_batch()
    if tamper == "version":
        record["version"] += 1
    elif tamper == "drop_data":
        full = batch["records"][-1]
        del full["data"]
        full["superseded"] = True
    else:
        del record["superseded"]
        record["data"] = next(r["data"] for r in batch["records"] if "data" in r)
    answer = push(hub, batch)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "BAD_PAYLOAD"
    assert hub.count("dossier") == 0 and hub.ward().acked_seq == 0


def test_tampered_bytes_of_a_placeholder_are_refused(app, hub):
    """The hub checks the digest over the body's own bytes: flipping a placeholder's version in
    the canonical text (the fast path) is caught as well."""
    from wardapp.sync.outgoing import make_batch

    busy_dossiers(2)
    hello(hub)
    envelope, records_json = make_batch(0, 500, placeholders=True)
    at = records_json.index('"superseded":true')
    at = records_json.index('"version":', at) + len('"version":')
    forged = records_json[:at] + "7" + records_json[at + 1 :]
    answer = requests.post(
        f"{hub.url}/api/sync/v1/push",
        data=encode(envelope, forged),
        headers={"Authorization": f"Bearer {hub.token}", "Content-Encoding": "gzip"},
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "BAD_PAYLOAD"
    assert hub.count("dossier") == 0
    honest = requests.post(
        f"{hub.url}/api/sync/v1/push",
        data=encode(envelope, records_json),
        headers={"Authorization": f"Bearer {hub.token}", "Content-Encoding": "gzip"},
        timeout=10,
    )
    assert honest.status_code == 200 and honest.json()["summary"]["stale"] > 0


def test_replayed_batch_with_placeholders_counts_once(app, hub):
    """G2, T5: a batch with placeholders delivered twice gets its stored answer; then a run
    finds nothing to send and the hub matches the ward."""
    busy_dossiers(3)
    hello(hub)
    batch = next_batch(0, placeholders=True)
    first, second = push(hub, batch), push(hub, batch)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and first.json()["summary"]["stale"] > 0
    assert len(stored_summaries(hub)) == 1
    assert run(hub) == EXIT_OK and hub_matches_ward(hub)
    assert hub.count("dossier") == 3


def test_usb_round_trip_with_placeholders(app, hub, old_hub, tmp_path):
    """A package exported compact says protocol 2 and carries placeholders; a new hub applies
    it (stale counted, same rows as a full package), a second import changes nothing, the
    summary moves the ward's checkpoint; a hub of protocol 1 refuses it whole."""
    from city_hub.extensions import db as hub_db
    from city_hub.usb import import_package
    from wardapp.sync.package import read_manifest

    busy_dossiers(3)
    config, old_config = SyncConfig(hub.url, hub.token), SyncConfig(old_hub.url, old_hub.token)
    compact = export_package(tmp_path, config, placeholders=True)
    compact_for_old = export_package(tmp_path, old_config, placeholders=True)
    full_for_old = export_package(tmp_path, old_config)
    with zipfile.ZipFile(compact) as archive:
        manifest = read_manifest(archive)
        assert manifest["protocol_version"] == PLACEHOLDER_PROTOCOL
        body = gzip.decompress(archive.read(manifest["members"][0]["name"]))
    assert b'"superseded":true' in body
    with hub.app.app_context():
        result = import_package(compact, hub.app.config)
        again = import_package(compact, hub.app.config)
        hub_db.session.remove()
    assert result.ok and again.ok and again.applied == result.applied
    assert sum(a["answer"]["summary"]["stale"] for a in result.applied) == superseded_in_outbox()
    with old_hub.app.app_context():
        refused = import_package(compact_for_old, old_hub.app.config)
        assert refused.error.code == "VERSION_UNSUPPORTED" and not refused.applied
        assert old_hub.count("dossier") == 0
        taken = import_package(full_for_old, old_hub.app.config)
        hub_db.session.remove()
    assert taken.ok and old_hub.count("dossier") == 3
    assert hub_tables(hub) == hub_tables(old_hub)
    acked, error = import_summary(result.summary_json, config)
    assert error is None and acked == db.session.scalar(sa.select(sa.func.max(Outbox.seq)))
    assert hub_matches_ward(hub)


def test_export_command_writes_a_compact_package(app, tmp_path, monkeypatch):
    """``wardapp sync export --compact`` writes the package with placeholders."""
    from click.testing import CliRunner

    from wardapp.cli import cli
    from wardapp.sync.package import read_manifest

    runner = CliRunner()
    monkeypatch.setenv("WARDAPP_SECRET_KEY", "test")
    SyncConfig("http://127.0.0.1:9", "khoa-thu").save(app.instance_path)
    busy_dossiers(1)
    out = tmp_path / "usb"
    out.mkdir()
    result = runner.invoke(
        cli, ["sync", "export", "--out", str(out), "--compact", "--instance", app.instance_path]
    )
    assert result.exit_code == 0, result.output
    assert "--compact" in CliRunner().invoke(cli, ["sync", "export", "--help"]).output
    (package,) = out.glob("*.syncpkg")
    with zipfile.ZipFile(package) as archive:
        assert read_manifest(archive)["protocol_version"] == PLACEHOLDER_PROTOCOL
