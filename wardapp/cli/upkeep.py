"""Looking after the ward's database: ``backup`` and ``restore`` (which then asks the hub for
what the backup lacks), the weekly integrity ``check``, ``reindex`` of the search index, and
``export`` of a table to CSV for support staff."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from .. import DATABASE_FILE
from .instance import instance_option, open_app

# The app, the models and the backup module are imported in each command: ``wardapp --help``
# does not load SQLAlchemy (tests/test_cli_startup.py).


@click.command()
@instance_option
def reindex(instance):
    """Dựng lại chỉ mục tìm kiếm hồ sơ."""
    from ..database import ensure_search_index

    app = open_app(instance)
    with app.app_context():
        ensure_search_index(rebuild=True)
    click.echo("Đã dựng lại chỉ mục tìm kiếm.")


@click.command("export")
@click.argument(
    "table",
    type=click.Choice(
        [
            "dossier",
            "dossier_event",
            "procedure",
            "unit",
            "user",
            "outbox",
            "letter",
            "rating",
            "feedback",
            "inspection",
        ]
    ),
)
@click.option(
    "--out",
    type=click.File("w", encoding="utf-8-sig"),
    default="-",
    help="Tệp CSV (mặc định: màn hình).",
)
@instance_option
def export(table, out, instance):
    """Xuất một bảng ra CSV (UTF-8 có BOM, mở được bằng Excel) cho cán bộ hỗ trợ."""
    import sqlite_utils

    from kernel.spreadsheet import cell

    path = Path(instance) / DATABASE_FILE
    if not path.exists():
        raise click.ClickException(f"Không có dữ liệu tại {instance}.")
    ward_db = sqlite_utils.Database(path)
    columns = [c.name for c in ward_db[table].columns if c.name != "password_hash"]
    writer = csv.writer(out)
    writer.writerow(columns)
    count = 0
    for row in ward_db[table].rows_where(select=", ".join(f"[{c}]" for c in columns)):
        writer.writerow([cell(row[c]) for c in columns])
        count += 1
    ward_db.close()
    click.echo(f"Đã xuất {count} dòng của bảng {table}.", err=True)


@click.command()
@click.option(
    "--to",
    "target",
    type=click.Path(file_okay=False),
    help="Thư mục sao lưu (ổ đĩa thứ hai hoặc USB); được nhớ cho các lần sau. "
    "Mặc định: lần trước, hoặc <instance>/backups.",
)
@click.option(
    "--keep-daily",
    default=7,
    show_default=True,
    type=click.IntRange(1),
    help="Giữ bản sao của bao nhiêu ngày gần nhất.",
)
@click.option(
    "--keep-monthly",
    default=12,
    show_default=True,
    type=click.IntRange(0),
    help="Giữ bản sao của bao nhiêu tháng gần nhất (bản cuối mỗi tháng).",
)
@instance_option
def backup(target, keep_daily, keep_monthly, instance):
    """Sao lưu cơ sở dữ liệu khi đang chạy, kiểm tra bản sao, xóa bản cũ quá hạn giữ."""
    from ..backup import BackupError, backup_dir, take_backup
    from ..database import database_path

    app = open_app(instance)
    with app.app_context():
        folder = backup_dir(instance, target or app.config.get("BACKUP_DIR"))
        try:
            made = take_backup(
                database_path(),
                folder,
                instance_path=instance,
                keep_daily=keep_daily,
                keep_monthly=keep_monthly,
            )
        except BackupError as e:
            raise click.ClickException(str(e))
    counts = made.entry["counts"]
    click.echo(
        f"Đã sao lưu và kiểm tra: {made.path} ({counts.get('dossier', 0)} hồ sơ, "
        f"{counts.get('outbox', 0)} bản ghi đồng bộ, toàn vẹn: ok)."
    )
    if made.removed:
        click.echo(f"Đã xóa {len(made.removed)} bản sao quá hạn giữ.")


@click.command()
@click.argument("backup_file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Không hỏi lại.")
@instance_option
def restore(backup_file, yes, instance):
    """Khôi phục từ một bản sao lưu (kiểm tra trước), rồi đối chiếu với máy chủ thành phố để
    không mất, không trùng hồ sơ."""
    import sqlalchemy as sa

    from .. import create_app
    from ..audit import audit
    from ..backup import BackupError, backup_dir, check_backup_file, restore_file, take_backup
    from ..database import database_path, known_revisions
    from ..extensions import db
    from ..models import SyncNode
    from ..sync.client import HubClient, SyncConfig, SyncFailed
    from .recovery import report_recovery

    live = Path(instance) / DATABASE_FILE
    if not live.exists():
        raise click.ClickException(
            f"Chưa khởi tạo dữ liệu tại {instance}. Trên máy mới: "
            "wardapp init --unit <mã> --from-hub <địa chỉ> trước."
        )
    app = create_app(instance_path=instance)
    with app.app_context():
        try:
            ward_code = db.session.get(SyncNode, 1).ward_code
        except sa.exc.DatabaseError:  # too damaged to read (a dying disk): the backup decides
            db.session.rollback()
            ward_code = None
        try:
            info = check_backup_file(
                Path(backup_file), known_revisions=known_revisions(), ward_code=ward_code
            )
        except BackupError as e:
            raise click.ClickException(f"Không khôi phục: {e}")
        click.echo(
            f"Bản sao lưu hợp lệ: đơn vị {info['ward_code']}, "
            f"{info['counts'].get('dossier', 0)} hồ sơ, lược đồ {info['schema']}."
        )
        if not yes:
            click.confirm("Thay dữ liệu hiện tại bằng bản sao lưu này?", abort=True)
        try:  # the data being replaced is kept too
            take_backup(
                database_path(),
                backup_dir(instance, app.config.get("BACKUP_DIR")),
                instance_path=instance,
                reason="before-restore",
            )
        except BackupError as e:
            click.echo(f"Không sao lưu được dữ liệu hiện tại ({e}); vẫn khôi phục.", err=True)
        db.session.remove()
        db.engine.dispose()
        restore_file(Path(backup_file), Path(database_path()))
    app = open_app(instance)  # a backup from an older release is upgraded here
    with app.app_context():
        audit("ward.restore", Path(backup_file).name, outbox_head=info["outbox_head"])
        db.session.commit()
        click.echo(f"Đã khôi phục {Path(backup_file).name}.")
        config = SyncConfig.load(instance)
        if config is None:
            return
        try:
            report_recovery(HubClient(config), info["ward_code"])
        except SyncFailed as e:
            click.echo(
                f"Chưa đối chiếu được với máy chủ thành phố ({e.message}). Khi có kết "
                "nối, chạy wardapp sync recover, trước khi tiếp nhận hồ sơ mới (số hồ sơ "
                "mới có thể trùng với hồ sơ chỉ thành phố còn giữ).",
                err=True,
            )


@click.command()
@instance_option
def check(instance):
    """Kiểm tra toàn vẹn cơ sở dữ liệu (nên chạy hằng tuần); kết quả hiện trên trang đồng bộ."""
    from ..backup import check_integrity
    from ..database import database_path

    app = open_app(instance)
    with app.app_context():
        problems = check_integrity(database_path(), instance)
    if problems:
        raise click.ClickException(
            "Cơ sở dữ liệu có lỗi: "
            + "; ".join(problems)
            + ". Khôi phục bản sao lưu gần nhất (wardapp restore)."
        )
    click.echo("Cơ sở dữ liệu toàn vẹn (integrity_check: ok).")
