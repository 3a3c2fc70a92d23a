"""USB packages: the same batches as a push, carried on a stick when the link is down for days.

A package is a zip of ``manifest.json`` and one gzip batch per member. The manifest lists each
member with its range and sha256 and is signed (HMAC) with the ward's package key, so the hub can
tell a tampered, truncated or foreign package from a good one without any network. The hub
applies each batch through the same function as a push and writes a signed summary that the
ward imports to move its checkpoint. Batches with superseded placeholders travel as on the wire;
the manifest then says protocol 2, so a hub that cannot read them refuses the whole package.
"""
from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

from ..models import utcnow
from .protocol import (MAX_INFLATED_BYTES, WIRE_SCHEMA_VERSION, ProtocolError, encode, sign,
                       verify)

MANIFEST = "manifest.json"
MEMBER = re.compile(r"^batch-(\d{1,12})-(\d{1,12})\.json\.gz$")
MAX_MEMBERS = 5000


def write_package(out_dir: Path, batches: list[tuple[dict, str]], *, ward_code: str,
                  db_instance_id: str, key: str) -> Path:
    """Write ``batches`` (contiguous, in order; each an envelope and its records' JSON, as
    :func:`~wardapp.sync.client.make_batch` makes them) as one signed package in ``out_dir``."""
    members, blobs = [], []
    for batch, records_json in batches:
        blob = encode(batch, records_json)
        name = f"batch-{batch['first_seq']:012d}-{batch['last_seq']:012d}.json.gz"
        members.append({"name": name, "first_seq": batch["first_seq"],
                        "last_seq": batch["last_seq"], "count": batch["count"],
                        "sha256": hashlib.sha256(blob).hexdigest()})
        blobs.append(blob)
    # The package needs what its batches need: a hub that cannot read placeholders refuses a
    # package that may hold them before applying anything.
    manifest = {"format": "wardapp-sync-package", "ward_code": ward_code,
                "db_instance_id": db_instance_id,
                "protocol_version": max(batch["protocol_version"] for batch, _ in batches),
                "schema_version": WIRE_SCHEMA_VERSION, "created_utc": utcnow().isoformat(),
                "first_seq": members[0]["first_seq"], "last_seq": members[-1]["last_seq"],
                "members": members}
    manifest["signature"] = sign(key, manifest)
    first, last = manifest["first_seq"], manifest["last_seq"]
    path = Path(out_dir) / f"{ward_code}_{first:012d}-{last:012d}_{manifest['signature'][:8]}.syncpkg"
    partial = path.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
        for member, blob in zip(members, blobs):
            archive.writestr(member["name"], blob)
    partial.replace(path)  # a stick pulled out mid-write leaves no file that looks complete
    return path


def read_manifest(archive: zipfile.ZipFile) -> dict:
    """The package's manifest, after checking that the zip holds nothing but what it lists."""
    names = archive.namelist()
    if MANIFEST not in names or len(names) > MAX_MEMBERS + 1:
        raise ProtocolError("BAD_PACKAGE", "Gói dữ liệu không có tệp mô tả (manifest.json).")
    info = archive.getinfo(MANIFEST)
    if info.file_size > 4 * 1024 * 1024:
        raise ProtocolError("BAD_PACKAGE", "Tệp mô tả của gói quá lớn.")
    try:
        manifest = json.loads(archive.read(MANIFEST))
        members = manifest["members"]
        listed = {m["name"] for m in members}
    except (ValueError, KeyError, TypeError):
        raise ProtocolError("BAD_PACKAGE", "Tệp mô tả của gói không hợp lệ.") from None
    if not members or set(names) != listed | {MANIFEST} or len(listed) != len(members) \
            or not all(MEMBER.fullmatch(str(n)) for n in listed):
        raise ProtocolError("BAD_PACKAGE", "Gói chứa tệp lạ hoặc thiếu tệp so với mô tả "
                                           "(có thể bị sửa đổi).")
    for member in members:
        if archive.getinfo(member["name"]).file_size > MAX_INFLATED_BYTES:
            raise ProtocolError("BAD_PACKAGE", "Một tệp trong gói quá lớn.")
    return manifest


def check_signature(manifest: dict, key: str) -> None:
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    if not verify(key, unsigned, manifest.get("signature")):
        raise ProtocolError("BAD_SIGNATURE", "Chữ ký của gói không khớp: gói đã bị sửa đổi hoặc "
                                             "không phải của phường, xã này.", 403)


def read_member(archive: zipfile.ZipFile, member: dict) -> bytes:
    blob = archive.read(member["name"])
    if hashlib.sha256(blob).hexdigest() != member.get("sha256"):
        raise ProtocolError("BAD_PACKAGE", f"Tệp {member['name']} trong gói bị hỏng hoặc cắt cụt.")
    return blob


def signed_summary(key: str, document: dict) -> str:
    return json.dumps({**document, "signature": sign(key, document)}, ensure_ascii=False, indent=1)


def read_summary(text: str, key: str) -> dict:
    """A summary file brought back from the hub, if its signature holds."""
    try:
        document = json.loads(text)
    except ValueError:
        raise ProtocolError("BAD_SUMMARY", "Tệp tổng hợp không phải JSON hợp lệ.") from None
    if not isinstance(document, dict):
        raise ProtocolError("BAD_SUMMARY", "Tệp tổng hợp không hợp lệ.")
    signature = document.pop("signature", None)
    if not verify(key, document, signature):
        raise ProtocolError("BAD_SIGNATURE", "Chữ ký của tệp tổng hợp không khớp.", 403)
    return document
