"""Mending a ward database from the hub's copy of the ward's own records.

One procedure serves a restored backup and a replacement PC (docs/guarantees.md, fault test
T16): download the records the hub holds for this ward, keep whichever version of each record is
newer (the hub's, or the one only this database has), then give the database a new identity
whose outbox numbering starts after everything the hub has acknowledged, and queue every record
again (:func:`~wardapp.sync.client.queue_everything_again`). The hub holds what it had, answers
``unchanged`` for it, and receives what only this database knew, so nothing is lost or counted
twice. Dossier codes and logbook numbers are taken as "the largest so far plus one", so with the
hub's dossiers back in the table the next ones cannot collide with any the hub knows; and each day
the lost database may have worked after its last sync numbers past a floor (:class:`CodeFloor`),
so no code printed on a receipt the hub never saw is given again.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from types import SimpleNamespace

import sqlalchemy as sa

from kernel.columns import utcnow
from kernel.workdays import local_datetime, to_local
from wardapp.sync.outgoing import holds_record_at, queue_everything_again
from wardapp.sync.records import Dossier

from ..database import write_transaction
from ..dossiers.service import code_prefix, last_code_number, search_text_for
from ..extensions import db
from ..models import CodeFloor, SyncNode
from .client import EXIT_FAILED, HubClient, SyncFailed
from .code_gap import CODE_GAP
from .protocol import SYNCED_MODELS
from .shape import RecordRejected, clean_record

PAGE = 2000
UNUSABLE_PASSWORD = "!"  # accounts come without their password: an admin sets a new one


def unique_keys(table: sa.Table) -> list[tuple[str, ...]]:
    """A table's unique keys besides the uuid (from its model): a hub record that would take one
    held by another local record is a conflict and is left out (reported), never written over
    the local one."""
    keys = [
        tuple(c.name for c in constraint.columns)
        for constraint in table.constraints
        if isinstance(constraint, sa.UniqueConstraint)
    ]
    keys += [tuple(c.name for c in index.columns) for index in table.indexes if index.unique]
    return [key for key in keys if key != ("uuid",)]


@dataclass
class Checkpoint:
    """Where the hub stands for this ward: its acknowledged sequence and the record there."""

    acked_seq: int
    acked_record_sha256: str | None


def hub_pages(client: HubClient, table: str, expected: Checkpoint | None = None):
    """Yield ``(checkpoint, records)`` page by page for one table, so a ward of twenty years is
    mended with one page in memory at a time. If the hub's checkpoint moves during the download
    (the old PC is still syncing), it stops rather than mix two moments."""
    after = ""
    while True:
        page = client.answer(
            client.call("GET", "records", params={"table": table, "after": after, "limit": PAGE})
        )
        if not isinstance(page.get("acked_seq"), int) or not isinstance(page.get("records"), list):
            raise SyncFailed(EXIT_FAILED, "BAD_ANSWER", "Máy chủ trả lời thiếu dữ liệu.")
        checkpoint = Checkpoint(page["acked_seq"], page.get("acked_record_sha256"))
        if expected is not None and checkpoint != expected:
            raise SyncFailed(
                EXIT_FAILED,
                "HUB_MOVED",
                "Máy chủ vừa nhận thêm dữ liệu của "
                "phường trong lúc tải về (máy cũ vẫn đang đồng bộ?); thử lại.",
            )
        yield checkpoint, page["records"]
        after = page.get("next_after")
        if not after:
            return


def history_matches(hub: Checkpoint) -> bool:
    """Whether this database's outbox holds, at the hub's checkpoint, the very record the hub
    has there: then it is the hub's lineage, current or ahead, and needs no mending."""
    return hub.acked_seq == 0 or holds_record_at(hub.acked_seq, hub.acked_record_sha256)


