"""Sync against a real waitress hub over real HTTP on loopback (docs/guarantees.md: G1–G12, T1–T24).

Each test names the guarantees (G) and fault tests (T) it stands for.
"""

import gzip
import json

import pytest
import requests
import sqlalchemy as sa

from wardapp.dossiers.service import receive_dossier, record_step
from wardapp.extensions import db
from wardapp.models import CalendarOverride, Outbox, SyncReject
from wardapp.sync import client as sync_client
from wardapp.sync.client import (
    EXIT_AUTH,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_STOPPED,
    HubClient,
    SyncConfig,
    SyncRun,
)
from wardapp.sync.outgoing import local_reconcile, next_batch, sync_state
from wardapp.sync.protocol import encode, record_digest

from .conftest import account, intake_data

QUIET = {"retries": 1, "backoff": 0, "sleep": lambda s: None, "timeout": 10}


def client_for(hub, token=None, url=None, **overrides):
    return HubClient(SyncConfig(url or hub.url, token or hub.token), **{**QUIET, **overrides})


def run(hub, **kwargs) -> int:
    client_args = {k: kwargs.pop(k) for k in ("token", "url", "session") if k in kwargs}
    return SyncRun(client_for(hub, **client_args), **kwargs).run()


def write_dossiers(count: int) -> list[str]:
    """``count`` dossiers, each received and handed over (two versions, two events)."""
    codes = []
    officer = account("chuyenvien")
    for _ in range(count):
        dossier, _ = receive_dossier(intake_data(), actor=account("letan"))
        record_step(dossier.code, "handed_over", actor=account("letan"), to_user_uuid=officer.uuid)
        codes.append(dossier.code)
    return codes


def hub_matches_ward(hub) -> bool:
    remote = client_for(hub).answer(client_for(hub).call("GET", "reconcile"))["tables"]
    return remote == local_reconcile()


def outbox_head():
    return db.session.scalar(sa.select(sa.func.max(Outbox.seq)))


def test_clean_run_delivers_everything_once(app, hub):
    """G1, G9: every record reaches the hub; the reconcile checksums agree."""
    write_dossiers(5)
    assert run(hub) == EXIT_OK
    state = sync_state()
    assert state.acked_seq == outbox_head()
    assert state.last_push_ok_utc and state.last_pull_ok_utc and state.refdata_version == 1
    summary = state.last_summary
    assert summary["received"] == sum(
        summary[k] for k in ("inserted", "updated", "unchanged", "stale", "rejected", "conflicts")
    )
    assert hub.count("dossier") == 5 and hub.count("dossier_event") == 10
    assert hub_matches_ward(hub)
    assert hub.ward().acked_seq == state.acked_seq
    # A second run has nothing to send and changes nothing.
    assert run(hub) == EXIT_OK
    assert hub.count("dossier") == 5 and hub_matches_ward(hub)


def test_audit_trail_reaches_the_hub(app, hub):
    from wardapp.audit import audit

    audit("user.disable", "letan", actor="quantri")
    db.session.commit()
    assert run(hub) == EXIT_OK
    assert hub.count("audit_log") == 1 and hub_matches_ward(hub)


def test_new_versions_update_the_hub(app, hub):
    codes = write_dossiers(2)
    assert run(hub) == EXIT_OK
    record_step(codes[0], "resolved", actor=account("chuyenvien"))
    assert run(hub) == EXIT_OK
    assert sync_state().last_summary["updated"] == 1
    assert hub_matches_ward(hub)


def push(hub, batch, token=None):
    return requests.post(
        f"{hub.url}/api/sync/v1/push",
        data=encode(batch),
        headers={"Authorization": f"Bearer {token or hub.token}", "Content-Encoding": "gzip"},
        timeout=10,
    )


def hello(hub):
    return client_for(hub).answer(
        client_for(hub).call("POST", "hello", json=sync_client.hello_body())
    )


def test_replayed_batch_gets_its_stored_summary(app, hub):
    """G2, T5: a batch delivered twice counts once."""
    write_dossiers(2)
    hello(hub)
    batch = next_batch(0)
    first = push(hub, batch)
    second = push(hub, batch)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert hub.count("dossier") == 2


