"""USB import against hostile files (issue 14, "Hold the line", class 2).

Packages are written by the ward's own ``wardapp sync export``, then damaged for real: a byte
flipped inside a zip member (its CRC no longer holds), the encrypted flag set in the local and
central headers, the manifest replaced by JSON nested past the parser's stack or holding a lone
surrogate, a member twice, fields of the wrong type in a manifest or summary that is signed all
the same, a symlink planted where a file is to be written. The real ``city-hub import`` and
``wardapp sync`` commands must end each in a Vietnamese message and exit 1 (0 where nothing is
wrong: an older package the hub holds already), never a Python exception, with nothing written at
the hub and the symlink's target untouched. The hub runs on SQLite and on PostgreSQL.

A property test (hypothesis) then mutates a valid package at random: the reader returns a valid
manifest and batches or raises :class:`ProtocolError`, nothing else.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from city_hub.extensions import db as hub_db
from city_hub.models import Ward
from wardapp import create_app
from wardapp.cli import cli as ward_cli
from wardapp.extensions import db
from wardapp.sync import package as package_module
from wardapp.sync.client import SyncConfig
from wardapp.sync.outgoing import sync_state
from wardapp.sync.package import Package, check_signature, read_summary, write_package
from wardapp.sync.protocol import (
    WIRE_SCHEMA_VERSION,
    ProtocolError,
    canonical_text,
    package_key,
    records_digest,
    sign,
)
from wardapp.sync.usb import export_package

from .test_sync import write_dossiers

VICTIM_TEXT = "tệp của người khác, không được ghi đè\n"


class Usb:
    """A ward and a running hub, each driven through its real command line."""

    def __init__(self, app, hub, folder: Path):
        self.app, self.hub, self.folder = app, hub, folder
        self.stick = folder / "usb"
        self.stick.mkdir()
        self.config = SyncConfig(hub.url, hub.token)
        self.config.save(app.instance_path)

    def ward(self, *args):
        return CliRunner().invoke(ward_cli, [*args, "--instance", self.app.instance_path])

    def hub_import(self, package: Path, *args) -> subprocess.CompletedProcess:
        """``city-hub import`` as the admin runs it, in its own process."""
        env = {
            **os.environ,
            "CITY_HUB_DATABASE_URL": self.hub.app.config["SQLALCHEMY_DATABASE_URI"],
        }
        return subprocess.run(
            [
                str(Path(sys.executable).parent / "city-hub"),
                "import",
                str(package),
                *args,
                "--instance",
                self.hub.app.instance_path,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def export(self, out: Path | None = None) -> Path:
        out = out or self.stick
        out.mkdir(exist_ok=True)
        made = self.ward("sync", "export", "--out", str(out))
        assert made.exit_code == 0, made.output
        return Path(made.output.strip().removeprefix("Đã ghi gói "))

    def hub_state(self) -> dict:
        """Every row count of the hub, and the ward's checkpoint there."""
        with self.hub.app.app_context():
            counts = {
                t.name: hub_db.session.scalar(sa.select(sa.func.count()).select_from(t))
                for t in hub_db.metadata.sorted_tables
            }
            counts["acked_seq"] = hub_db.session.get(Ward, "30280").acked_seq
            hub_db.session.remove()
        return counts

    def ward_acked(self) -> int:
        db.session.expire_all()
        return sync_state().acked_seq


@pytest.fixture
def usb(app, hub, tmp_path, monkeypatch):
    monkeypatch.setenv("WARDAPP_SECRET_KEY", "test")
    return Usb(app, hub, tmp_path)


def refused(result, *words: str) -> None:
    """Exit status 1 with the given Vietnamese words, and no exception but the exit itself.

    ``result`` is a click ``Result`` (the ward's command, in-process) or a finished process (the
    hub's)."""
    if isinstance(result, subprocess.CompletedProcess):
        code, output = result.returncode, result.stdout + result.stderr
    else:
        code, output = result.exit_code, result.output
        assert result.exception is None or type(result.exception) is SystemExit, repr(
            result.exception
        )
    assert code == 1, output
    assert "Traceback" not in output
    for word in words:
        assert word.casefold() in output.casefold(), output


