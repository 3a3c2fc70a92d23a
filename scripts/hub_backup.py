"""Back up and restore the city hub's database, SQLite or PostgreSQL; schedule the backup daily.

    python scripts/hub_backup.py backup --instance /srv/hub --to /mnt/sao-luu [--keep 14]
    python scripts/hub_backup.py restore /mnt/sao-luu/hub-20261126-020000.sqlite --instance /srv/hub

The database is the hub's own: ``$CITY_HUB_DATABASE_URL`` (or ``--database-url``) when it names
PostgreSQL, else ``<instance>/hub.sqlite``. SQLite is copied with the backup API in one read
transaction (never a file copy of a live database), checked (``integrity_check`` and the row count
of every table against the live database's) and only then renamed from ``.part``. PostgreSQL is
dumped with ``pg_dump --format=custom`` and the dump is read back with ``pg_restore --list``
before it counts. The newest ``--keep`` copies are kept.

A restore puts the copy back (SQLite through the backup API, PostgreSQL with
``pg_restore --clean --single-transaction``): stop ``city-hub serve`` first. Nothing more is
needed: every ward keeps its outbox, and at its next sync the hub's checkpoint tells it to send
again whatever the restored hub lost.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wardapp.backup import BackupError, integrity_problems  # noqa: E402


def database_url(args) -> str | None:
    url = args.database_url or os.environ.get("CITY_HUB_DATABASE_URL")
    return url if url and url.startswith("postgresql") else None


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as pg_dump reads it (no ``+driver``)."""
    _, rest = url.split("://", 1)
    return "postgresql://" + rest


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def backup_sqlite(source: Path, target: Path) -> None:
    part = target.with_name(target.name + ".part")
    live = sqlite3.connect(source, timeout=30, isolation_level=None)
    copy = sqlite3.connect(part)
    try:
        live.execute("BEGIN")
        expected = counts(live)
        live.backup(copy)
        live.execute("COMMIT")
        problems = integrity_problems(copy)
        if problems or counts(copy) != expected:
            raise BackupError(f"bản sao không đạt kiểm tra: {problems or 'số dòng khác'}")
    except (sqlite3.Error, BackupError):
        copy.close()
        part.unlink(missing_ok=True)
        raise
    finally:
        copy.close()  # closing twice is harmless; the copy must be closed before the unlink
        live.close()
    os.replace(part, target)


def backup_postgresql(url: str, target: Path) -> None:
    part = target.with_name(target.name + ".part")
    try:
        subprocess.run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--file",
                str(part),
                "--dbname",
                libpq_url(url),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        subprocess.run(["pg_restore", "--list", str(part)], check=True, capture_output=True)
    except subprocess.CalledProcessError as e:
        part.unlink(missing_ok=True)
        raise BackupError(f"pg_dump/pg_restore thất bại: {e.stderr.strip()[:500]}") from None
    os.replace(part, target)


def backup(args) -> Path:
    target_dir = Path(args.to)
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = f"{dt.datetime.now():%Y%m%d-%H%M%S}"
    url = database_url(args)
    if url:
        target = target_dir / f"hub-{stamp}.dump"
        backup_postgresql(url, target)
    else:
        target = target_dir / f"hub-{stamp}.sqlite"
        backup_sqlite(Path(args.instance) / "hub.sqlite", target)
    copies = sorted(target_dir.glob("hub-*.sqlite")) + sorted(target_dir.glob("hub-*.dump"))
    for old in sorted(copies, key=lambda p: p.name)[: -args.keep]:
        old.unlink()
    return target


def restore(args) -> None:
    source = Path(args.file)
    url = database_url(args)
    if url:
        if source.suffix != ".dump":
            raise BackupError("Cơ sở dữ liệu PostgreSQL khôi phục từ tệp .dump của pg_dump.")
        done = subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--dbname",
                libpq_url(url),
                str(source),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise BackupError(f"pg_restore thất bại: {done.stderr.strip()[:500]}")
        return
    copy = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        problems = integrity_problems(copy)
        if problems:
            raise BackupError(f"{source.name} không đạt kiểm tra toàn vẹn: {problems}")
        live = sqlite3.connect(Path(args.instance) / "hub.sqlite", timeout=30)
        try:
            copy.backup(live)
        finally:
            live.close()
    except sqlite3.DatabaseError as e:
        raise BackupError(f"{source.name} không phải bản sao lưu SQLite hợp lệ: {e}") from None
    finally:
        copy.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="URL PostgreSQL (mặc định: $CITY_HUB_DATABASE_URL)")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("backup", help="sao lưu và kiểm tra bản sao")
    make.add_argument("--instance", required=True, help="thư mục dữ liệu của máy chủ thành phố")
    make.add_argument("--to", required=True, help="thư mục sao lưu")
    make.add_argument("--keep", type=int, default=14, help="giữ bao nhiêu bản mới nhất")
    back = commands.add_parser("restore", help="khôi phục từ một bản sao (dừng city-hub trước)")
    back.add_argument("file")
    back.add_argument("--instance", required=True, help="thư mục dữ liệu của máy chủ thành phố")
    args = parser.parse_args(argv)
    try:
        if args.command == "backup":
            print(f"Đã sao lưu và kiểm tra: {backup(args)}")
        else:
            restore(args)
            print(f"Đã khôi phục {args.file}. Các phường gửi lại phần thiếu ở lần đồng bộ tới.")
    except (BackupError, OSError, sqlite3.Error) as e:
        print(f"Lỗi: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