def test_records_of_any_json_shape_are_rejected_one_by_one(app, hub):
    """A record whose envelope holds lists, objects or numbers where names belong is rejected
    with a reason, the rest of the batch applied: never a 500."""
    from wardapp.sync.protocol import records_digest

    write_dossiers(2)
    hello(hub)
    batch = next_batch(0)
    batch["records"][0]["table"] = ["dossier"]
    batch["records"][1]["uuid"] = {"uuid": batch["records"][1]["uuid"]}
    batch["records"][2]["version"] = "1"
    batch["sha256"] = records_digest(batch["records"])
    answer = push(hub, batch)
    assert answer.status_code == 200, answer.text
    summary = answer.json()["summary"]
    assert summary["rejected"] == 3 and summary["received"] == batch["count"]


def test_same_range_other_content_is_refused(app, hub):
    """SEQ_REUSED: a replay whose bytes differ is a restored or cloned ward, never applied."""
    write_dossiers(1)
    hello(hub)
    batch = next_batch(0)
    assert push(hub, batch).status_code == 200
    batch["records"][0]["data"]["applicant_name"] = "Người khác"
    from wardapp.sync.protocol import records_digest

    batch["sha256"] = records_digest(batch["records"])
    refused = push(hub, batch)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "SEQ_REUSED"


def test_out_of_order_batch_is_a_gap_and_heals(app, hub):
    """G3, T6: a later batch first is refused with GAP; the runner resends from the hub's seq."""
    write_dossiers(3)
    hello(hub)
    first = next_batch(0)
    rows = first["records"]
    later = dict(first, records=rows[2:], first_seq=rows[2]["seq"], count=len(rows) - 2)
    from wardapp.sync.protocol import records_digest

    later["sha256"] = records_digest(later["records"])
    refused = push(hub, later)
    assert refused.status_code == 409
    assert refused.json()["error"] == {**refused.json()["error"], "code": "GAP", "expected": 1}
    assert hub.count("dossier") == 0
    sync_state().acked_seq = 2  # the ward wrongly believes two rows were taken
    db.session.commit()
    assert run(hub) == EXIT_OK
    assert hub_matches_ward(hub)


def test_stale_version_never_overwrites(app, hub):
    """T7, G3: an old version replayed under a new sequence number is counted stale."""
    codes = write_dossiers(1)
    assert run(hub) == EXIT_OK
    old = db.session.scalar(
        sa.select(Outbox).where(Outbox.table_name == "dossier").order_by(Outbox.seq)
    )
    record_step(codes[0], "resolved", actor=account("chuyenvien"))
    assert run(hub) == EXIT_OK
    # Queue the version-1 snapshot again, as a re-sent outbox row would.
    db.session.add(
        Outbox(
            table_name="dossier",
            record_uuid=old.record_uuid,
            op="upsert",
            record_version=old.record_version,
            payload=old.payload,
            payload_sha256=old.payload_sha256,
        )
    )
    db.session.commit()
    assert run(hub) == EXIT_OK
    assert sync_state().last_summary["stale"] == 1
    remote = client_for(hub).answer(client_for(hub).call("GET", "reconcile"))["tables"]
    assert remote["dossier"] == local_reconcile()["dossier"]


def test_lost_acknowledgement_heals_at_hello(app, hub, monkeypatch):
    """T1, G4: the ward dies after the hub committed but before recording the ack."""
    write_dossiers(2)
    monkeypatch.setenv("SYNC_FAULTS", "ward.after_response_before_local_commit=raise")
    with pytest.raises(Exception, match="ward.after_response_before_local_commit"):
        run(hub)
    db.session.rollback()
    assert sync_state().acked_seq == 0
    monkeypatch.delenv("SYNC_FAULTS")
    assert run(hub) == EXIT_OK
    assert sync_state().acked_seq == outbox_head()
    assert hub.count("dossier") == 2 and hub_matches_ward(hub)


def test_hub_failure_before_commit_applies_nothing(app, hub, monkeypatch):
    """T2, G5: a hub fault mid-apply rolls the whole batch back; the next run delivers it."""
    write_dossiers(2)
    monkeypatch.setenv("SYNC_FAULTS", "hub.after_apply_before_commit=raise")
    assert run(hub) == EXIT_FAILED
    assert hub.count("dossier") == 0 and hub.ward().acked_seq == 0
    assert sync_state().acked_seq == 0 and sync_state().last_push_ok_utc is None
    monkeypatch.delenv("SYNC_FAULTS")
    assert run(hub) == EXIT_OK and hub_matches_ward(hub)


