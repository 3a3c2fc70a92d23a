"""The ``city-hub`` command: set up the hub, manage ward credentials, import USB packages, serve.

Every command takes ``--instance`` (or ``$CITY_HUB_INSTANCE``); the database is SQLite in that
folder unless ``$CITY_HUB_DATABASE_URL`` names another (PostgreSQL).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import click
from click_default_group import DefaultGroup

from kernel.password_rule import new_password_option, password_option

from .roles import HUB_ROLES

# The app, its models and services are imported in each command, not here: ``city-hub --help``
# does not load SQLAlchemy (tests/test_cli_startup.py).

instance_option = click.option(
    "--instance",
    "instance",
    envvar="CITY_HUB_INSTANCE",
    default="hub-instance",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Thư mục dữ liệu của máy chủ thành phố (biến môi trường CITY_HUB_INSTANCE).",
)


def open_hub(instance: str):
    """The hub app with its schema brought up to date."""
    from . import create_app, upgrade_schema

    os.makedirs(instance, exist_ok=True)
    app = create_app(instance_path=instance)
    with app.app_context():
        upgrade_schema()
    return app


@click.group(cls=DefaultGroup, default="serve", default_if_no_args=True)
@click.version_option(package_name="longxuyen-onestop")
def cli():
    """Kho số liệu một cửa của thành phố Long Xuyên."""


@cli.command()
@instance_option
def init(instance):
    """Tạo cơ sở dữ liệu của máy chủ và công bố danh mục đầu tiên."""
    from kernel.refdata import snapshot_from_files

    from .extensions import db
    from .refdata import latest_snapshot, publish

    app = open_hub(instance)
    with app.app_context():
        if latest_snapshot() is None:
            snapshot = publish(snapshot_from_files())
            db.session.commit()
            click.echo(f"Đã công bố danh mục phiên bản {snapshot.version}.")
        click.echo(f"Máy chủ thành phố sẵn sàng tại {os.path.abspath(instance)}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Địa chỉ lắng nghe.")
@click.option("--port", default=8090, show_default=True, type=int, help="Cổng.")
@click.option("--threads", default=8, show_default=True, type=int, help="Số luồng waitress.")
@instance_option
def serve(host, port, threads, instance):
    """Chạy máy chủ của thành phố (waitress)."""
    import waitress

    app = open_hub(instance)
    click.echo(f"Đang phục vụ tại http://{host}:{port}/ (Ctrl-C để dừng)")
    waitress.serve(app, host=host, port=port, threads=threads, ident="city-hub")


@cli.group()
def ward():
    """Đăng ký phường, xã và khóa đồng bộ của từng đơn vị."""


@contextlib.contextmanager
def _refusals(hint: str = ""):
    """A service's refusal (an account's, a unit's) as the command's error message."""
    from kernel.account_admin import AccountError

    from .wards import WardError

    try:
        yield
    except (AccountError, WardError) as e:
        raise click.ClickException(f"{e}{hint}") from None


@ward.command("add")
@click.argument("code")
@instance_option
def ward_add(code, instance):
    """Đăng ký một phường, xã và in khóa đồng bộ (chỉ hiện một lần)."""
    from .wards import register_ward, unit_names

    app = open_hub(instance)
    with app.app_context():
        if code not in unit_names():
            raise click.BadParameter(
                f"Không có đơn vị mã {code} trong danh mục.", param_hint="CODE"
            )
    with app.app_context(), _refusals(f" Lệnh cấp khóa mới: `city-hub ward rotate {code}`."):
        record, token = register_ward(code)
    click.echo(f"Đã đăng ký {record.name} ({code}). Khóa đồng bộ (chỉ hiện một lần):")
    click.echo(token)


@ward.command("rotate")
@click.argument("code")
@instance_option
def ward_rotate(code, instance):
    """Cấp khóa đồng bộ mới cho một phường, xã (khóa cũ hết hiệu lực ngay)."""
    from .wards import rotate_credential

    app = open_hub(instance)
    with app.app_context(), _refusals():
        _, token = rotate_credential(code)
    click.echo(token)


@ward.command("revoke")
@click.argument("code")
@instance_option
def ward_revoke(code, instance):
    """Thu hồi khóa đồng bộ của một phường, xã."""
    from .wards import revoke_credential

    app = open_hub(instance)
    with app.app_context(), _refusals():
        revoke_credential(code)
    click.echo(f"Đã thu hồi khóa đồng bộ của {code}.")


@ward.command("allow-rekey")
@click.argument("code")
@instance_option
def ward_allow_rekey(code, instance):
    """Cho phép một phường, xã đổi sang cơ sở dữ liệu mới (sau khôi phục hoặc thay máy)."""
    from .extensions import db
    from .models import hub_audit
    from .wards import find_ward

    app = open_hub(instance)
    with app.app_context(), _refusals():
        find_ward(code).rekey_allowed = True
        hub_audit("ward.allow_rekey", code)
        db.session.commit()
    click.echo(f"{code}: lần đồng bộ tới được phép dùng cơ sở dữ liệu mới.")


@ward.command("list")
@instance_option
def ward_list(instance):
    """Tình trạng đồng bộ của từng phường, xã."""
    import sqlalchemy as sa

    from kernel.columns import utcnow
    from kernel.formatting import vn_datetime

    from .extensions import db
    from .models import Quarantine, Ward

    app = open_hub(instance)
    with app.app_context():
        quarantined = dict(
            db.session.execute(
                sa.select(Quarantine.ward_code, sa.func.count()).group_by(Quarantine.ward_code)
            ).all()
        )
        now = utcnow()
        for record in db.session.scalars(sa.select(Ward).order_by(Ward.code)):
            silent = (
                record.last_seen_utc is None
                or (now - record.last_seen_utc).total_seconds() > 24 * 3600
            )
            flags = [
                f
                for f, on in (("IM LẶNG >24 GIỜ", silent), ("ĐÃ THU HỒI", not record.active))
                if on
            ]
            click.echo(
                f"{record.code} {record.name:<22} đã nhận #{record.acked_seq} "
                f"tồn {record.backlog} · đẩy OK {vn_datetime(record.last_push_ok_utc) or '–'} · "
                f"cách ly {quarantined.get(record.code, 0)} · lệch giờ "
                f"{record.clock_skew_s if record.clock_skew_s is not None else '–'} s"
                + (f" · lỗi: {record.last_error}" if record.last_error else "")
                + (f" [{', '.join(flags)}]" if flags else "")
            )


@ward.command("quarantine")
@click.argument("code")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Số bản ghi mới nhất hiện ra.",
)
@instance_option
def ward_quarantine(code, limit, instance):
    """Các bản ghi bị cách ly của một phường, xã (mới nhất trước): bảng, mã, lý do."""
    from kernel.formatting import vn_datetime

    from .admin import quarantined_records
    from .extensions import db
    from .wards import find_ward

    app = open_hub(instance)
    with app.app_context(), _refusals():
        try:
            find_ward(code)
            total, records = quarantined_records(code, limit=limit)
        finally:
            db.session.remove()
            db.engine.dispose()
    click.echo(f"{code}: {total} bản ghi bị cách ly.")
    for q in records:
        click.echo(
            f"{vn_datetime(q.received_utc)} #{q.seq} {q.table_name} {q.record_uuid} "
            f"v{q.record_version if q.record_version is not None else '?'} "
            f"{q.code}: {q.message}"
        )


@cli.command("import")
@click.argument("package", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Tệp tổng hợp mang về phường (mặc định: cạnh gói, đuôi .summary.json).",
)
@instance_option
def import_package(package, out, instance):
    """Nhập gói dữ liệu USB của một phường, xã và ghi tệp tổng hợp mang về."""
    from wardapp.sync.package import replacing

    from .usb import import_package as run_import

    app = open_hub(instance)
    with app.app_context():
        result = run_import(Path(package), app.config)
    click.echo(result.describe())
    if result.summary_json:  # a package naming no ward the hub knows gets no summary
        target = Path(out) if out else Path(package).with_suffix(".summary.json")
        try:
            with replacing(target) as summary:
                summary.write(result.summary_json.encode())
        except OSError as e:
            raise click.ClickException(  # what was imported stays: importing again is harmless
                f"Không ghi được tệp tổng hợp {target} ({e.strerror or e}). Kết quả nhập ở trên "
                "vẫn giữ; chạy lại lệnh với --out TỆP ở chỗ ghi được để có tệp tổng hợp."
            )
        click.echo(f"Tệp tổng hợp: {target}")
    if not result.ok:
        raise SystemExit(1)


@cli.group()
def refdata():
    """Danh mục dùng chung (đơn vị, thủ tục, ngày nghỉ) công bố cho phường, xã."""


@refdata.command("publish")
@click.argument("snapshot_file", type=click.File("r", encoding="utf-8"))
@instance_option
def refdata_publish(snapshot_file, instance):
    """Công bố một phiên bản danh mục mới từ tệp JSON."""
    import json

    from kernel.refdata import ReferenceDataError

    from .extensions import db
    from .models import hub_audit
    from .refdata import publish

    app = open_hub(instance)
    with app.app_context():
        try:
            published = publish(json.load(snapshot_file))
        except (ReferenceDataError, ValueError) as e:
            raise click.ClickException(f"Danh mục không hợp lệ: {e}")
        hub_audit("refdata.publish", f"phiên bản {published.version}")
        db.session.commit()
        click.echo(f"Đã công bố danh mục phiên bản {published.version}.")


@cli.group()
def user():
    """Tài khoản cán bộ thành phố (xem báo cáo, quản trị)."""


ROLE_HELP = "viewer: xem báo cáo; admin: quản trị đơn vị, danh mục, tài khoản."


@user.command("add")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Họ và tên.")
@click.option(
    "--role",
    type=click.Choice(list(HUB_ROLES)),
    default="viewer",
    show_default=True,
    help=ROLE_HELP,
)
@password_option()
@instance_option
def user_add(username, full_name, role, password, instance):
    """Thêm tài khoản cán bộ thành phố."""
    from . import accounts

    app = open_hub(instance)
    with app.app_context(), _refusals():
        accounts.add_account(username, full_name, [role], password)
    click.echo(f"Đã thêm {username} ({role}).")


@user.command("disable")
@click.argument("username")
@instance_option
def user_disable(username, instance):
    """Khóa một tài khoản cán bộ thành phố."""
    from . import accounts

    app = open_hub(instance)
    with app.app_context(), _refusals():
        accounts.disable(accounts.find_account(username))
    click.echo(f"Đã khóa tài khoản {username}.")


@user.command("set-role")
@click.argument("username")
@click.option("--role", type=click.Choice(list(HUB_ROLES)), required=True, help=ROLE_HELP)
@instance_option
def user_set_role(username, role, instance):
    """Đổi vai trò của một tài khoản cán bộ thành phố (mọi phiên đăng nhập của tài khoản kết
    thúc)."""
    from . import accounts

    app = open_hub(instance)
    with app.app_context(), _refusals():
        accounts.set_roles(accounts.find_account(username), [role])
    click.echo(f"Đã đổi vai trò của {username} ({role}).")


@user.command("reset-password")
@click.argument("username")
@new_password_option
@instance_option
def user_reset_password(username, password, instance):
    """Đặt lại mật khẩu (và mở khóa) một tài khoản cán bộ thành phố."""
    from . import accounts

    app = open_hub(instance)
    with app.app_context(), _refusals():
        accounts.reset_password(accounts.find_account(username), password)
    click.echo(f"Đã đặt lại mật khẩu cho {username}.")


@cli.command()
@click.option(
    "--period",
    help="Kỳ: 2020-03 (tháng), 2020-Q3 (quý), 2020-6M, 2020-9M (6, 9 tháng đầu năm), 2020 (năm).",
)
@click.option("--from", "first", help="Ngày bắt đầu (yyyy-mm-dd), cùng --to.")
@click.option("--to", "last", help="Ngày kết thúc (yyyy-mm-dd), tính cả ngày đó.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx", "json"]),
    default="csv",
    show_default=True,
    help="Định dạng.",
)
@click.option(
    "--map",
    "map_kind",
    type=click.Choice(["period", "today"]),
    default="period",
    show_default=True,
    help="Đơn vị hành chính của kỳ báo cáo (period) hay đơn vị hành chính hiện nay (today).",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Tệp ghi ra (mặc định: màn hình).")
@instance_option
def report(period, first, last, fmt, map_kind, out, instance):
    """Bảng kết quả theo đơn vị và toàn thành phố cho một kỳ (như trên màn hình báo cáo)."""
    import json
    import sys

    from .reports import export
    from .reports.maps import on_map, unit_map
    from .reports.periods import PeriodError, parse_period
    from .reports.queries import ward_report

    try:
        chosen = parse_period(period, first, last)
    except PeriodError as e:
        raise click.BadParameter(str(e))
    if fmt == "xlsx" and not out:
        raise click.BadParameter("Tệp Excel cần --out.", param_hint="--out")
    app = open_hub(instance)
    with app.app_context():
        units = unit_map(map_kind)
        rows = on_map(ward_report(chosen.window()), units, chosen)
    if fmt == "xlsx":
        Path(out).write_bytes(export.to_xlsx(rows, chosen, unit_map=units.label))
        click.echo(f"Đã ghi {out}")
        return
    text = (
        export.to_csv(rows, chosen)
        if fmt == "csv"
        else json.dumps(export.to_json(rows, chosen, units), ensure_ascii=False, indent=1) + "\n"
    )
    if out:
        Path(out).write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        click.echo(f"Đã ghi {out}")
    else:
        sys.stdout.write(text)
