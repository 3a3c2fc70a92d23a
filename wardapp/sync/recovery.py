"""Mending a ward database from the hub's copy of the ward's own records.

One procedure serves a restored backup and a replacement PC (sync-design.md §5, failure mode
20): download the records the hub holds for this ward, keep whichever version of each record is
newer (the hub's, or the one only this database has), then give the database a new identity
whose outbox numbering starts after everything the hub has acknowledged, and queue every record
again (:func:`~wardapp.sync.client.queue_everything_again`). The hub holds what it had, answers ``unchanged`` for
it, and receives what only this database knew, so nothing is lost or counted twice. Dossier
codes and logbook numbers are taken as "the largest so far plus one", so with the hub's dossiers
back in the table the next ones cannot collide with any earlier one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import SimpleNamespace

import sqlalchemy as sa

from ..database import write_transaction
from ..extensions import db
from ..models import Outbox, SyncNode
from ..dossiers.service import search_text_for
from .client import EXIT_FAILED, HubClient, SyncFailed, queue_everything_again
from .protocol import SYNCED_MODELS, RecordRejected, clean_record, record_digest

PAGE = 2000
# Unique keys besides the uuid: a hub record that would take one held by another local record
# is a conflict and is left out (reported), never written over the local one.
UNIQUE_KEYS = {"user": (("username",),), "dossier": (("code",), ("request_key",)),
               "dossier_event": (("dossier_uuid", "position"),), "audit_log": ()}
UNUSABLE_PASSWORD = "!"  # accounts come without their password: an admin sets a new one


@dataclass
class HubRecords:
    acked_seq: int
    acked_record_sha256: str | None
    tables: dict[str, list[dict]] = field(default_factory=dict)


def fetch_records(client: HubClient, *, first_page_only: bool = False) -> HubRecords:
    """Every record the hub holds for this ward, table by table, page by page.

    The hub's checkpoint comes with each page; if it moves during the download (the old PC is
    still syncing), the download is refused rather than mixing two moments.
    """
    result = None
    for table in SYNCED_MODELS:
        after = ""
        while True:
            page = client.answer(client.call("GET", "records", params={
                "table": table, "after": after, "limit": PAGE}))
            if not isinstance(page.get("acked_seq"), int) or not isinstance(page.get("records"),
                                                                            list):
                raise SyncFailed(EXIT_FAILED, "BAD_ANSWER", "Máy chủ trả lời thiếu dữ liệu.")
            if result is None:
                result = HubRecords(page["acked_seq"], page.get("acked_record_sha256"))
                if first_page_only:
                    return result
            elif page["acked_seq"] != result.acked_seq:
                raise SyncFailed(EXIT_FAILED, "HUB_MOVED", "Máy chủ vừa nhận thêm dữ liệu của "
                                 "phường trong lúc tải về (máy cũ vẫn đang đồng bộ?); thử lại.")
            result.tables.setdefault(table, []).extend(page["records"])
            after = page.get("next_after")
            if not after:
                break
    return result


def history_matches(hub: HubRecords) -> bool:
    """Whether this database's outbox holds, at the hub's checkpoint, the very record the hub
    has there: then it is the hub's lineage, current or ahead, and needs no mending."""
    if hub.acked_seq == 0:
        return True
    payload = db.session.scalar(sa.select(Outbox.payload).where(Outbox.seq == hub.acked_seq))
    return payload is not None and record_digest(json.loads(payload)) == hub.acked_record_sha256


def merge_records(hub: HubRecords) -> dict[str, dict[str, int]]:
    """Write into this database every hub record it lacks or holds an older version of.

    Written with Core statements, so no outbox row is made here (:func:`queue_everything_again`
    queues every record in the same transaction) and no version counter moves. Accounts keep their local password; new
    ones get none. Returns per table how many were added, updated, kept local, and refused.
    """
    ward_code = db.session.get(SyncNode, 1).ward_code
    report = {}
    for name, model in SYNCED_MODELS.items():
        table = model.__table__
        counts = dict.fromkeys(("added", "updated", "kept", "conflicts"), 0)
        local = {row.uuid: row.version for row in
                 db.session.execute(sa.select(table.c.uuid, table.c.version))}
        taken = {key: {tuple(row[1:]): row[0] for row in db.session.execute(
            sa.select(table.c.uuid, *(table.c[k] for k in key)))}
            for key in UNIQUE_KEYS[name]}
        inserts, updates = [], []
        for data in hub.tables.get(name, []):
            try:
                record = clean_record(name, data)
            except RecordRejected:
                counts["conflicts"] += 1
                continue
            uuid = record["uuid"]
            if record["ward_code"] != ward_code:
                counts["conflicts"] += 1
                continue
            if uuid in local and local[uuid] >= record["version"]:
                counts["kept"] += 1
                continue
            if any(taken[key].get(tuple(record[k] for k in key), uuid) != uuid for key in taken):
                counts["conflicts"] += 1
                continue
            if name == "dossier":
                record["search_text"] = search_text_for(SimpleNamespace(**record))
            if uuid in local:
                updates.append(record)
                counts["updated"] += 1
            else:
                if name == "user":
                    record["password_hash"] = UNUSABLE_PASSWORD
                inserts.append(record)
                counts["added"] += 1
            for key in taken:
                taken[key][tuple(record[k] for k in key)] = uuid
        if inserts:
            db.session.execute(sa.insert(table), inserts)
        for record in updates:
            db.session.execute(sa.update(table).where(table.c.uuid == record["uuid"])
                               .values(record))
        report[name] = counts
    return report


@dataclass
class Recovery:
    hub_acked: int
    merged: dict[str, dict[str, int]] | None
    queued: int

    @property
    def rekeyed(self) -> bool:
        return self.merged is not None


def recover_from_hub(client: HubClient, *, always: bool = False) -> Recovery:
    """Mend this database from the hub, then rekey it; or, if its history is the hub's (a
    backup taken after the last sync), leave it be unless ``always`` (a new PC must rekey)."""
    probe = fetch_records(client, first_page_only=True)
    if not always and history_matches(probe):
        return Recovery(probe.acked_seq, None, 0)
    hub = fetch_records(client)
    with write_transaction():  # one transaction: no merged record is ever without its outbox row
        merged = merge_records(hub)
        queued = queue_everything_again(hub.acked_seq)
    return Recovery(hub.acked_seq, merged, queued)