def test_hub_down_changes_nothing_and_says_so(app, hub):
    """T4, G12: no hub, exit 2, outbox untouched, "last OK" not moved, error shown."""
    write_dossiers(1)
    assert run(hub) == EXIT_OK
    ok_at = sync_state().last_push_ok_utc
    write_dossiers(1)
    assert run(hub, url="http://127.0.0.1:9") == EXIT_FAILED
    state = sync_state()
    assert state.last_push_ok_utc == ok_at and state.consecutive_failures == 1
    assert "Không kết nối được" in state.last_error
    assert state.acked_seq < outbox_head()
    assert run(hub) == EXIT_OK and sync_state().consecutive_failures == 0


@pytest.mark.parametrize("damage", ["truncate", "flip", "not_gzip", "bomb"])
def test_damaged_payloads_are_refused_whole(app, hub, damage):
    """T8, T9, zip bomb: 400/413, nothing applied."""
    write_dossiers(2)
    hello(hub)
    body = encode(next_batch(0))
    if damage == "truncate":
        body = body[: len(body) // 2]
    elif damage == "flip":
        raw = bytearray(gzip.decompress(body))
        raw[raw.index(b"Nguy")] ^= 0x01
        body = gzip.compress(bytes(raw))
    elif damage == "not_gzip":
        body = b"<html>hello</html>"
    else:
        body = gzip.compress(b"{" + b" " * (30 * 1024 * 1024) + b"}")
    response = requests.post(
        f"{hub.url}/api/sync/v1/push",
        data=body,
        timeout=10,
        headers={"Authorization": f"Bearer {hub.token}", "Content-Encoding": "gzip"},
    )
    assert response.status_code in (400, 413)
    assert response.json()["error"]["code"] in ("BAD_PAYLOAD", "TOO_LARGE")
    assert hub.count("dossier") == 0 and hub.ward().acked_seq == 0


def test_captive_portal_page_is_not_success(app, hub):
    """T10, G4, G12: a 200 HTML page from a proxy never moves the checkpoint."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Portal(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body>Dang nhap Wi-Fi</body></html>")

        do_GET = do_POST

        def log_message(self, *args):
            pass

    portal = HTTPServer(("127.0.0.1", 0), Portal)
    threading.Thread(target=portal.serve_forever, daemon=True).start()
    try:
        write_dossiers(1)
        assert run(hub, url=f"http://127.0.0.1:{portal.server_port}") == EXIT_FAILED
    finally:
        portal.shutdown()
        portal.server_close()
    state = sync_state()
    assert state.acked_seq == 0 and state.last_push_ok_utc is None
    assert state.last_error_code == "BAD_ANSWER"


def test_forged_ward_code_goes_to_quarantine(app, hub):
    """T14, G6: a record naming another ward is a conflict; the other ward's data is untouched."""
    write_dossiers(2)
    hello(hub)
    batch = next_batch(0)
    forged = next(r for r in batch["records"] if r["table"] == "dossier")
    forged["data"]["ward_code"] = "30283"
    from wardapp.sync.protocol import records_digest

    batch["sha256"] = records_digest(batch["records"])
    answer = push(hub, batch).json()
    assert answer["summary"]["conflicts"] == 1
    assert answer["rejects"][0]["code"] == "WRONG_WARD"
    assert hub.count("dossier", "30283") == 0
    # The envelope may not claim another ward either.
    batch["ward_code"] = "30283"
    refused = push(hub, dict(batch, first_seq=batch["first_seq"]))
    assert refused.status_code in (403, 200)  # a replay of the applied range answers 200 …
    fresh = dict(next_batch(batch["last_seq"]) or batch, ward_code="30283")
    assert push(hub, fresh).status_code in (403, 200)
    hello_forged = requests.post(
        f"{hub.url}/api/sync/v1/hello",
        timeout=10,
        json={**sync_client.hello_body(), "ward_code": "30283"},
        headers={"Authorization": f"Bearer {hub.token}"},
    )
    assert hello_forged.status_code == 403


def test_uuid_owned_by_another_ward_is_a_conflict(app, hub):
    """T14, G6: ward B cannot overwrite a record ward A owns, even with the same uuid."""
    write_dossiers(1)
    assert run(hub) == EXIT_OK
    hello_b = sync_client.hello_body() | {
        "ward_code": "30283",
        "db_instance_id": "b" * 36,
        "outbox_head_seq": 100,
    }
    token_b = hub.tokens["30283"]
    assert (
        requests.post(
            f"{hub.url}/api/sync/v1/hello",
            json=hello_b,
            timeout=10,
            headers={"Authorization": f"Bearer {token_b}"},
        ).status_code
        == 200
    )
    batch = next_batch(0)
    for record in batch["records"]:
        record["data"]["ward_code"] = "30283"
    from wardapp.sync.protocol import records_digest

    batch.update(ward_code="30283", sha256=records_digest(batch["records"]))
    answer = push(hub, batch, token=token_b).json()
    assert answer["summary"]["conflicts"] == answer["summary"]["received"]
    assert {r["code"] for r in answer["rejects"]} == {"UUID_TAKEN"}
    assert hub_matches_ward(hub)


def test_poison_record_is_rejected_and_the_rest_applied(app, hub):
    """T19: one bad record does not block the queue; the ward lists it with the reason. The
    poisoned version is the dossier's newest, so its earlier version, sent as a superseded
    placeholder, is rejected with it: the hub has no version of it to keep."""
    write_dossiers(2)
    bad = db.session.scalar(
        sa.select(Outbox)
        .where(Outbox.table_name == "dossier")
        .order_by(Outbox.record_version.desc(), Outbox.seq)
    )
    payload = json.loads(bad.payload)
    payload["received_at"] = "not a time"
    bad.payload = json.dumps(payload)
    db.session.commit()
    assert run(hub) == EXIT_OK
    summary = sync_state().last_summary
    assert summary["rejected"] == 2 and summary["received"] == outbox_head()
    rejects = {r.code: r for r in db.session.scalars(sa.select(SyncReject))}
    assert rejects.keys() == {"INVALID", "NO_SUCCESSOR"}
    assert rejects["INVALID"].record_uuid == bad.record_uuid
    assert "received_at" in rejects["INVALID"].message
    assert rejects["NO_SUCCESSOR"].record_uuid == bad.record_uuid
    assert rejects["NO_SUCCESSOR"].record_version == bad.record_version - 1
    assert hub.count("dossier") == 1 and hub.count("dossier_event") == 4  # the rest arrived


def test_version_outside_window_applies_nothing(app, tmp_path):
    """T15, G7: the hub accepts only newer wards; nothing applied, outbox intact, exit 3."""
    from wardapp.sync.protocol import WIRE_SCHEMA_VERSION

    from .conftest import Hub, LiveServer, make_hub

    hub_app, tokens = make_hub(
        tmp_path / "newhub", SYNC_ACCEPT_SCHEMA=(WIRE_SCHEMA_VERSION + 1, WIRE_SCHEMA_VERSION + 2)
    )
    with LiveServer(hub_app) as url:
        newer = Hub(hub_app, url, tokens["30280"])
        write_dossiers(1)
        before = outbox_head()
        assert run(newer) == EXIT_STOPPED
        assert sync_state().last_error_code == "VERSION_UNSUPPORTED"
        assert newer.count("dossier") == 0
        write_dossiers(1)  # the desk keeps working
        assert outbox_head() > before
        assert "cần nâng cấp" in newer.ward().last_error


def test_reference_data_jumps_to_newest_atomically(app, hub):
    """G8, T22: v2 and v3 published while the ward is away; it lands on v3 whole."""
    from city_hub.extensions import db as hub_db
    from city_hub.refdata import publish
    from kernel.refdata import snapshot_from_files

    with hub.app.app_context():
        snapshot = snapshot_from_files()
        publish(snapshot)
        snapshot["calendar_overrides"] = [
            {"day": "2026-12-31", "is_working_day": False, "reason": "Nghỉ bù theo quyết định"}
        ]
        snapshot["procedures"] = snapshot["procedures"][1:]
        publish(snapshot)
        hub_db.session.commit()
    assert run(hub) == EXIT_OK
    assert sync_state().refdata_version == 3
    override = db.session.get(CalendarOverride, __import__("datetime").date(2026, 12, 31))
    assert override is not None and not override.is_working_day
    from wardapp.models import Procedure

    dropped = db.session.get(Procedure, snapshot_from_files()["procedures"][0]["code"])
    assert dropped is not None and not dropped.active


def test_corrupted_reference_data_leaves_the_old_intact(app, hub, monkeypatch):
    """G8: a snapshot whose hash does not match is not applied at all."""
    from wardapp.sync.client import SyncFailed, apply_refdata

    before = local_reconcile()
    with pytest.raises(SyncFailed):
        apply_refdata({"version": 9, "sha256": "0" * 64, "snapshot": {"units": []}})
    assert sync_state().refdata_version == 0 and local_reconcile() == before
    from wardapp.models import Procedure

    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Procedure).where(Procedure.active))
        >= 25
    )