def imported(result: subprocess.CompletedProcess) -> str:
    """The output of a ``city-hub import`` that succeeded."""
    assert result.returncode == 0 and not result.stderr, result.stdout + result.stderr
    return result.stdout


# --- damaging a real zip --------------------------------------------------------------------


def _central_entries(data: bytes, archive: zipfile.ZipFile):
    """(offset, name) of each central directory entry."""
    at = archive.start_dir
    while data[at : at + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack("<HHH", data[at + 28 : at + 34])
        yield at, data[at + 46 : at + 46 + name_len].decode()
        at += 46 + name_len + extra_len + comment_len


def flip_byte(package: Path, member: str) -> None:
    """Flip one byte in the middle of ``member``'s stored data: its CRC-32 no longer holds."""
    data = bytearray(package.read_bytes())
    with zipfile.ZipFile(package) as archive:
        info = archive.getinfo(member)
    name_len, extra_len = struct.unpack(
        "<HH", data[info.header_offset + 26 : info.header_offset + 30]
    )
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0xFF
    package.write_bytes(bytes(data))


def flag_encrypted(package: Path, member: str) -> None:
    """Set bit 0 (encrypted) of ``member``'s flags in its local and central headers."""
    data = bytearray(package.read_bytes())
    with zipfile.ZipFile(package) as archive:
        data[archive.getinfo(member).header_offset + 6] |= 0x1
        (at,) = [at for at, name in _central_entries(bytes(data), archive) if name == member]
    data[at + 8] |= 0x1
    package.write_bytes(bytes(data))


def rewrite(package: Path, change) -> None:
    """Write ``package`` again with its entries as ``change(entries)`` makes them: a list of
    (name, bytes), so a name may come twice."""
    with zipfile.ZipFile(package) as src:
        entries = [(name, src.read(name)) for name in src.namelist()]
    with zipfile.ZipFile(package, "w") as out, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": the point of one attack
        for name, data in change(entries):
            out.writestr(name, data)


def with_manifest_text(text: str):
    return lambda entries: [(n, text.encode() if n == "manifest.json" else d) for n, d in entries]


def manifest_of(package: Path) -> dict:
    with zipfile.ZipFile(package) as archive:
        return json.loads(archive.read("manifest.json"))


def first_member(package: Path) -> str:
    return manifest_of(package)["members"][0]["name"]


def resigned(document: dict, key: str) -> dict:
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    return {**unsigned, "signature": sign(key, unsigned)}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _with_comment(package: Path) -> None:
    with zipfile.ZipFile(package, "a") as archive:
        archive.comment = b"a package carries no comment"


def _signed_with_wrong_types(package: Path, key: str):
    manifest = manifest_of(package)
    manifest["members"][0]["count"] = str(manifest["members"][0]["count"])
    manifest["last_seq"] = 2**70
    return with_manifest_text(json.dumps(resigned(manifest, key)))


HOSTILE_PACKAGES = {
    "bad_crc_in_manifest": lambda p, key: flip_byte(p, "manifest.json"),
    "bad_crc_in_batch": lambda p, key: flip_byte(p, first_member(p)),
    "encrypted_manifest": lambda p, key: flag_encrypted(p, "manifest.json"),
    "encrypted_batch": lambda p, key: flag_encrypted(p, first_member(p)),
    "nested_manifest": lambda p, key: rewrite(
        p,
        with_manifest_text(
            '{"format": "wardapp-sync-package", "members": ' + nested(100_000) + "}"
        ),
    ),
    "surrogate_in_manifest": lambda p, key: rewrite(
        p, with_manifest_text(json.dumps({**manifest_of(p), "note": "\ud800"}))
    ),
    "batch_twice": lambda p, key: rewrite(p, lambda entries: entries + entries[1:]),
    "signed_wrong_types": lambda p, key: rewrite(p, _signed_with_wrong_types(p, key)),
    "too_many_members": lambda p, key: rewrite(
        p, lambda entries: entries + [(f"x/{n}", b"") for n in range(5001)]
    ),
    "archive_comment": lambda p, key: _with_comment(p),
}
# Where the refusal must say more than that the package is bad: too many members are refused
# from the zip's end record, before its central directory is read into memory.
SAYS = {"too_many_members": "Gói chứa quá nhiều tệp", "batch_twice": "hai tệp cùng tên"}


@pytest.mark.parametrize("attack", HOSTILE_PACKAGES)
def test_hostile_package_is_refused_in_vietnamese_with_nothing_written(usb, attack):
    write_dossiers(2)
    package = usb.export()
    HOSTILE_PACKAGES[attack](package, package_key(usb.hub.token))
    before = usb.hub_state()
    result = usb.hub_import(package)
    refused(result, "Dừng: BAD_PACKAGE", SAYS.get(attack, "gói"))
    assert usb.hub_state() == before and before["acked_seq"] == 0


def test_older_package_after_a_newer_one_has_nothing_new(usb, tmp_path):
    """An older package after a newer one that covers it: nothing new, exit 0; a package that
    truly cannot be applied (it starts past the hub's checkpoint) exits 1. A database restored
    from a backup: its summary is refused at the ward (NODE_REGRESSED, with the rekey to run),
    and once it has written again its package, ending before the hub's checkpoint yet bringing
    records the hub lacks, is refused at the hub, with nothing written."""
    write_dossiers(2)
    older = usb.export()
    restored = tmp_path / "restored"  # a backup of the ward as it was then
    restored.mkdir()
    with (
        sqlite3.connect(Path(usb.app.instance_path) / "ward.sqlite") as source,
        sqlite3.connect(restored / "ward.sqlite") as backup,
    ):
        source.backup(backup)
    write_dossiers(2)
    newer = usb.export(usb.folder / "newer")
    # Out of order: only the records past the older package, before the hub has any.
    sync_state().acked_seq = manifest_of(older)["last_seq"]
    db.session.commit()
    ahead = usb.export(usb.folder / "ahead")
    sync_state().acked_seq = 0
    db.session.commit()
    refused(usb.hub_import(ahead), "Dừng: GAP")

    imported(usb.hub_import(newer))
    before = usb.hub_state()
    assert before["acked_seq"] == manifest_of(newer)["last_seq"]
    again = imported(usb.hub_import(older))
    assert f"gói không có gì mới (máy chủ đã nhận đến số {before['acked_seq']})" in again
    assert usb.hub_state() == before
    summary = older.with_suffix(".summary.json")
    brought = usb.ward("sync", "import-summary", str(summary))
    assert brought.exit_code == 0 and usb.ward_acked() == before["acked_seq"], brought.output

    # The backup put back: its package has nothing new, but its summary says the hub holds
    # numbers this database never wrote, so the ward refuses to move its checkpoint; once the
    # desk has written again, the hub refuses the package.
    usb.config.save(str(restored))
    clone = create_app({"TESTING": True, "SECRET_KEY": "test"}, instance_path=str(restored))
    with clone.app_context():
        same = export_package(restored, usb.config)
        assert "không có gì mới" in imported(usb.hub_import(same))
        stopped = CliRunner().invoke(
            ward_cli,
            [
                "sync",
                "import-summary",
                str(same.with_suffix(".summary.json")),
                "--instance",
                str(restored),
            ],
        )
        refused(stopped, f"wardapp sync rekey --hub-acked {before['acked_seq']}")
        assert sync_state().acked_seq == 0
        write_dossiers(1)
        diverged = export_package(restored, usb.config)
        db.session.remove()
        db.engine.dispose()
    assert manifest_of(diverged)["last_seq"] < before["acked_seq"]
    refused(usb.hub_import(diverged), "Dừng: NODE_REGRESSED")
    assert usb.hub_state() == before


def test_database_error_while_judging_an_older_package_stops_it_as_hub_error(usb, monkeypatch):
    """A lost connection says nothing about what the hub holds: not NODE_REGRESSED (which
    sends the ward through a rekey), but HUB_ERROR, to import again later; nothing written."""
    from city_hub import usb as hub_usb

    write_dossiers(1)
    older = usb.export()
    write_dossiers(1)
    imported(usb.hub_import(usb.export(usb.folder / "newer")))
    before = usb.hub_state()

    def connection_lost(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(hub_usb, "apply_batch", connection_lost)
    with usb.hub.app.app_context():
        result = hub_usb.import_package(older, usb.hub.app.config)
        hub_db.session.remove()
    assert result.error.code == "HUB_ERROR" and "nhập lại sau" in result.describe()
    assert usb.hub_state() == before


@pytest.mark.parametrize("where", ["beside_the_package", "out"])
def test_symlink_at_the_summary_path_is_replaced_not_followed(usb, where):
    write_dossiers(1)
    package = usb.export()
    victim = usb.folder / "victim.txt"
    victim.write_text(VICTIM_TEXT, encoding="utf-8")
    target = (
        package.with_suffix(".summary.json")
        if where == "beside_the_package"
        else usb.folder / "elsewhere.json"
    )
    target.symlink_to(victim)
    imported(usb.hub_import(package, *(["--out", str(target)] if where == "out" else [])))
    assert victim.read_text(encoding="utf-8") == VICTIM_TEXT
    assert not target.is_symlink() and json.loads(target.read_text())["hub_acked_seq"] > 0
    assert sorted(p.name for p in target.parent.iterdir() if p.name.endswith(".partial")) == []


def test_summary_that_cannot_be_written_is_said_and_importing_again_writes_it(usb):
    write_dossiers(1)
    package = usb.export()
    nowhere = usb.folder / "no-such-folder" / "summary.json"
    refused(usb.hub_import(package, "--out", str(nowhere)), "Không ghi được tệp tổng hợp", "--out")
    assert usb.hub_state()["acked_seq"] == manifest_of(package)["last_seq"]  # imported
    imported(usb.hub_import(package))
    assert json.loads(package.with_suffix(".summary.json").read_text())["error"] is None


def test_symlink_at_the_package_path_is_replaced_not_followed(usb, monkeypatch):
    """``wardapp sync export`` writes its package as a new file renamed into place: links
    planted at the package's name and at the name it used to write first are never followed."""
    moment = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(package_module, "utcnow", lambda: moment)
    write_dossiers(1)
    scratch = usb.folder / "scratch"
    scratch.mkdir()
    name = usb.export(scratch).name  # the same outbox at the same moment: the same name
    victims = [usb.folder / "victim-1.txt", usb.folder / "victim-2.txt"]
    for victim, planted in zip(victims, [name, Path(name).with_suffix(".partial").name]):
        victim.write_text(VICTIM_TEXT, encoding="utf-8")
        (usb.stick / planted).symlink_to(victim)
    package = usb.export()
    assert package.name == name and not package.is_symlink()
    assert package.stat().st_mode & 0o777 == 0o666 & ~_umask()  # as open() makes it
    assert all(v.read_text(encoding="utf-8") == VICTIM_TEXT for v in victims)
    imported(usb.hub_import(package))


def test_package_that_cannot_be_written_is_said_with_nothing_left(usb, monkeypatch):
    """A directory where the package is to go stands for a stick that refuses the write."""
    moment = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(package_module, "utcnow", lambda: moment)
    write_dossiers(1)
    scratch = usb.folder / "scratch"
    name = usb.export(scratch).name
    (usb.stick / name).mkdir()
    refused(usb.ward("sync", "export", "--out", str(usb.stick)), "Không ghi được gói")
    assert [p.name for p in usb.stick.iterdir()] == [name]


def _umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _summary_attacks(summary: dict, key: str) -> dict[str, bytes]:
    wrong_range = json.loads(json.dumps(summary))
    wrong_range["applied"][0]["first_seq"] = str(wrong_range["applied"][0]["first_seq"])
    huge_reject = json.loads(json.dumps(summary))
    huge_reject["applied"][0]["answer"]["rejects"] = [
        {
            "seq": 1,
            "table": "dossier",
            "uuid": "x",
            "version": 2**70,
            "code": "INVALID",
            "message": "?",
        }
    ]
    huge_reject["applied"][0]["answer"]["summary"]["rejected"] += 1
    huge_reject["applied"][0]["answer"]["summary"]["inserted"] -= 1
    return {
        "nested": nested(100_000).encode(),
        "surrogate": json.dumps({**summary, "note": "\ud800"}).encode(),
        "not_utf8": b'{"format": "wardapp-sync-summary", "note": "\xff\xfe"}',
        "signed_wrong_range": json.dumps(resigned(wrong_range, key)).encode(),
        "signed_reject_past_64_bits": json.dumps(resigned(huge_reject, key)).encode(),
    }


@pytest.mark.parametrize(
    "attack",
    ["nested", "surrogate", "not_utf8", "signed_wrong_range", "signed_reject_past_64_bits"],
)
def test_hostile_summary_is_refused_at_the_ward(usb, attack):
    write_dossiers(1)
    package = usb.export()
    imported(usb.hub_import(package))
    summary = package.with_suffix(".summary.json")
    key = package_key(usb.hub.token)
    summary.write_bytes(_summary_attacks(json.loads(summary.read_text()), key)[attack])
    result = usb.ward("sync", "import-summary", str(summary))
    refused(result, "Tệp tổng hợp")
    assert usb.ward_acked() == 0


# --- the reader, at random -------------------------------------------------------------------

KEY = package_key("ws_thu-nghiem")


def _base_package() -> bytes:
    """A valid package of one batch of two records, written by the ward's writer."""
    records = [
        {
            "seq": seq,
            "table": "dossier",
            "uuid": f"u-{seq}",
            "op": "upsert",
            "version": 1,
            "data": {"code": f"30280-{seq}", "note": "Nguyễn Văn Đức"},
        }
        for seq in (1, 2)
    ]
    batch = {
        "first_seq": 1,
        "last_seq": 2,
        "count": 2,
        "ward_code": "30280",
        "protocol_version": 1,
        "schema_version": WIRE_SCHEMA_VERSION,
        "sha256": records_digest(records),
        "records": records,
    }
    with tempfile.TemporaryDirectory() as folder:
        path = write_package(
            Path(folder),
            [(batch, canonical_text(records))],
            ward_code="30280",
            db_instance_id="0f8c2d1e-5b7a-4c3d-9e2f-1a2b3c4d5e6f",
            key=KEY,
        )
        return path.read_bytes()


BASE = _base_package()
with zipfile.ZipFile(io.BytesIO(BASE)) as _archive:
    BASE_ENTRIES = [(name, _archive.read(name)) for name in _archive.namelist()]
BASE_MANIFEST = json.loads(BASE_ENTRIES[0][1])

texts = st.text(
    st.characters(exclude_categories=()) | st.sampled_from(["\ud800", "\udfff"]), max_size=12
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | texts
    | st.sampled_from([2**63, 2**70, -1, 0, "30280", BASE_MANIFEST["members"]]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def _zip(entries) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


def _flipped(flips) -> bytes:
    data = bytearray(BASE)
    for at, mask in flips:
        data[at % len(data)] ^= mask
    return bytes(data)


def signed_if_it_can_be(document: dict) -> dict:
    """``document`` signed again, or as it is if it holds a lone surrogate (no ward and no hub
    can sign that)."""
    try:
        return resigned(document, KEY)
    except UnicodeEncodeError:
        return document


def _manifest_field(field, value, sign_it) -> bytes:
    manifest = json.loads(json.dumps(BASE_MANIFEST))
    if field.startswith("members."):
        manifest["members"][0][field.removeprefix("members.")] = value
    else:
        manifest[field] = value
    if sign_it:
        manifest = signed_if_it_can_be(manifest)
    return _zip([("manifest.json", json.dumps(manifest).encode()), *BASE_ENTRIES[1:]])


def _member_content(raw: bytes) -> bytes:
    """The batch member replaced by ``raw``, the manifest's digest of it mended and signed: what
    only a ward's bug could write, which the reader must still refuse cleanly."""
    manifest = json.loads(json.dumps(BASE_MANIFEST))
    manifest["members"][0]["sha256"] = hashlib.sha256(raw).hexdigest()
    return _zip(
        [("manifest.json", json.dumps(resigned(manifest, KEY)).encode()), (BASE_ENTRIES[1][0], raw)]
    )


FIELDS = [*BASE_MANIFEST, *(f"members.{k}" for k in BASE_MANIFEST["members"][0])]
hostile_bytes = st.one_of(
    st.integers(0, len(BASE) - 1).map(lambda n: BASE[:n]),
    st.lists(
        st.tuples(st.integers(0, len(BASE) - 1), st.integers(1, 255)), min_size=1, max_size=8
    ).map(_flipped),
    json_values.map(lambda v: _zip([("manifest.json", json.dumps(v).encode()), *BASE_ENTRIES[1:]])),
    st.integers(1, 100_000).map(
        lambda n: _zip([("manifest.json", nested(n).encode()), *BASE_ENTRIES[1:]])
    ),
    st.builds(_manifest_field, st.sampled_from(FIELDS), json_values, st.booleans()),
    st.binary(max_size=200).map(_member_content),
    json_values.map(lambda v: _member_content(gzip.compress(json.dumps(v).encode()))),
)


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=hostile_bytes)
def test_package_reader_returns_a_valid_package_or_refuses(data):
    try:
        with Package(io.BytesIO(data)) as package:
            check_signature(package.manifest, KEY)
            batches = list(package.batches())
    except ProtocolError as e:
        assert e.code in ("BAD_PACKAGE", "BAD_SIGNATURE") and e.message
        return
    manifest = package.manifest
    assert isinstance(manifest["ward_code"], str) and isinstance(manifest["db_instance_id"], str)
    assert [(m["first_seq"], m["last_seq"]) for m in manifest["members"]] == [
        (b["first_seq"], b["last_seq"]) for b, _ in batches
    ]
    assert all(isinstance(b["records"], list) for b, _ in batches)


SUMMARY = {
    "format": "wardapp-sync-summary",
    "ward_code": "30280",
    "db_instance_id": BASE_MANIFEST["db_instance_id"],
    "created_utc": "2026-12-03T09:00:00",
    "hub_acked_seq": 2,
    "error": None,
    "applied": [
        {
            "first_seq": 1,
            "last_seq": 2,
            "answer": {
                "acked_seq": 2,
                "rejects": [],
                "summary": {
                    "received": 2,
                    "inserted": 2,
                    "updated": 0,
                    "unchanged": 0,
                    "stale": 0,
                    "rejected": 0,
                    "conflicts": 0,
                },
            },
        }
    ],
}
SUMMARY_FIELDS = [
    *SUMMARY,
    "applied.first_seq",
    "applied.answer",
    "answer.rejects",
    "answer.acked_seq",
    "summary.received",
]


def _summary_field(field, value, sign_it) -> bytes:
    document = json.loads(json.dumps(SUMMARY))
    item = document["applied"][0]
    within, _, key = field.rpartition(".")
    place = {
        "": document,
        "applied": item,
        "answer": item["answer"],
        "summary": item["answer"]["summary"],
    }[within]
    place[key] = value
    return json.dumps(signed_if_it_can_be(document) if sign_it else document).encode()


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    raw=st.one_of(
        st.binary(max_size=64),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.integers(1, 100_000).map(lambda n: nested(n).encode()),
        st.builds(_summary_field, st.sampled_from(SUMMARY_FIELDS), json_values, st.booleans()),
    )
)
def test_summary_reader_returns_a_typed_summary_or_refuses(raw):
    try:
        document = read_summary(raw, KEY)
    except ProtocolError as e:
        assert e.code in ("BAD_SUMMARY", "BAD_SIGNATURE") and e.message
        return
    assert all(
        type(item["first_seq"]) is int and isinstance(item["answer"], dict)
        for item in document["applied"]
    )
