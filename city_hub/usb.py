"""Importing a ward's USB package at the hub, through the same apply path as a push."""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from wardapp.database import write_transaction
from wardapp.models import utcnow
from wardapp.sync.package import check_signature, read_manifest, read_member, signed_summary
from wardapp.sync.protocol import ProtocolError, decode_with_text

from .extensions import db
from .models import Ward
from .sync import check_identity
from .sync.apply import apply_batch, check_versions


@dataclass
class ImportResult:
    ward_code: str | None
    applied: list = field(default_factory=list)
    error: ProtocolError | None = None
    summary_json: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    def describe(self) -> str:
        received = sum(a["answer"]["summary"]["received"] for a in self.applied)
        lines = [f"Đơn vị {self.ward_code or 'không rõ'}: {len(self.applied)} lô, "
                 f"{received} bản ghi."]
        if self.error:
            lines.append(f"Dừng: {self.error.code} – {self.error.message}")
        return "\n".join(lines)


def import_package(path: Path, config) -> ImportResult:
    """Check and apply a package; stops at the first batch the hub cannot take, and says why.

    Importing the same package twice, or an older one, applies nothing new (each batch gets its
    stored summary); a package that starts after the hub's checkpoint stops with GAP.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return ImportResult(None, error=ProtocolError(
            "BAD_PACKAGE", "Tệp không phải gói dữ liệu hợp lệ (hỏng hoặc chép chưa xong)."))
    with archive:
        try:
            manifest = read_manifest(archive)
        except ProtocolError as e:
            return ImportResult(None, error=e)
        ward = db.session.get(Ward, str(manifest.get("ward_code")))
        result = ImportResult(getattr(ward, "code", None))
        try:
            if ward is None or not ward.active or not ward.package_key:
                raise ProtocolError("UNAUTHORIZED", "Đơn vị chưa đăng ký hoặc đã bị thu hồi.", 401)
            check_signature(manifest, ward.package_key)
            check_versions(manifest.get("protocol_version"), manifest.get("schema_version"), config)
            check_identity(ward, {"db_instance_id": manifest.get("db_instance_id"),
                                  "outbox_head_seq": manifest.get("last_seq")})
            for member in manifest["members"]:
                batch, text = decode_with_text(read_member(archive, member))
                with write_transaction(db.session):
                    answer = apply_batch(ward, batch, source="usb", config=config, text=text)
                result.applied.append({"first_seq": batch["first_seq"],
                                       "last_seq": batch["last_seq"], "answer": answer})
        except ProtocolError as e:
            result.error = e
        if ward is not None and ward.package_key:
            result.summary_json = signed_summary(ward.package_key, {
                "format": "wardapp-sync-summary", "ward_code": ward.code,
                "db_instance_id": manifest.get("db_instance_id"), "created_utc": utcnow().isoformat(),
                "hub_acked_seq": db.session.get(Ward, ward.code).acked_seq,
                "applied": result.applied,
                "error": result.error.as_json()["error"] if result.error else None})
        else:
            result.summary_json = "{}"
        return result