def test_revoked_credential_stops_with_auth_exit(app, hub):
    """T21: 401 is not retried; exit 4; a rotated credential works."""
    from city_hub.extensions import db as hub_db
    from city_hub.models import Ward
    from city_hub.wards import issue_credential

    write_dossiers(1)
    with hub.app.app_context():
        ward = hub_db.session.get(Ward, "30280")
        new_token = issue_credential(ward)
        hub_db.session.commit()
    assert run(hub) == EXIT_AUTH
    assert sync_state().acked_seq == 0
    assert run(hub, token=new_token) == EXIT_OK


def test_clock_skew_is_only_a_warning(app, hub, monkeypatch):
    """T11, G11: a ward clock a year off changes nothing but a warning."""
    import datetime as dt

    write_dossiers(1)
    real = sync_client.hello_body
    monkeypatch.setattr(
        sync_client,
        "hello_body",
        lambda: {
            **real(),
            "ward_utc": (dt.datetime.now(dt.UTC) + dt.timedelta(days=365)).isoformat(),
        },
    )
    assert run(hub) == EXIT_OK
    assert sync_state().hub_warnings[0]["code"] == "CLOCK_SKEW"
    assert hub.ward().clock_skew_s > 360 * 86400
    assert hub_matches_ward(hub)


def batch_ranges(hub) -> list[tuple[int, int]]:
    from city_hub.extensions import db as hub_db
    from city_hub.models import ImportBatch

    with hub.app.app_context():
        return [
            (b.first_seq, b.last_seq)
            for b in hub_db.session.scalars(sa.select(ImportBatch).order_by(ImportBatch.first_seq))
        ]


