"""Sync by USB stick, the ward's side: everything the hub has not acknowledged written into one
signed package, and the summary the hub signed carried back to move the checkpoint (the package
format is :mod:`.package`)."""

from __future__ import annotations

from pathlib import Path

from .client import SyncConfig
from .outgoing import (
    make_batch,
    outbox_head,
    record_acknowledgement,
    set_acked,
    sync_state,
    ward_identity,
)
from .package import read_summary, write_package
from .protocol import LEGACY_BATCH_RECORDS, ProtocolError, package_key


def export_package(out_dir: Path, config: SyncConfig, *, placeholders: bool = False) -> Path | None:
    """Write everything the hub has not acknowledged into a signed USB package (None if none).

    No hello comes before a package, so nothing says what the hub reads: ``placeholders`` is the
    admin's word that it is a hub of protocol 2 (a hub of 1 refuses such a package whole).
    """
    batches, after = [], sync_state().acked_seq
    while (made := make_batch(after, LEGACY_BATCH_RECORDS, placeholders=placeholders)) is not None:
        batches.append(made)
        after = made[0]["last_seq"]
    if not batches:
        return None
    node = ward_identity()
    return write_package(
        out_dir,
        batches,
        ward_code=node.ward_code,
        db_instance_id=node.db_instance_id,
        key=package_key(config.token),
    )


def import_summary(raw: bytes | str, config: SyncConfig) -> tuple[int, dict | None]:
    """Apply a summary carried back from the hub (the file's bytes, or its text); returns the
    new checkpoint and any hub error."""
    document = read_summary(raw, package_key(config.token))
    node = ward_identity()
    if (
        document.get("ward_code") != node.ward_code
        or document.get("db_instance_id") != node.db_instance_id
    ):
        raise ProtocolError("WRONG_WARD", "Tệp tổng hợp không phải của cơ sở dữ liệu này.", 403)
    # The hub holding numbers this database never wrote means it went back (a backup put back)
    # since: moving the checkpoint would skip what it writes under them next, as hello refuses.
    hub_acked = document.get("hub_acked_seq") or 0
    held = max([hub_acked, *(item["last_seq"] for item in document["applied"])])
    if held > outbox_head():
        raise ProtocolError(
            "NODE_REGRESSED",
            f"Thành phố đã nhận đến số {held} nhưng cơ sở dữ liệu này chỉ có "
            f"đến số {outbox_head()} (đã khôi phục từ bản sao lưu cũ). Không dời mốc đồng bộ; "
            f"quản trị chạy `wardapp sync rekey --hub-acked {held}`.",
            409,
        )
    for item in document["applied"]:  # typed by read_summary
        record_acknowledgement(item["answer"], item["first_seq"], item["last_seq"])
    if sync_state().acked_seq < hub_acked:
        set_acked(hub_acked)  # as hello does: the hub's signed word on what it holds
    return sync_state().acked_seq, document.get("error")
