"""USB packages: the same batches as a push, carried on a stick when the link is down for days.

A package is a zip of ``manifest.json`` and one gzip batch per member. The manifest lists each
member with its range and sha256 and is signed (HMAC) with the ward's package key, so the hub can
tell a tampered, truncated or foreign package from a good one without any network. The hub
applies each batch through the same function as a push and writes a signed summary that the
ward imports to move its checkpoint. Batches with superseded placeholders travel as on the wire;
the manifest then says protocol 2, so a hub that cannot read them refuses the whole package.

A file on a stick is anyone's input: the reader here bounds every read and checks every field it
hands on, and whatever a damaged or hostile file makes zipfile, zlib, json or the hashing raise
ends as one :class:`ProtocolError` (``BAD_PACKAGE``, ``BAD_SUMMARY``) with a Vietnamese message,
before anything is applied. Files made from package data are written by :func:`replacing`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import BinaryIO

from kernel.columns import utcnow

from .protocol import (
    DB_INSTANCE_ID,
    MAX_INFLATED_BYTES,
    WIRE_SCHEMA_VERSION,
    ProtocolError,
    canonical_json,
    check_batch,
    check_summary,
    decode_with_text,
    encode,
    sign,
    verify,
)

MANIFEST = "manifest.json"
MAX_MEMBERS = 5000
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_SUMMARY_BYTES = 64 * 1024 * 1024
PACKAGE_MAX_SEQ = 10**12 - 1  # a member's name holds its sequence numbers in 12 digits
WARD_CODE = re.compile(r"[0-9A-Za-z]{1,10}")
DIGEST = re.compile(r"[0-9a-f]{64}")
# What a damaged or hostile file makes zipfile, zlib, json and the hashing raise: a bad CRC or
# header (BadZipFile, struct.error, EOFError), a member flagged encrypted (RuntimeError) or of a
# method zipfile lacks (NotImplementedError), JSON nested past the interpreter's stack
# (RecursionError, a RuntimeError), a lone surrogate that cannot be encoded to hash it
# (UnicodeError, a ValueError), numbers JSON cannot hold (OverflowError), a stick pulled out
# (OSError); KeyError and TypeError from fields of the wrong shape.
_DAMAGE = (
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    EOFError,
    RuntimeError,
    NotImplementedError,
    ValueError,
    OverflowError,
    OSError,
    KeyError,
    TypeError,
)


@contextmanager
def _refused(code: str, message: str) -> Iterator[None]:
    """Turn any of :data:`_DAMAGE` raised in the block into ``ProtocolError(code, message)``."""
    try:
        yield
    except _DAMAGE:
        raise ProtocolError(code, message) from None


@contextmanager
def replacing(path: Path) -> Iterator:
    """A binary file that becomes ``path`` when the block ends, and is gone if it fails.

    The file is made new in the same folder (``mkstemp``: O_CREAT|O_EXCL|O_NOFOLLOW) and renamed
    over ``path``. A rename replaces a symlink planted at ``path`` instead of writing through
    it, so the file it points to is never touched; and a stick pulled out mid-write leaves no
    file that looks complete. It gets the mode a plain ``open`` gives (``mkstemp``'s is
    owner-only), so the hub's admin, another user on another PC, can still read the package.
    """
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    umask = os.umask(0o022)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def member_name(first_seq: int, last_seq: int) -> str:
    return f"batch-{first_seq:012d}-{last_seq:012d}.json.gz"


def write_package(
    out_dir: Path, batches: list[tuple[dict, str]], *, ward_code: str, db_instance_id: str, key: str
) -> Path:
    """Write ``batches`` (contiguous, in order; each an envelope and its records' JSON, as
    :func:`~wardapp.sync.client.make_batch` makes them) as one signed package in ``out_dir``."""
    members, blobs = [], []
    for batch, records_json in batches:
        blob = encode(batch, records_json)
        members.append(
            {
                "name": member_name(batch["first_seq"], batch["last_seq"]),
                "first_seq": batch["first_seq"],
                "last_seq": batch["last_seq"],
                "count": batch["count"],
                "sha256": hashlib.sha256(blob).hexdigest(),
            }
        )
        blobs.append(blob)
    # The package needs what its batches need: a hub that cannot read placeholders refuses a
    # package that may hold them before applying anything.
    manifest = {
        "format": "wardapp-sync-package",
        "ward_code": ward_code,
        "db_instance_id": db_instance_id,
        "protocol_version": max(batch["protocol_version"] for batch, _ in batches),
        "schema_version": WIRE_SCHEMA_VERSION,
        "created_utc": utcnow().isoformat(),
        "first_seq": members[0]["first_seq"],
        "last_seq": members[-1]["last_seq"],
        "members": members,
    }
    manifest["signature"] = sign(key, manifest)
    first, last = manifest["first_seq"], manifest["last_seq"]
    path = (
        Path(out_dir) / f"{ward_code}_{first:012d}-{last:012d}_{manifest['signature'][:8]}.syncpkg"
    )
    with replacing(path) as out, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
        for member, blob in zip(members, blobs):
            archive.writestr(member["name"], blob)
    return path


class Package:
    """A package opened for reading (``with Package(path) as package:``): its manifest read and
    checked by :func:`read_manifest`, its batches by :meth:`batches`, one at a time."""

    def __init__(self, path: Path | BinaryIO):
        try:
            _check_end_record(path)
            self.archive = zipfile.ZipFile(path)
        except OSError as e:  # gone, not readable, a stick pulled out: not a damaged package
            raise ProtocolError(
                "BAD_PACKAGE", f"Không đọc được tệp gói ({e.strerror or e})."
            ) from None
        except _DAMAGE:
            raise ProtocolError(
                "BAD_PACKAGE", "Tệp không phải gói dữ liệu hợp lệ (hỏng hoặc chép chưa xong)."
            ) from None
        try:
            self.manifest = read_manifest(self.archive)
        except ProtocolError:
            self.archive.close()
            raise

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc) -> None:
        self.archive.close()

    def batches(self) -> Iterator[tuple[dict, bytes]]:
        """Each member's batch and the JSON text it was parsed from, in order (see
        :func:`read_batch`)."""
        for member in self.manifest["members"]:
            yield read_batch(self.archive, member)


_END_RECORD = struct.Struct("<4s4H2LH")  # a zip's end of central directory record
# What the central directory of a package of MAX_MEMBERS batches takes, with room to spare.
MAX_DIRECTORY_BYTES = (MAX_MEMBERS + 1) * 256


def _check_end_record(source: Path | BinaryIO) -> None:
    """Refuse, before zipfile reads it whole into memory, a central directory larger than a
    package's. A package has no archive comment and no ZIP64 record (whose counts zipfile would
    take instead), so its end record is its last 22 bytes."""
    with (
        open(source, "rb") if isinstance(source, (str, os.PathLike)) else nullcontext(source)
    ) as file:
        file.seek(0, os.SEEK_END)
        file.seek(max(file.tell() - _END_RECORD.size - 20, 0))
        tail = file.read()  # the end record, and the ZIP64 locator that would precede it
    if len(tail) < _END_RECORD.size:
        raise zipfile.BadZipFile
    signature, *_, entries, directory_bytes, _, comment = _END_RECORD.unpack(
        tail[-_END_RECORD.size :]
    )
    if signature != b"PK\x05\x06" or comment:
        raise zipfile.BadZipFile
    if (
        tail.startswith(b"PK\x06\x07")
        or entries > MAX_MEMBERS + 1
        or directory_bytes > MAX_DIRECTORY_BYTES
    ):
        raise ProtocolError("BAD_PACKAGE", "Gói chứa quá nhiều tệp hoặc quá lớn.")


def read_manifest(archive: zipfile.ZipFile) -> dict:
    """The package's manifest, after checking that the zip holds nothing but what it lists, once
    each, and that every field the hub uses has its type and range; ``BAD_PACKAGE`` otherwise."""
    with _refused("BAD_PACKAGE", "Tệp mô tả của gói (manifest.json) bị hỏng hoặc không hợp lệ."):
        names = archive.namelist()
        if MANIFEST not in names or len(names) > MAX_MEMBERS + 1:
            raise ProtocolError("BAD_PACKAGE", "Gói dữ liệu không có tệp mô tả (manifest.json).")
        if len(set(names)) != len(names):
            raise ProtocolError("BAD_PACKAGE", "Gói chứa hai tệp cùng tên (có thể bị sửa đổi).")
        if archive.getinfo(MANIFEST).file_size > MAX_MANIFEST_BYTES:
            raise ProtocolError("BAD_PACKAGE", "Tệp mô tả của gói quá lớn.")
        manifest = json.loads(archive.read(MANIFEST))
        canonical_json(manifest)  # what the signature is taken over: it must encode
    _check_manifest(manifest)
    listed = [m["name"] for m in manifest["members"]]
    if len(listed) != len(names) - 1 or set(names) != {*listed, MANIFEST}:
        raise ProtocolError(
            "BAD_PACKAGE", "Gói chứa tệp lạ hoặc thiếu tệp so với mô tả (có thể bị sửa đổi)."
        )
    if any(archive.getinfo(name).file_size > MAX_INFLATED_BYTES for name in listed):
        raise ProtocolError("BAD_PACKAGE", "Một tệp trong gói quá lớn.")
    return manifest


def _invalid(field: str) -> ProtocolError:
    return ProtocolError("BAD_PACKAGE", f"Tệp mô tả của gói không hợp lệ (trường {field}).")


def _seq(value, minimum: int = 1) -> bool:
    return type(value) is int and minimum <= value <= PACKAGE_MAX_SEQ


def _check_manifest(manifest) -> None:
    """The type and range of each field the hub reads, so that hashing, looking up and comparing
    them cannot fail (whether they agree with each other is :func:`check_signature`'s)."""
    if not isinstance(manifest, dict) or manifest.get("format") != "wardapp-sync-package":
        raise _invalid("format")
    for field, pattern in (
        ("ward_code", WARD_CODE),
        ("db_instance_id", DB_INSTANCE_ID),
        ("signature", DIGEST),
    ):
        if not isinstance(manifest.get(field), str) or not pattern.fullmatch(manifest[field]):
            raise _invalid(field)
    for field in ("protocol_version", "schema_version", "first_seq", "last_seq"):
        if not _seq(manifest.get(field)):
            raise _invalid(field)
    members = manifest.get("members")
    if (
        not isinstance(members, list)
        or not 1 <= len(members) <= MAX_MEMBERS
        or not all(
            isinstance(m, dict)
            and isinstance(m.get("name"), str)
            and all(_seq(m.get(k)) for k in ("first_seq", "last_seq", "count"))
            and isinstance(m.get("sha256"), str)
            and DIGEST.fullmatch(m["sha256"])
            for m in members
        )
    ):
        raise _invalid("members")


def check_signature(manifest: dict, key: str) -> None:
    """The manifest is the ward's as its writer made it: the signature holds, and the members
    name their ranges and follow each other without a gap from its first to its last number."""
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    if not verify(key, unsigned, manifest.get("signature")):
        raise ProtocolError(
            "BAD_SIGNATURE",
            "Chữ ký của gói không khớp: gói đã bị sửa đổi hoặc không phải của phường, xã này.",
            403,
        )
    expected = manifest["first_seq"]
    for member in manifest["members"]:
        first, last = member["first_seq"], member["last_seq"]
        if (
            first != expected
            or member["count"] != last - first + 1
            or member["name"] != member_name(first, last)
        ):
            raise _invalid("members")
        expected = last + 1
    if expected - 1 != manifest["last_seq"]:
        raise _invalid("last_seq")


def read_batch(archive: zipfile.ZipFile, member: dict) -> tuple[dict, bytes]:
    """One member's batch (of a manifest :func:`read_manifest` checked) and its JSON text.

    The member's bytes must hash to the manifest's digest, and the batch must cover the member's
    range with records that hash to its own digest once encoded again (which a lone surrogate
    cannot be), so the hub applies nothing it could not hash, store or answer for.
    """
    name = member["name"]
    damaged = f"Tệp {name} trong gói bị hỏng hoặc cắt cụt."
    with _refused("BAD_PACKAGE", damaged):
        blob = archive.read(name)
    if hashlib.sha256(blob).hexdigest() != member["sha256"]:
        raise ProtocolError("BAD_PACKAGE", damaged)
    with _refused("BAD_PACKAGE", f"Tệp {name} trong gói không hợp lệ."):
        try:
            batch, text = decode_with_text(blob)
            if (
                batch.get("first_seq") != member["first_seq"]
                or batch.get("last_seq") != member["last_seq"]
            ):
                raise ProtocolError("BAD_PAYLOAD", "Khoảng số thứ tự không khớp với tệp mô tả.")
            check_batch(batch)
        except ProtocolError as e:
            raise ProtocolError(
                "BAD_PACKAGE", f"Tệp {name} trong gói không hợp lệ: {e.message}"
            ) from None
    return batch, text


def signed_summary(key: str, document: dict) -> str:
    return json.dumps({**document, "signature": sign(key, document)}, ensure_ascii=False, indent=1)


def read_summary(raw: bytes | str, key: str) -> dict:
    """A summary file brought back from the hub, if its signature holds and every field the
    ward uses has its type and range; ``BAD_SUMMARY`` (or ``BAD_SIGNATURE``) otherwise."""
    if len(raw) > MAX_SUMMARY_BYTES:
        raise ProtocolError("BAD_SUMMARY", "Tệp tổng hợp quá lớn.")
    with _refused("BAD_SUMMARY", "Tệp tổng hợp không phải JSON hợp lệ."):
        document = json.loads(raw)
    if not isinstance(document, dict):
        raise ProtocolError("BAD_SUMMARY", "Tệp tổng hợp không hợp lệ.")
    signature = document.pop("signature", None)
    with _refused("BAD_SUMMARY", "Tệp tổng hợp không hợp lệ."):
        signed = verify(key, document, signature)
    if not signed:
        raise ProtocolError("BAD_SIGNATURE", "Chữ ký của tệp tổng hợp không khớp.", 403)
    _check_summary_fields(document)
    return document


def _check_summary_fields(document: dict) -> None:
    """What :func:`~wardapp.sync.client.import_summary` reads, typed: a signed summary is the
    hub's word, but a hub's bug must not become a traceback or a wrong checkpoint at the ward."""
    wrong = ProtocolError("BAD_SUMMARY", "Tệp tổng hợp không hợp lệ (sai kiểu dữ liệu).")
    hub_acked, error = document.get("hub_acked_seq"), document.get("error")
    if (
        not isinstance(document.get("ward_code"), str)
        or not isinstance(document.get("db_instance_id"), str)
        or not (hub_acked is None or _seq(hub_acked, 0))
        or not (error is None or isinstance(error, dict))
        or not isinstance(document.get("applied"), list)
    ):
        raise wrong
    for item in document["applied"]:
        if (
            not isinstance(item, dict)
            or not _seq(item.get("first_seq"))
            or not _seq(item.get("last_seq"))
        ):
            raise wrong
        try:  # checked whole before the ward moves its checkpoint for any
            check_summary(item.get("answer"), item["first_seq"], item["last_seq"])
        except ProtocolError as e:
            raise ProtocolError("BAD_SUMMARY", f"Tệp tổng hợp không hợp lệ: {e.message}") from None
        # A reject's version is the poison record's own: any integer, kept only if a 64-bit
        # column holds it.
        if not all(
            r.get(k) is None or type(r[k]) is int and abs(r[k]) < 2**63
            for r in item["answer"].get("rejects", [])
            for k in ("seq", "version")
        ):
            raise wrong