@pytest.mark.parametrize("hub_takes, sent", [(300, 300), (None, 500), (5000, 1000)])
def test_batch_size_is_what_the_hub_takes(app, hub, monkeypatch, hub_takes, sent):
    """A hub says at hello how many records a batch may hold; a hub that does not say (an older
    release) gets the 500 every release takes; a ward never sends more than 1,000."""
    import city_hub.sync

    monkeypatch.setattr(city_hub.sync, "MAX_BATCH_RECORDS", hub_takes)
    write_dossiers(600)  # 2,400 outbox rows
    assert run(hub) == EXIT_OK and hub_matches_ward(hub)
    ranges = batch_ranges(hub)
    assert max(last - first + 1 for first, last in ranges) == sent
    assert ranges[-1][1] == outbox_head()


def test_rows_written_before_canonical_payloads_sync_the_same(app, hub):
    """Outbox rows from before payloads were stored canonical (json.dumps' blanks) travel and
    hash exactly as new ones: the hub's record digests equal the ward's."""
    write_dossiers(3)
    for row in db.session.scalars(sa.select(Outbox)):
        row.payload = json.dumps(json.loads(row.payload), ensure_ascii=False, sort_keys=True)
    db.session.commit()
    assert ": " in db.session.scalar(sa.select(Outbox.payload).limit(1))
    write_dossiers(1)  # and new, canonical rows after them
    assert run(hub) == EXIT_OK and hub_matches_ward(hub)
    from city_hub.extensions import db as hub_db
    from city_hub.models import RECORD_TABLES

    t = RECORD_TABLES["dossier"]
    with hub.app.app_context():
        held = {
            uuid: digest
            for uuid, digest in hub_db.session.execute(sa.select(t.c.uuid, t.c.sync_sha256))
        }
    latest = {
        row.record_uuid: row.payload
        for row in db.session.scalars(
            sa.select(Outbox).where(Outbox.table_name == "dossier").order_by(Outbox.seq)
        )
    }
    assert len(held) == len(latest) == 4
    assert held == {uuid: record_digest(json.loads(payload)) for uuid, payload in latest.items()}


