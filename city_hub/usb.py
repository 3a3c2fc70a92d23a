"""Importing a ward's USB package at the hub, through the same apply path as a push."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from kernel.columns import utcnow
from kernel.database import write_transaction
from wardapp.sync.package import Package, check_signature, signed_summary
from wardapp.sync.protocol import ProtocolError

from .extensions import db
from .models import ImportBatch, Ward
from .sync import check_identity
from .sync.apply import apply_batch, apply_in_transaction, check_versions


@dataclass
class ImportResult:
    ward_code: str | None
    applied: list = field(default_factory=list)
    error: ProtocolError | None = None
    summary_json: str = ""  # none for a package that names no ward the hub can sign for
    covered_by: int | None = None  # the hub's checkpoint, when it holds the package already

    @property
    def ok(self) -> bool:
        return self.error is None

    def describe(self) -> str:
        if self.ok and self.covered_by is not None:
            return (
                f"Đơn vị {self.ward_code}: gói không có gì mới (máy chủ đã nhận đến số "
                f"{self.covered_by})."
            )
        received = sum(a["answer"]["summary"]["received"] for a in self.applied)
        lines = [
            f"Đơn vị {self.ward_code or 'không rõ'}: {len(self.applied)} lô, {received} bản ghi."
        ]
        if self.error:
            lines.append(f"Dừng: {self.error.code} – {self.error.message}")
        return "\n".join(lines)


def import_package(path: Path, config) -> ImportResult:
    """Check and apply a package; stops at the first batch the hub cannot take, and says why.

    Importing the same package twice applies nothing new (each batch gets its stored summary);
    a package that starts after the hub's checkpoint stops with GAP. A package that ends before
    the checkpoint (exported before a later one the hub has taken) is judged as a push would be
    and then rolled back: if the hub holds every record of it, there is nothing new and nothing
    is written; if not, the ward's database went back (restored) and wrote again, which
    :func:`check_identity` refuses as NODE_REGRESSED.
    """
    try:
        package = Package(path)
    except ProtocolError as e:
        return ImportResult(None, error=e)
    with package:
        manifest = package.manifest
        ward = db.session.get(Ward, manifest["ward_code"])
        result = ImportResult(getattr(ward, "code", None))
        identity = {
            "db_instance_id": manifest["db_instance_id"],
            "outbox_head_seq": manifest["last_seq"],
        }
        try:
            if ward is None or not ward.active or not ward.package_key:
                raise ProtocolError("UNAUTHORIZED", "Đơn vị chưa đăng ký hoặc đã bị thu hồi.", 401)
            check_signature(manifest, ward.package_key)
            check_versions(manifest["protocol_version"], manifest["schema_version"], config)
            behind = manifest["last_seq"] < ward.acked_seq and ward.db_instance_id in (
                None,
                manifest["db_instance_id"],
            )
            if not behind:
                check_identity(ward, identity)
            for batch, text in package.batches():
                if behind:
                    if not _held_already(ward, batch, text, config):
                        check_identity(ward, identity)
                    continue
                answer = apply_in_transaction(ward, batch, source="usb", config=config, text=text)
                result.applied.append(
                    {
                        "first_seq": batch["first_seq"],
                        "last_seq": batch["last_seq"],
                        "answer": answer,
                    }
                )
            if behind:
                result.covered_by = ward.acked_seq
        except ProtocolError as e:
            result.error = e
        if ward is not None and ward.package_key:
            result.summary_json = signed_summary(
                ward.package_key,
                {
                    "format": "wardapp-sync-summary",
                    "ward_code": ward.code,
                    "db_instance_id": manifest["db_instance_id"],
                    "created_utc": utcnow().isoformat(),
                    "hub_acked_seq": db.session.get(Ward, ward.code).acked_seq,
                    "applied": result.applied,
                    "error": result.error.as_json()["error"] if result.error else None,
                },
            )
        return result


def _held_already(ward: Ward, batch: dict, text: bytes, config) -> bool:
    """Whether the hub holds every record of ``batch`` as it is, with nothing written: a batch
    it took before (answered from the store, or refused as SEQ_REUSED if it differs), or one
    whose records all come out unchanged, stale or rejected when applied and rolled back.

    A database error in the trial stops the import as :func:`apply_in_transaction` stops a
    batch (HUB_ERROR): a refused write would say the hub lacks a record, but a lost connection
    says nothing, and NODE_REGRESSED sends the ward through a rekey.
    """
    dbapi = db.session.get_bind().dialect.loaded_dbapi
    try:
        with write_transaction(db.session):
            replay = (
                db.session.get(ImportBatch, (ward.code, batch["first_seq"], batch["last_seq"]))
                is not None
            )
            answer = apply_batch(ward, batch, source="usb", config=config, text=text)
            db.session.rollback()
    except (sa.exc.DBAPIError, dbapi.DatabaseError):
        raise ProtocolError(
            "HUB_ERROR",
            "Máy chủ thành phố chưa kiểm tra được gói này với dữ liệu đã nhận; nhập lại sau.",
            503,
        ) from None
    return replay or not any(answer["summary"][k] for k in ("inserted", "updated", "conflicts"))