class TableMerge:
    """Writes into this database every hub record of one table it lacks or holds an older
    version of, page by page.

    Written with Core statements, so no outbox row is made here (:func:`queue_everything_again`
    queues every record in the same transaction) and no version counter moves. Accounts keep
    their local password; new ones get none. ``counts`` says how many were added, updated,
    kept local, and refused (another ward's, malformed, or taking a unique key held locally).
    """

    def __init__(self, name: str, ward_code: str, held: dict[str, dict[str, int]]):
        """:param held: the records already merged of the tables merged before (parents)."""
        self.name, self.ward_code = name, ward_code
        self.table = SYNCED_MODELS[name].__table__
        # A record whose parent was refused (an event of a dossier left out) is refused too.
        self.parents = {
            fk.parent.name: held[fk.column.table.name]
            for fk in self.table.foreign_keys
            if fk.column.table.name in held
        }
        self.counts = dict.fromkeys(("added", "updated", "kept", "conflicts"), 0)
        table = self.table
        self.local = {
            row.uuid: row.version
            for row in db.session.execute(sa.select(table.c.uuid, table.c.version))
        }
        # NULL is no value, so it takes no key (a dossier without a rating code, a paper rating
        # of no dossier): as in the database, any number of records may leave a key NULL.
        self.taken = {
            key: {
                tuple(row[1:]): row[0]
                for row in db.session.execute(sa.select(table.c.uuid, *(table.c[k] for k in key)))
                if None not in row[1:]
            }
            for key in unique_keys(table)
        }

    def add(self, page: list[dict]) -> None:
        inserts, updates = [], []
        for data in page:
            record = self._usable(data)
            if record is None:
                continue
            uuid = record["uuid"]
            if self.name == "dossier":
                record["search_text"] = search_text_for(SimpleNamespace(**record))
            if uuid in self.local:
                updates.append(record)
                self.counts["updated"] += 1
            else:
                if self.name == "user":
                    record["password_hash"] = UNUSABLE_PASSWORD
                inserts.append(record)
                self.counts["added"] += 1
            self.local[uuid] = record["version"]
            for key, holders in self.taken.items():
                if None not in (value := tuple(record[k] for k in key)):
                    holders[value] = uuid
        if inserts:
            db.session.execute(sa.insert(self.table), inserts)
        for record in updates:
            db.session.execute(
                sa.update(self.table).where(self.table.c.uuid == record["uuid"]).values(record)
            )

    def _usable(self, data) -> dict | None:
        try:
            record = clean_record(self.name, data)
        except RecordRejected:
            self.counts["conflicts"] += 1
            return None
        uuid = record["uuid"]
        if (
            record["ward_code"] != self.ward_code
            or any(
                holders.get(tuple(record[k] for k in key), uuid) != uuid
                for key, holders in self.taken.items()
            )
            or any(
                record[column] is not None and record[column] not in parents
                for column, parents in self.parents.items()
            )
        ):
            self.counts["conflicts"] += 1
            return None
        if uuid in self.local and self.local[uuid] >= record["version"]:
            self.counts["kept"] += 1
            return None
        return record


@dataclass
class Recovery:
    hub_acked: int
    merged: dict[str, dict[str, int]] | None
    queued: int
    reserved: list[CodeFloor] = field(default_factory=list)

    @property
    def rekeyed(self) -> bool:
        return self.merged is not None


class CodeError(ValueError):
    """A receipt code the admin gave that cannot be this ward's."""


def recover_from_hub(
    client: HubClient,
    *,
    always: bool = False,
    code_gap: int = CODE_GAP,
    last_codes: tuple[str, ...] = (),
) -> Recovery:
    """Mend this database from the hub, then rekey it; or, if its history is the hub's (a
    backup taken after the last sync), leave it be unless ``always`` (a new PC must rekey).

    A rekeyed database may lack dossiers the lost one received after its last sync, whose codes
    are on citizens' receipts: :func:`reserve_lost_codes` numbers past them.
    """
    checkpoint, _ = next(hub_pages(client, "user"))
    if not always and history_matches(checkpoint):
        return Recovery(checkpoint.acked_seq, None, 0)
    ward_code = db.session.get(SyncNode, 1).ward_code
    merged, held = {}, {}
    with write_transaction():  # one transaction: no merged record is ever without its outbox row
        for name in SYNCED_MODELS:  # accounts, dossiers, events, audit: parents first
            merge = TableMerge(name, ward_code, held)
            for _, page in hub_pages(client, name, expected=checkpoint):
                merge.add(page)
            merged[name], held[name] = merge.counts, merge.local
        queued = queue_everything_again(checkpoint.acked_seq)
        reserved = reserve_lost_codes(code_gap, last_codes)
    return Recovery(checkpoint.acked_seq, merged, queued, reserved)


def reserve_lost_codes(
    gap: int, last_codes: tuple[str, ...] = (), today: dt.date | None = None
) -> list[CodeFloor]:
    """In the caller's transaction: a floor for each day from the newest dossier this database
    now holds to today, the days a lost PC may have received dossiers after its last sync.

    A day whose last receipt the admin saw (``last_codes``, full dossier codes) numbers on past
    it; any other day leaves ``gap`` numbers past the highest known, which the CLI shows.
    Raises :class:`CodeError` for a code of another unit or outside those days.
    """
    node = db.session.get(SyncNode, 1)
    today = today or to_local(utcnow()).date()
    newest = db.session.scalar(sa.select(sa.func.max(Dossier.received_at)))
    first = min(to_local(newest).date(), today) if newest else today
    days = [first + dt.timedelta(days=n) for n in range((today - first).days + 1)]
    prefixes = {
        code_prefix(node.unit.agency_code, local_datetime(day, dt.time(12))): day for day in days
    }
    seen: dict[str, int] = {}
    for code in last_codes:
        prefix, _, number = code.strip().rpartition("-")
        if f"{prefix}-" not in prefixes or not re.fullmatch(r"[0-9]{1,4}", number):
            raise CodeError(
                f"Mã {code} không phải mã hồ sơ của đơn vị trong các ngày "
                f"{first:%d/%m/%Y}–{today:%d/%m/%Y} (mã có dạng "
                f"{next(iter(prefixes))}NNNN)."
            )
        seen[f"{prefix}-"] = max(seen.get(f"{prefix}-", 0), int(number))
    floors = []
    for prefix in prefixes:
        known = last_code_number(prefix)
        confirmed = prefix in seen
        floor = db.session.merge(
            CodeFloor(
                prefix=prefix,
                number=max(known, seen[prefix]) if confirmed else known + gap,
                confirmed=confirmed,
            )
        )
        floors.append(floor)
    db.session.flush()
    return floors