def test_time_budget_makes_progress_across_runs(app, hub):
    """T18 (small): a run out of time ends partial; the next carries on from the checkpoint."""
    write_dossiers(600)  # 2,400 outbox rows: three batches of 1,000 at most
    ticks = iter(range(0, 10**6, 100))
    assert run(hub, time_budget=150, clock=lambda: next(ticks)) == EXIT_PARTIAL
    assert 0 < sync_state().acked_seq < outbox_head()
    assert run(hub) == EXIT_OK and hub_matches_ward(hub)


def take_backup(folder):
    """An online copy of the ward database (what a nightly backup holds)."""
    import sqlite3

    backup = folder / "backup.sqlite"
    src, dst = sqlite3.connect(db.engine.url.database), sqlite3.connect(backup)
    src.backup(dst)
    src.close(), dst.close()
    return backup


def restore_backup(backup):
    """Put ``backup`` back in place of the live database, as an admin would after a crash."""
    import shutil
    from pathlib import Path

    live = Path(db.engine.url.database)
    db.session.remove()
    db.engine.dispose()
    for suffix in ("-wal", "-shm"):
        live.with_name(live.name + suffix).unlink(missing_ok=True)
    shutil.copy(backup, live)


def test_restored_ward_database_is_stopped_and_rekeyed(app, hub, tmp_path):
    """T16, G1: a ward restored from an old backup is refused loudly; rekey sends everything
    again. The dossier received after the restore took a code the lost dossiers had already
    carried to the hub (a receipt in a citizen's hands), so the hub refuses it and the ward
    lists it, instead of holding two dossiers with one code."""
    from city_hub.extensions import db as hub_db
    from city_hub.models import Ward
    from wardapp.sync.outgoing import rekey

    write_dossiers(2)
    backup = take_backup(tmp_path)
    write_dossiers(2)
    assert run(hub) == EXIT_OK
    # The PC dies; yesterday's backup is restored and the desk writes on.
    restore_backup(backup)
    write_dossiers(1)
    assert run(hub) == EXIT_STOPPED
    assert sync_state().last_error_code == "NODE_REGRESSED"
    # The admin procedure: rekey at the ward, allow it at the hub, sync.
    rekey(hub.ward().acked_seq)
    with hub.app.app_context():
        hub_db.session.get(Ward, "30280").rekey_allowed = True
        hub_db.session.commit()
    assert run(hub) == EXIT_OK
    assert hub.count("dossier") == 4  # the 4 the hub had; the reused code is not taken twice
    assert {k: v["count"] for k, v in local_reconcile().items()}["dossier"] == 3
    assert hub.ward().rekey_allowed is False
    reused = db.session.scalars(
        sa.select(SyncReject)
        .where(SyncReject.code == "CODE_TAKEN")
        .where(SyncReject.table_name == "dossier")
    ).all()
    assert len(reused) == 1 and "đã được một hồ sơ khác dùng" in reused[0].message


def test_second_machine_with_same_credential_is_refused(app, hub, tmp_path):
    """T16: a cloned database on another PC cannot sync under the first one's identity."""
    write_dossiers(1)
    assert run(hub) == EXIT_OK
    from wardapp.models import SyncNode

    db.session.get(SyncNode, 1).db_instance_id = "clone-" + "0" * 30
    db.session.commit()
    assert run(hub) == EXIT_STOPPED
    assert sync_state().last_error_code == "NODE_REGRESSED"


def test_hub_restored_from_backup_gets_records_again(app, hub, tmp_path):
    """T17, G1: the hub loses its last batches; the ward re-pushes from its retained outbox."""
    from city_hub.extensions import db as hub_db
    from city_hub.models import RECORD_TABLES, ImportBatch, Ward

    write_dossiers(2)
    assert run(hub) == EXIT_OK
    write_dossiers(2)
    assert run(hub) == EXIT_OK
    # Roll the hub back to after the first run (what a restore of yesterday's backup does).
    keep = 8
    kept = db.session.scalar(sa.select(Outbox.payload).where(Outbox.seq == keep))
    with hub.app.app_context():
        for table in RECORD_TABLES.values():
            hub_db.session.execute(sa.delete(table).where(table.c.sync_seq > keep))
        hub_db.session.execute(sa.delete(ImportBatch).where(ImportBatch.first_seq > keep))
        restored = hub_db.session.get(Ward, "30280")
        restored.acked_seq = keep
        restored.acked_record_sha256 = record_digest(json.loads(kept))
        hub_db.session.commit()
    assert run(hub) == EXIT_OK
    assert hub.count("dossier") == 4 and hub_matches_ward(hub)


