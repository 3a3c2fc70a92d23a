"""Backups of the ward database: online copies, verified, kept N days and M months.

A copy is taken with SQLite's backup API inside one read transaction of the live database, so
it is consistent while the desk keeps working (a plain file copy of a WAL database is not), and
the row counts taken in that same transaction are compared with the copy's. The copy is written
as ``.part`` and renamed only once it passed ``integrity_check``: a full disk or a crash leaves
no half copy that looks like a backup. Because the backup API copies pages verbatim, a copy that
passes ``integrity_check`` also vouches for the live file at that moment, so each backup is the
ward's integrity check too.

Bookkeeping lives in files, not in the database it protects: ``manifest.json`` beside the copies
(what each one holds), and ``backup.json`` in the instance folder (where the copies go, how the
last backup and the last integrity check went) for the admin's panel.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from kernel.columns import utcnow
from kernel.workdays import to_local

from .extensions import db

MANIFEST = "manifest.json"
STATE_FILE = "backup.json"
KEEP_DAILY, KEEP_MONTHLY = 7, 12
# Warn on the panel before the disk is full: less than this, or less than five databases' worth.
FREE_DISK_WARNING_BYTES = 1024**3
# The tables whose rows a copy must hold as many of as the live database did: every table of
# the ward's models (the search index is rebuilt, not counted).
COUNTED_TABLES = tuple(db.metadata.tables)


class BackupError(Exception):
    """A backup or restore that did not happen; the message is for the admin, in Vietnamese."""


def open_copy(path: Path) -> sqlite3.Connection:
    """The connection a copy is written through (tests cap its size to fill the disk)."""
    return sqlite3.connect(path)


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return {
        t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
        for t in COUNTED_TABLES
        if t in present
    }


def _scalar(conn: sqlite3.Connection, query: str):
    try:
        row = conn.execute(query).fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def describe(conn: sqlite3.Connection) -> dict:
    """What a database holds: ward, lineage, schema revision, outbox head, row counts."""
    return {
        "ward_code": _scalar(conn, "SELECT ward_code FROM sync_node WHERE id = 1"),
        "db_instance_id": _scalar(conn, "SELECT db_instance_id FROM sync_node WHERE id = 1"),
        "schema": _scalar(conn, "SELECT version_num FROM alembic_version"),
        "outbox_head": _scalar(conn, "SELECT coalesce(max(seq), 0) FROM outbox") or 0,
        "counts": table_counts(conn),
    }


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """What ``integrity_check`` and ``foreign_key_check`` find; empty when the file is sound."""
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    problems = [] if rows == ["ok"] else rows[:5]
    broken = conn.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        problems.append(f"{len(broken)} khóa ngoại không hợp lệ, ví dụ {broken[0]}")
    return problems


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, value) -> None:
    """Replace ``path`` atomically (written beside it, synced, renamed)."""
    part = path.with_name(path.name + ".part")
    with open(part, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def _full(error: Exception) -> bool:
    return "full" in str(error) or getattr(error, "errno", None) == 28  # ENOSPC


# --- The admin's view: instance/backup.json ---------------------------------------------------


def read_state(instance_path: str) -> dict:
    return _read_json(Path(instance_path) / STATE_FILE, {})


def update_state(instance_path: str, **changes) -> None:
    _write_json(Path(instance_path) / STATE_FILE, {**read_state(instance_path), **changes})


def backup_dir(instance_path: str, configured: str | None = None) -> Path:
    """Where copies go: the given folder, else the last one used, else ``instance/backups``
    (a second disk or a USB stick is better: set it once with ``wardapp backup --to``)."""
    chosen = configured or read_state(instance_path).get("backup_dir")
    return Path(chosen) if chosen else Path(instance_path) / "backups"


# --- Taking a backup --------------------------------------------------------------------------


@dataclass
class Backup:
    path: Path
    entry: dict
    removed: list[str]


def take_backup(
    db_path: str | Path,
    target: Path,
    *,
    instance_path: str,
    reason: str = "daily",
    keep_daily: int = KEEP_DAILY,
    keep_monthly: int = KEEP_MONTHLY,
    now: dt.datetime | None = None,
) -> Backup:
    """Copy the live database into ``target``, verify the copy, apply retention.

    Raises :class:`BackupError` (and records it for the panel) when the copy could not be made or
    verified; older copies are then left exactly as they were.
    """
    now = now or utcnow()
    target = Path(target)
    try:
        result = _take(Path(db_path), target, reason, keep_daily, keep_monthly, now)
    except BackupError as e:  # the folder is remembered only once a copy has landed there
        update_state(instance_path, last_failure={"at_utc": now.isoformat(), "message": str(e)})
        raise
    update_state(
        instance_path,
        backup_dir=str(target),
        last_backup=result.entry,
        last_failure=None,
        last_integrity_check={
            "at_utc": now.isoformat(),
            "ok": True,
            "source": result.entry["file"],
        },
    )
    return result


def _take(
    db_path: Path, target: Path, reason: str, keep_daily: int, keep_monthly: int, now: dt.datetime
) -> Backup:
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BackupError(f"Không tạo được thư mục sao lưu {target}: {e.strerror}.") from None
    size = sum(
        p.stat().st_size for p in (db_path, db_path.with_name(db_path.name + "-wal")) if p.exists()
    )
    if shutil.disk_usage(target).free < size * 1.2 + (1 << 20):
        raise BackupError(
            f"Không đủ chỗ trống trong {target} để sao lưu "
            f"({size // (1 << 20) + 1} MB cần có); chưa ghi gì."
        )
    stem, copies = f"ward-{to_local(now):%Y%m%d-%H%M%S}-{reason}", 1
    name = f"{stem}.sqlite"
    while (target / name).exists():  # a second copy within the same second keeps the first
        copies += 1
        name = f"{stem}-{copies}.sqlite"
    final, part = target / name, target / (name + ".part")
    try:
        expected = _copy(db_path, part)
        info = _verify_copy(part, expected)
        with open(part, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(part, final)
    except (sqlite3.Error, OSError, BackupError) as e:
        part.unlink(missing_ok=True)
        if isinstance(e, BackupError):
            raise
        if _full(e):
            raise BackupError(
                f"Ổ đĩa sao lưu {target} đã đầy: bản sao chưa được ghi (các bản "
                "sao lưu cũ vẫn còn nguyên). Giải phóng chỗ trống rồi sao lưu "
                "lại."
            ) from None
        raise BackupError(f"Sao lưu không thành công: {e}") from None
    entry = {
        "file": name,
        "taken_utc": now.isoformat(),
        "reason": reason,
        "size": final.stat().st_size,
        "sha256": file_sha256(final),
        "integrity": "ok",
        **info,
    }
    entries = [e for e in read_manifest(target) if (target / e["file"]).exists()] + [entry]
    kept = retained(entries, keep_daily, keep_monthly)
    removed = [e["file"] for e in entries if e not in kept]
    for file in removed:
        (target / file).unlink(missing_ok=True)
    _write_json(target / MANIFEST, {"backups": kept})
    return Backup(final, entry, removed)


def _copy(db_path: Path, part: Path) -> dict:
    """Copy the live database page by page in one read transaction; return what it held."""
    part.unlink(missing_ok=True)
    source = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    copy = open_copy(part)
    try:
        source.execute("BEGIN")  # the counts and the copy see the same snapshot
        expected = describe(source)
        source.backup(copy)
        source.execute("COMMIT")
        return expected
    finally:
        copy.close()
        source.close()


def _verify_copy(part: Path, expected: dict) -> dict:
    conn = sqlite3.connect(part)
    try:
        problems = integrity_problems(conn)
        found = describe(conn)
    finally:
        conn.close()
    if problems:
        raise BackupError(
            "Bản sao không qua kiểm tra toàn vẹn (cơ sở dữ liệu của phường có thể "
            f"đã hỏng): {'; '.join(problems)}"
        )
    if found != expected:
        raise BackupError("Bản sao không khớp số dòng với cơ sở dữ liệu của phường.")
    return found


def read_manifest(target: Path) -> list[dict]:
    return _read_json(Path(target) / MANIFEST, {}).get("backups", [])


def retained(entries: list[dict], keep_daily: int, keep_monthly: int) -> list[dict]:
    """Which copies to keep, oldest first: the newest copy of each of the last ``keep_daily``
    days and of each of the last ``keep_monthly`` months (local time), always the newest copy,
    and every copy taken before an upgrade or a restore during those days. Those take no daily
    slot, so a restore never prunes the very copy it restores, and a later daily copy (holding
    the upgraded data) never pushes out the one taken before the upgrade."""
    # entries are in the order taken: of two with the same time, the later one is the newer
    newest_first = [
        e
        for _, e in sorted(
            enumerate(entries), reverse=True, key=lambda pair: (pair[1]["taken_utc"], pair[0])
        )
    ]
    local_day = [to_local(dt.datetime.fromisoformat(e["taken_utc"])).date() for e in newest_first]
    keep, days, months = [], [], []
    for entry, day in zip(newest_first, local_day):
        month = (day.year, day.month)
        if entry.get("reason", "").startswith("before-"):
            take = (local_day[0] - day).days < keep_daily
        else:
            take = False
            if day not in days and len(days) < keep_daily:
                days.append(day)
                take = True
            if month not in months and len(months) < keep_monthly:
                months.append(month)
                take = True
        if take or not keep:
            keep.append(entry)
    return list(reversed(keep))


# --- Health -----------------------------------------------------------------------------------


def check_integrity(db_path: str | Path, instance_path: str) -> list[str]:
    """``integrity_check`` of the live database, recorded for the panel; returns the problems."""
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        problems = integrity_problems(conn)
    finally:
        conn.close()
    update_state(
        instance_path,
        last_integrity_check={
            "at_utc": utcnow().isoformat(),
            "ok": not problems,
            "problems": problems,
            "source": "live",
        },
    )
    return problems


def disk_warnings(instance_path: str, db_path: str | Path) -> list[str]:
    """Free-space warnings for the database's disk and the backup folder's, before they fill."""
    size = Path(db_path).stat().st_size if Path(db_path).exists() else 0
    threshold = max(FREE_DISK_WARNING_BYTES, 5 * size)
    warnings = []
    for label, folder in (
        ("Ổ đĩa chứa dữ liệu", Path(instance_path)),
        ("Ổ đĩa sao lưu", backup_dir(instance_path)),
    ):
        probe = folder
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        free = shutil.disk_usage(probe).free
        if free < threshold:
            warnings.append(
                f"{label} ({folder}) chỉ còn {free / 1024**2:,.0f} MB trống; "
                "hãy giải phóng chỗ trống trước khi đầy.".replace(",", ".")
            )
    return warnings


# --- Restoring --------------------------------------------------------------------------------


def check_backup_file(path: Path, *, known_revisions: set[str], ward_code: str | None) -> dict:
    """Open a backup file read-only and say what it holds, or :class:`BackupError` why it cannot
    be restored: not SQLite, damaged, another ward's, or from a newer release than this one."""
    if not path.is_file():
        raise BackupError(f"Không có tệp {path}.")
    with open(path, "rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise BackupError(f"{path.name} không phải tệp cơ sở dữ liệu SQLite.")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        problems = integrity_problems(conn)
        info = describe(conn)
    except sqlite3.DatabaseError as e:
        raise BackupError(f"{path.name} bị hỏng: {e}.") from None
    finally:
        conn.close()
    if problems:
        raise BackupError(f"{path.name} bị hỏng (kiểm tra toàn vẹn): {'; '.join(problems)}")
    if not info["ward_code"] or info["schema"] is None:
        raise BackupError(f"{path.name} không phải bản sao lưu của phần mềm một cửa.")
    if ward_code and info["ward_code"] != ward_code:
        raise BackupError(
            f"{path.name} là dữ liệu của đơn vị {info['ward_code']}, không phải {ward_code}."
        )
    if info["schema"] not in known_revisions:
        raise BackupError(
            f"{path.name} do phiên bản phần mềm mới hơn tạo ra (lược đồ "
            f"{info['schema']}); hãy nâng cấp phần mềm trước khi khôi phục."
        )
    return info


def restore_file(backup: Path, db_path: Path) -> None:
    """Put ``backup`` in place of the live database.

    Written through the backup API into the live file, so a process that still has it open sees
    the restored pages rather than a file swapped under it; a live file too damaged for that is
    moved aside (with its WAL) and the copy takes its place.
    """
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        try:
            live = sqlite3.connect(db_path, timeout=30)
            try:
                source.backup(live)
            finally:
                live.close()
            return
        except sqlite3.DatabaseError:
            stamp = f"{utcnow():%Y%m%d%H%M%S}"
            for suffix in ("", "-wal", "-shm"):
                damaged = db_path.with_name(db_path.name + suffix)
                if damaged.exists():
                    damaged.rename(damaged.with_name(f"{damaged.name}.hong-{stamp}"))
        fresh = sqlite3.connect(db_path)
        try:
            source.backup(fresh)
        finally:
            fresh.close()
    finally:
        source.close()
