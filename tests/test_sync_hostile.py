"""The hub's sync API against hostile and careless bodies, over real HTTP to a real waitress
hub, on SQLite and on PostgreSQL: every one is answered below 500 with a structured error, a
bad record is rejected alone (quarantined, the rest of the batch applied), and nothing of a
refused body is written.
"""

from __future__ import annotations

import gzip
import json
import threading
import uuid as uuid_module

import pytest
import requests
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wardapp.sync import client as sync_client
from wardapp.sync.outgoing import next_batch
from wardapp.sync.protocol import WIRE_SCHEMA_VERSION, encode, records_digest

from .test_sync import hello, push, write_dossiers

HEADERS = {"Content-Encoding": "gzip"}


def post(hub, path, body: bytes, token=None, gzip_it=True) -> requests.Response:
    return requests.post(
        f"{hub.url}/api/sync/v1/{path}",
        data=gzip.compress(body) if gzip_it else body,
        timeout=30,
        headers={
            "Authorization": f"Bearer {token or hub.token}",
            **(HEADERS if gzip_it else {"Content-Type": "application/json"}),
        },
    )


def assert_refused(answer: requests.Response, code: str = "BAD_PAYLOAD") -> None:
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"]["code"] == code
    assert "Traceback" not in answer.text


def hub_state(hub) -> tuple:
    return tuple(hub.count(t) for t in ("dossier", "dossier_event", "user")), hub.ward().acked_seq


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_nesting_deeper_than_the_parser_is_refused_in_hello_and_push(app, hub):
    write_dossiers(1)
    hello(hub)
    before = hub_state(hub)
    body = json.dumps(sync_client.hello_body())[:-1] + f', "deep": {nested(20_000)}}}'
    assert_refused(post(hub, "hello", body.encode(), gzip_it=False))
    batch = next_batch(0)
    text = json.dumps(batch)[:-1] + f', "deep": {nested(100_000)}}}'
    assert_refused(post(hub, "push", text.encode()))
    # Nesting the parser takes, in a field the hub does not know or in a JSON column deeper
    # than any record has: that record alone is rejected, or the body refused, never a 500.
    event = next(r for r in batch["records"] if r["table"] == "dossier_event")
    batch["records"][0]["data"]["extra"] = json.loads(nested(800))
    event["data"]["data"] = json.loads(nested(50))
    batch["sha256"] = records_digest(batch["records"])
    answer = post(hub, "push", json.dumps(batch).encode())
    assert answer.status_code < 500, answer.text
    if answer.status_code == 200:
        summary = answer.json()["summary"]
        assert summary["received"] == sum(v for k, v in summary.items() if k != "received")
        assert event["uuid"] in {r["uuid"] for r in answer.json()["rejects"]}
    else:
        assert hub_state(hub) == before