def test_overlapping_runs_take_the_lock_once(tmp_path):
    """T20: the second runner finds the lock held and does nothing."""
    from wardapp.sync.lock import SingleInstance

    with SingleInstance(tmp_path / "sync.lock") as first:
        with SingleInstance(tmp_path / "sync.lock") as second:
            assert first and not second
    with SingleInstance(tmp_path / "sync.lock") as again:
        assert again


def test_unauthenticated_and_malformed_requests(hub):
    for path, method in (
        ("hello", "post"),
        ("push", "post"),
        ("refdata", "get"),
        ("reconcile", "get"),
    ):
        response = getattr(requests, method)(f"{hub.url}/api/sync/v1/{path}", timeout=10)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
    response = requests.post(
        f"{hub.url}/api/sync/v1/hello",
        data="x",
        timeout=10,
        headers={"Authorization": f"Bearer {hub.token}"},
    )
    assert response.status_code == 400


def test_sync_panel_shows_state_and_failures(app, hub, client, auth):
    """G12: the panel shows the failure, and "last successful" does not move."""
    write_dossiers(1)
    auth.login("lanhdao")
    page = client.get("/sync/")
    assert "Chưa cấu hình" in page.text
    SyncConfig(hub.url, hub.token).save(app.instance_path)
    assert run(hub) == EXIT_OK
    page = client.get("/sync/", headers={"HX-Request": "true"})
    assert "Đã đồng bộ đầy đủ" in page.text and 'hx-trigger="every 30s,' in page.text
    ok_line = page.text.split("Gửi thành công gần nhất</dt><dd>")[1].split("<")[0]
    write_dossiers(1)
    assert run(hub, url="http://127.0.0.1:9") == EXIT_FAILED
    page = client.get("/sync/").text
    assert "Mất kết nối" in page and "1 lần lỗi liên tiếp" in page
    assert page.split("Gửi thành công gần nhất</dt><dd>")[1].split("<")[0] == ok_line


def test_sync_panel_lists_rejects_and_upgrade_needed(app, hub, client, auth):
    write_dossiers(1)
    bad = db.session.scalar(sa.select(Outbox).where(Outbox.table_name == "dossier_event"))
    bad.payload = json.dumps({**json.loads(bad.payload), "kind": None})
    db.session.commit()
    SyncConfig(hub.url, hub.token).save(app.instance_path)
    assert run(hub) == EXIT_OK
    state = sync_state()
    state.last_error_code, state.last_error = "VERSION_UNSUPPORTED", "Phiên bản cũ"
    db.session.commit()
    auth.login("quantri")
    page = client.get("/sync/").text
    assert "Cần nâng cấp phần mềm" in page
    assert bad.record_uuid in page and "Thiếu trường bắt buộc kind" in page


def test_sync_panel_is_for_admin_and_leader(client, auth):
    auth.login("letan")
    assert client.get("/sync/").status_code == 403


# --- USB packages -------------------------------------------------------------------------


def usb_import(hub, package):
    from city_hub.usb import import_package

    with hub.app.app_context():
        return import_package(package, hub.app.config)


def test_usb_round_trip_twice_and_out_of_order(app, hub, tmp_path):
    """The same code path as a push: importing twice or an older package applies nothing new;
    a package that starts after the hub's checkpoint stops with GAP and says why."""
    from wardapp.sync.usb import export_package, import_summary

    config = SyncConfig(hub.url, hub.token)
    write_dossiers(2)
    first = export_package(tmp_path, config)
    write_dossiers(2)
    second = export_package(tmp_path, config)  # holds the first package's records too
    later_only = tmp_path / "later"
    later_only.mkdir()
    # Out of order: a package of only the later records, before the hub has the earlier ones.
    sync_state().acked_seq = json.loads(__import__("zipfile").ZipFile(first).read("manifest.json"))[
        "last_seq"
    ]
    db.session.commit()
    third = export_package(later_only, config)
    sync_state().acked_seq = 0
    db.session.commit()
    refused = usb_import(hub, third)
    assert not refused.ok and refused.error.code == "GAP" and hub.count("dossier") == 0
    applied = usb_import(hub, first)
    assert applied.ok and hub.count("dossier") == 2
    again = usb_import(hub, first)
    assert again.ok and again.applied == applied.applied  # the stored summaries, nothing new
    assert hub.count("dossier") == 2
    acked, error = import_summary(again.summary_json, config)
    assert error is None and acked == applied.applied[-1]["last_seq"]
    whole = usb_import(hub, second)  # overlaps: replayed part answered from the store
    assert whole.ok and hub.count("dossier") == 4
    import_summary(whole.summary_json, config)
    assert sync_state().acked_seq == outbox_head()
    assert hub_matches_ward(hub)


def _rewrite(package, target, change):
    import zipfile

    with zipfile.ZipFile(package) as src, zipfile.ZipFile(target, "w") as out:
        entries = {name: src.read(name) for name in src.namelist()}
        for name, data in change(entries).items():
            out.writestr(name, data)
    return target


@pytest.mark.parametrize(
    "damage, code",
    [
        ("signature", "BAD_SIGNATURE"),
        ("extra_file", "BAD_PACKAGE"),
        ("escape", "BAD_PACKAGE"),
        ("truncated_member", "BAD_PACKAGE"),
        ("not_a_zip", "BAD_PACKAGE"),
        ("foreign_ward", "BAD_SIGNATURE"),
    ],
)
def test_bad_usb_packages_are_refused_with_nothing_written(app, hub, tmp_path, damage, code):
    from wardapp.sync.usb import export_package

    write_dossiers(2)
    package = export_package(tmp_path, SyncConfig(hub.url, hub.token))
    target = tmp_path / "bad.syncpkg"

    def change(entries):
        manifest = json.loads(entries["manifest.json"])
        member = next(n for n in entries if n != "manifest.json")
        if damage == "signature":
            manifest["last_seq"] += 1
        elif damage == "extra_file":
            entries["notes.txt"] = b"x"
        elif damage == "escape":
            entries["../../etc/cron.d/evil"] = b"x"
        elif damage == "truncated_member":
            entries[member] = entries[member][:40]
        elif damage == "foreign_ward":
            manifest["ward_code"] = "30283"
        entries["manifest.json"] = json.dumps(manifest).encode()
        return entries

    if damage == "not_a_zip":
        target.write_bytes(package.read_bytes()[:200])
    else:
        _rewrite(package, target, change)
    result = usb_import(hub, target)
    assert not result.ok and result.error.code == code and result.error.message
    assert hub.count("dossier") == 0 and hub.ward().acked_seq == 0
    assert not list(tmp_path.glob("**/evil"))


def test_tampered_summary_is_refused(app, hub, tmp_path):
    from wardapp.sync.protocol import ProtocolError
    from wardapp.sync.usb import export_package, import_summary

    config = SyncConfig(hub.url, hub.token)
    write_dossiers(1)
    result = usb_import(hub, export_package(tmp_path, config))
    forged = json.loads(result.summary_json)
    forged["applied"][0]["last_seq"] += 100
    with pytest.raises(ProtocolError) as refused:
        import_summary(json.dumps(forged), config)
    assert refused.value.code == "BAD_SIGNATURE" and sync_state().acked_seq == 0


def test_restored_database_that_wrote_past_the_checkpoint_is_stopped(app, hub, tmp_path):
    """T16, G1: restored from a backup, the desk writes more records than it lost, so its outbox
    head passes the hub's checkpoint again; the record at that number differs, and hello
    stops the sync before those records are skipped as "already acknowledged"."""
    write_dossiers(1)
    backup = take_backup(tmp_path)
    write_dossiers(1)
    assert run(hub) == EXIT_OK
    restore_backup(backup)
    write_dossiers(3)  # more than was lost: the head passes the hub's checkpoint
    assert outbox_head() > hub.ward().acked_seq
    assert run(hub) == EXIT_STOPPED
    assert sync_state().last_error_code == "NODE_REGRESSED"
    assert hub.count("dossier") == 2  # nothing of the diverged history was applied