def test_a_lone_surrogate_is_refused_whole(app, hub):
    write_dossiers(1)
    hello(hub)
    before = hub_state(hub)
    body = json.dumps(sync_client.hello_body() | {"app_version": "\ud800"})
    assert "\\ud800" in body
    assert_refused(post(hub, "hello", body.encode(), gzip_it=False))
    batch = next_batch(0)
    batch["records"][0]["data"]["applicant_name"] = "Nguy\udc00n"
    text = json.dumps(batch)  # ensure_ascii: the surrogate travels as an escape
    assert_refused(post(hub, "push", text.encode()))
    raw = json.dumps(batch, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert_refused(post(hub, "push", raw))
    # A well-formed pair of escapes is one character and passes.
    batch["records"][0]["data"]["applicant_name"] = "Nguyễn \U0001f600"
    batch["sha256"] = records_digest(batch["records"])
    answer = post(hub, "push", json.dumps(batch).encode())
    assert answer.status_code == 200, answer.text
    assert before[0] != hub_state(hub)[0]


@pytest.mark.parametrize("field", ["first_seq", "last_seq", "count"])
def test_envelope_integers_past_64_bits_are_refused(app, hub, field):
    write_dossiers(1)
    hello(hub)
    before = hub_state(hub)
    batch = next_batch(0)
    batch[field] = 2**70
    assert_refused(post(hub, "push", json.dumps(batch).encode()))
    assert hub_state(hub) == before


@pytest.mark.parametrize("value", [2**64, 2**62 + 1, -1, 10**30])
def test_hello_heads_past_64_bits_are_refused(app, hub, value):
    before = hub_state(hub)
    body = json.dumps(sync_client.hello_body() | {"outbox_head_seq": value})
    assert_refused(post(hub, "hello", body.encode(), gzip_it=False))
    assert hub_state(hub) == before


def test_record_integers_past_the_column_are_rejected_alone(app, hub):
    """A version or a count past what the column stores (PostgreSQL's integer is 32 bits) is
    that record's rejection; the rest of the batch applies."""
    write_dossiers(2)
    hello(hub)
    batch = next_batch(0)
    dossiers = [r for r in batch["records"] if r["table"] == "dossier"]
    dossiers[0]["data"]["sets_count"] = 2**40
    dossiers[-1]["version"] = dossiers[-1]["data"]["version"] = 2**63
    batch["sha256"] = records_digest(batch["records"])
    answer = push(hub, batch)
    assert answer.status_code == 200, answer.text
    codes = {(r["uuid"], r["code"]) for r in answer.json()["rejects"]}
    assert (dossiers[0]["uuid"], "INVALID") in codes
    assert (dossiers[-1]["uuid"], "INVALID") in codes
    assert hub.count("dossier_event") > 0  # the rest arrived
    from city_hub.extensions import db as hub_db
    from city_hub.models import Quarantine

    with hub.app.app_context():
        versions = hub_db.session.scalars(sa.select(Quarantine.record_version)).all()
    assert all(v is None or v < 2**31 for v in versions)


def test_a_nul_character_is_rejected_alone_on_both_databases(app, hub):
    """SQLite stores a NUL, PostgreSQL refuses it: the hub refuses it on both, so one such
    record never blocks the ward's queue and a hub moves between them without loss."""
    write_dossiers(2)
    hello(hub)
    batch = next_batch(0)
    poisoned = next(r for r in batch["records"] if r["table"] == "dossier_event")
    poisoned["data"]["reason"] = "Bổ sung\x00 giấy tờ"
    batch["records"][0]["data"]["documents"] = [{"name": "nul\x00 in json", "required": True}]
    batch["sha256"] = records_digest(batch["records"])
    answer = push(hub, batch)
    assert answer.status_code == 200, answer.text
    rejects = answer.json()["rejects"]
    assert [(r["uuid"], r["code"]) for r in rejects] == [(poisoned["uuid"], "INVALID")]
    assert "reason" in rejects[0]["message"]
    assert hub.count("dossier") == 2
    assert (
        hub.count("dossier_event")
        == sum(r["table"] == "dossier_event" for r in batch["records"]) - 1
    )


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+07:00"])
def test_times_without_a_utc_equivalent_are_rejected_alone(app, hub, when):
    write_dossiers(1)
    hello(hub)
    batch = next_batch(0)
    dossier = next(r for r in batch["records"] if r["table"] == "dossier")
    dossier["data"]["received_at"] = when
    batch["sha256"] = records_digest(batch["records"])
    answer = push(hub, batch)
    assert answer.status_code == 200, answer.text
    assert {r["code"] for r in answer.json()["rejects"]} <= {"INVALID", "NO_SUCCESSOR"}
    assert dossier["uuid"] in {r["uuid"] for r in answer.json()["rejects"]}


@pytest.mark.parametrize(
    "clock", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+07:00", "2026-13-40", None, 5]
)
def test_a_clock_in_any_year_is_only_a_warning(app, hub, clock):
    body = sync_client.hello_body() | {"ward_utc": clock}
    answer = requests.post(
        f"{hub.url}/api/sync/v1/hello",
        json=body,
        timeout=10,
        headers={"Authorization": f"Bearer {hub.token}"},
    )
    assert answer.status_code == 200, answer.text
    skew = hub.ward().clock_skew_s
    assert skew is None or abs(skew) < 2**31
    if isinstance(clock, str) and clock.startswith("9999"):
        assert [w["code"] for w in answer.json()["warnings"]] == ["CLOCK_SKEW"]


def test_odd_records_query_values_are_refused(app, hub):
    for after in ("\x00", "x" * 5000):
        answer = requests.get(
            f"{hub.url}/api/sync/v1/records",
            timeout=10,
            params={"table": "dossier", "after": after},
            headers={"Authorization": f"Bearer {hub.token}"},
        )
        assert_refused(answer)
    answer = requests.get(
        f"{hub.url}/api/sync/v1/records",
        timeout=10,
        params={"table": "dossier", "limit": str(10**30)},
        headers={"Authorization": f"Bearer {hub.token}"},
    )
    assert_refused(answer)


def test_a_record_the_database_refuses_is_rejected_alone(app, hub):
    """Whatever the hub's checks miss, the database has the last word: a record it refuses
    (here a real constraint added to the hub's table) is rejected and quarantined alone as
    DATABASE_REFUSED, the rest of the batch applies, and the summary still adds up."""
    from city_hub.extensions import db as hub_db

    codes = write_dossiers(3)
    with hub.app.app_context():
        with hub_db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(
                    f"ALTER TABLE dossier ADD CONSTRAINT refuse_one CHECK (code <> '{codes[1]}')"
                )
            else:
                conn.exec_driver_sql(
                    "CREATE TRIGGER refuse_one BEFORE INSERT ON dossier "
                    f"WHEN NEW.code = '{codes[1]}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
    hello(hub)
    batch = next_batch(0)
    answer = push(hub, batch)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    refused = {r["code"] for r in result["rejects"]}
    assert refused == {"DATABASE_REFUSED"}
    summary = result["summary"]
    assert summary["received"] == sum(v for k, v in summary.items() if k != "received")
    assert hub.count("dossier") == 2
    with hub.app.app_context():
        stored = set(hub_db.session.scalars(sa.text("SELECT code FROM dossier")))
    assert stored == {codes[0], codes[2]}


def test_two_wards_racing_with_one_new_uuid_end_as_the_sequential_case(app, hub):
    """Two units push a record with the same new uuid at the same moment, 20 times: every
    answer is a 200, one unit's record is stored and the other's is refused UUID_TAKEN, as when
    they come one after the other."""
    from .conftest import WARD
    from .test_sync_ownership import ATTACKER, Attacker

    write_dossiers(1)
    template = next(r for r in next_batch(0)["records"] if r["table"] == "user")
    units = [Attacker(hub, ATTACKER), Attacker(hub, WARD)]
    for _ in range(20):
        shared = str(uuid_module.uuid4())
        barrier = threading.Barrier(len(units))
        results = {}

        def send(unit):
            data = dict(template["data"], uuid=shared, ward_code=unit.code, version=1)
            barrier.wait()
            results[unit.code] = unit.send([("user", data)])

        threads = [threading.Thread(target=send, args=(unit,)) for unit in units]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert {r.status_code for r in results.values()} == {200}, [
            r.text for r in results.values()
        ]
        outcomes = sorted(
            (r.json()["summary"]["inserted"], r.json()["summary"]["conflicts"])
            for r in results.values()
        )
        assert outcomes == [(0, 1), (1, 0)]
        assert [reject["code"] for r in results.values() for reject in r.json()["rejects"]] == [
            "UUID_TAKEN"
        ]


# --- Properties: any body the hub is sent ----------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
record_fields = st.fixed_dictionaries(
    {},
    optional={
        "seq": json_values | st.integers(1, 3),
        "table": json_values
        | st.sampled_from(["dossier", "dossier_event", "user", "rating", "letter"]),
        "uuid": json_values | st.just(str(uuid_module.uuid4())),
        "op": st.just("upsert") | json_values,
        "version": json_values | st.integers(0, 3),
        "data": json_values,
        "superseded": st.just(True) | json_values,
    },
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(records=st.lists(record_fields, min_size=1, max_size=3), extra=json_values)
def test_any_batch_is_answered_below_500_and_adds_up(app, hub, records, extra):
    acked = hub.ward().acked_seq
    for offset, record in enumerate(records):
        record.setdefault("seq", acked + 1 + offset)
    batch = {
        "first_seq": acked + 1,
        "last_seq": acked + len(records),
        "count": len(records),
        "records": records,
        "extra": extra,
        "protocol_version": 1,
        "schema_version": WIRE_SCHEMA_VERSION,
    }
    try:
        batch["sha256"] = records_digest(records)
    except ValueError:
        batch["sha256"] = "x"
    answer = requests.post(
        f"{hub.url}/api/sync/v1/push",
        data=encode(batch),
        timeout=30,
        headers={"Authorization": f"Bearer {hub.token}", **HEADERS},
    )
    assert answer.status_code < 500, answer.text
    if answer.status_code == 200:
        summary = answer.json()["summary"]
        assert (
            summary["received"]
            == len(records)
            == sum(v for k, v in summary.items() if k != "received")
        )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=st.dictionaries(
        st.sampled_from(
            [
                "ward_code",
                "db_instance_id",
                "protocol_version",
                "schema_version",
                "app_version",
                "outbox_head_seq",
                "local_acked_seq",
                "ward_utc",
            ]
        ),
        json_values,
        max_size=4,
    )
)
def test_any_hello_is_answered_below_500(app, hub, changes):
    answer = post(
        hub, "hello", json.dumps(sync_client.hello_body() | changes).encode(), gzip_it=False
    )
    assert answer.status_code < 500, answer.text
