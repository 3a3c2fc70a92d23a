"""The ``wardapp`` command: set up, serve and look after one ward's desk.

Every command takes ``--instance`` (or ``$WARDAPP_INSTANCE``), the ward's instance folder, so
several wards can run side by side on one machine.
"""
from __future__ import annotations

import csv
import importlib.metadata
import os
import re
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from click_default_group import DefaultGroup

from kernel.accounts import new_password_option, password_ok

from . import DATABASE_FILE, create_app, write_secret_key
from .audit import audit
from .database import write_transaction
from .extensions import db
from wardapp.sync.records import ROLES, User
from .models import API_SCOPES, SyncNode, Unit

instance_option = click.option(
    "--instance", "instance", envvar="WARDAPP_INSTANCE", default="instance", show_default=True,
    type=click.Path(file_okay=False), help="Thư mục dữ liệu của phường, xã (biến môi trường WARDAPP_INSTANCE).")


def open_app(instance: str, *, must_exist: bool = True):
    """The app on an initialised instance folder, with its schema brought up to date."""
    from .database import upgrade_schema

    if must_exist and not (Path(instance) / DATABASE_FILE).exists():
        raise click.ClickException(
            f"Chưa khởi tạo dữ liệu tại {instance}. Chạy: wardapp init --unit <mã đơn vị> --instance {instance}")
    from .backup import BackupError

    app = create_app(instance_path=instance)
    with app.app_context():
        try:
            upgrade_schema()
        except BackupError as e:
            raise click.ClickException(f"Chưa nâng cấp cơ sở dữ liệu vì chưa sao lưu được: {e}")
    return app


class WardGroup(DefaultGroup):
    """The ward's commands, and those other packages add under the ``wardapp.commands`` entry
    point (the demo city), loaded when asked for as flask's CLI loads its plugins: this app
    never imports them."""

    def _add_plugin_commands(self) -> None:
        if getattr(self, "_plugins_added", False):
            return
        self._plugins_added = True
        for entry in importlib.metadata.entry_points(group="wardapp.commands"):
            self.add_command(entry.load(), entry.name)

    def get_command(self, ctx, cmd_name):
        self._add_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        self._add_plugin_commands()
        return super().list_commands(ctx)


@click.group(cls=WardGroup, default="serve", default_if_no_args=True)
@click.version_option(package_name="longxuyen-onestop")
def cli():
    """Phần mềm Bộ phận Tiếp nhận và Trả kết quả của phường, xã (chạy trên mạng nội bộ)."""


def _agency_code_ok(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[0-9A-Za-z.]{3,30}", value):
        raise click.BadParameter("Mã cơ quan chỉ gồm chữ, số và dấu chấm (3–30 ký tự).")
    return value


def refuse_existing(instance: str) -> None:
    """Never initialise over a ward's data."""
    if (Path(instance) / DATABASE_FILE).exists():
        raise click.ClickException(f"Thư mục {instance} đã có dữ liệu; không khởi tạo lại.")


def initialise(instance: str, unit_code: str, admin_username: str, admin_password: str,
               admin_name: str = "Quản trị viên", agency_code: str | None = None):
    """Create the instance folder, database, reference data, ward identity and first admin."""
    from kernel.refdata import read_json
    from .refdata import load_reference_data

    refuse_existing(instance)
    if unit_code not in {u["code"] for u in read_json("units.json")["units"]}:
        raise click.BadParameter(f"Không có đơn vị mã {unit_code} trong danh mục.",
                                 param_hint="--unit")
    os.makedirs(instance, exist_ok=True)
    write_secret_key(instance)
    app = open_app(instance, must_exist=False)
    with app.app_context():
        counts = load_reference_data()
        unit = db.session.get(Unit, unit_code)
        if agency_code:
            unit.agency_code = agency_code
        db.session.add(SyncNode(id=1, ward_code=unit.code))
        admin = User(ward_code=unit.code, username=admin_username.casefold(),
                     full_name=admin_name, roles="admin")
        admin.set_password(admin_password)
        db.session.add(admin)
        db.session.flush()
        audit("ward.init", f"{unit.code} {unit.name}", agency_code=unit.agency_code)
        audit("user.add", admin.username, roles=admin.roles)
        db.session.commit()
        return app, {"code": unit.code, "name": unit.name, **counts}


def lost_codes_options(command):
    """The options of every command that rebuilds a database which may lack the lost PC's last
    dossiers: which receipt codes it had given, as far as the admin knows."""
    from .sync.recovery import CODE_GAP

    command = click.option(
        "--code-gap", default=CODE_GAP, show_default=True, type=click.IntRange(1, 5000),
        help="Số hồ sơ chừa lại mỗi ngày cho giấy hẹn máy cũ có thể đã cấp sau lần đồng bộ "
             "cuối (từ ngày của hồ sơ mới nhất đến hôm nay).")(command)
    return click.option(
        "--last-code", "last_codes", multiple=True, metavar="MÃ_HỒ_SƠ",
        help="Mã hồ sơ cuối cùng máy cũ đã cấp trong một ngày, quản trị thấy trên giấy hẹn hoặc "
             "sổ theo dõi (lặp lại cho mỗi ngày); ngày ấy đánh số tiếp sau mã này, không "
             "chừa thêm.")(command)


def say_reserved(recovered, gap: int) -> None:
    """Tell the admin from which number each day's new dossiers go on, and why."""
    for floor in recovered.reserved:
        reason = ("theo mã quản trị xác nhận" if floor.confirmed
                  else f"chừa {gap} số cho giấy hẹn máy cũ có thể đã cấp")
        click.echo(f"Hồ sơ mới mang mã sau {floor.prefix}{floor.number:04d} ({reason}).")


@cli.command()
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị hành chính (GSO), ví dụ 30280.")
@click.option("--agency-code", callback=lambda c, p, v: _agency_code_ok(v),
              help="Mã cơ quan đứng đầu mã hồ sơ (mã định danh điện tử, ví dụ 000.31.28.H01); "
                   "mặc định là mã đơn vị.")
@click.option("--admin-username", default="admin", show_default=True, help="Tên đăng nhập quản trị.")
@click.option("--admin-password", prompt="Mật khẩu quản trị", hide_input=True,
              confirmation_prompt=True, callback=lambda c, p, v: password_ok(v),
              help="Mật khẩu quản trị (ít nhất 10 ký tự); hỏi nếu không nhập.")
@click.option("--from-hub", "hub_url", callback=lambda c, p, v: _hub_url_ok(v),
              help="Thay máy: lấy lại hồ sơ của đơn vị và danh mục từ máy chủ thành phố "
                   "(cần khóa đồng bộ của đơn vị).")
@click.option("--token", help="Khóa đồng bộ của đơn vị (cùng --from-hub; hỏi nếu không nhập).")
@lost_codes_options
@instance_option
def init(unit_code, agency_code, admin_username, admin_password, hub_url, token, last_codes,
         code_gap, instance):
    """Khởi tạo dữ liệu cho một phường, xã: cơ sở dữ liệu, danh mục, tài khoản quản trị;
    với --from-hub, dựng lại máy mới từ dữ liệu của đơn vị trên máy chủ thành phố."""
    if hub_url:
        if agency_code:
            raise click.BadParameter("Không dùng cùng --from-hub: mã cơ quan lấy theo danh mục "
                                     "của thành phố.", param_hint="--agency-code")
        token = token or click.prompt("Khóa đồng bộ", hide_input=True)
        provision_from_hub(instance, unit_code, hub_url, token.strip(), admin_username,
                           admin_password, code_gap=code_gap, last_codes=last_codes)
        return
    if last_codes:
        raise click.BadParameter("Chỉ dùng khi dựng lại máy từ máy chủ thành phố (--from-hub).",
                                 param_hint="--last-code")
    _, ward = initialise(instance, unit_code, admin_username, admin_password,
                         agency_code=agency_code)
    click.echo(f"Đã khởi tạo {ward['name']} ({ward['code']}) tại {os.path.abspath(instance)}")
    click.echo(f"Danh mục: {ward['units']} đơn vị, {ward['procedures']} thủ tục. "
               f"Tài khoản quản trị: {admin_username}")


def _hub_url_ok(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", value):
        raise click.BadParameter("Địa chỉ phải bắt đầu bằng http:// hoặc https://.")
    return value.rstrip("/") if value else value


def provision_from_hub(instance: str, unit_code: str, hub_url: str, token: str,
                       admin_username: str, admin_password: str, *, code_gap: int | None = None,
                       last_codes: tuple[str, ...] = ()) -> None:
    """A replacement PC: a new database filled from the hub's copy of this ward's records and
    its current reference data, with a new identity numbered past all the hub has seen, and
    each day's dossier numbers past any the dead PC may have printed on receipts."""
    from .sync.client import HubClient, SyncConfig, SyncFailed, apply_refdata
    from .sync.recovery import CODE_GAP, CodeError, recover_from_hub

    code_gap = code_gap or CODE_GAP

    refuse_existing(instance)
    client = HubClient(SyncConfig(hub_url, token))
    try:  # before anything is written: a wrong address or credential leaves no half instance
        refdata = client.answer(client.call("GET", "refdata"))
    except SyncFailed as e:
        raise click.ClickException(f"Không lấy được dữ liệu từ máy chủ thành phố: {e.message}")
    units = {u.get("code") for u in (refdata.get("snapshot") or {}).get("units", [])}
    if unit_code not in units:
        raise click.BadParameter(f"Không có đơn vị mã {unit_code} trong danh mục của thành phố.",
                                 param_hint="--unit")
    os.makedirs(instance, exist_ok=True)
    write_secret_key(instance)
    app = open_app(instance, must_exist=False)
    with app.app_context():
        try:
            apply_refdata(refdata)
            with write_transaction():
                db.session.add(SyncNode(id=1, ward_code=unit_code))
            recovered = recover_from_hub(client, always=True, code_gap=code_gap,
                                         last_codes=last_codes)
        except (SyncFailed, CodeError, sa.exc.SQLAlchemyError) as e:  # start again from nothing
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()
            for leftover in Path(instance).glob(DATABASE_FILE + "*"):
                leftover.unlink()
            raise click.ClickException("Không dựng lại được từ máy chủ thành phố: "
                                       f"{getattr(e, 'message', e)}")
        SyncConfig(hub_url, token).save(instance)
        audit("ward.reserve_codes", unit_code, floors={f.prefix: f.number
                                                        for f in recovered.reserved})
        admin = db.session.scalar(sa.select(User).where(User.username == admin_username.casefold()))
        if admin is None:
            admin = User(ward_code=unit_code, username=admin_username.casefold(),
                         full_name="Quản trị viên", roles="admin")
            db.session.add(admin)
        admin.set_password(admin_password)
        admin.active = True
        audit("ward.provision", f"{unit_code} từ {hub_url}", hub_acked=recovered.hub_acked,
              records=recovered.queued)
        audit("user.reset_password", admin.username)
        db.session.commit()
        dossiers = recovered.merged["dossier"]["added"]
    click.echo(f"Đã dựng lại đơn vị {unit_code} tại {os.path.abspath(instance)} từ máy chủ "
               f"thành phố: {dossiers} hồ sơ, {recovered.queued} bản ghi chờ gửi lại.")
    say_reserved(recovered, code_gap)
    click.echo(f"Nhờ thành phố chạy `city-hub ward allow-rekey {unit_code}` rồi chạy "
               "`wardapp sync`. Nếu còn bản sao lưu của máy cũ: `wardapp restore TỆP`. "
               "Các tài khoản khác cần đặt lại mật khẩu (wardapp user reset-password).")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Địa chỉ lắng nghe (0.0.0.0 để phục vụ cả mạng nội bộ).")
@click.option("--port", default=8080, show_default=True, type=int, help="Cổng.")
@click.option("--threads", default=6, show_default=True, type=int, help="Số luồng waitress.")
@instance_option
def serve(host, port, threads, instance):
    """Chạy phần mềm (waitress), sau khi tự nâng cấp cơ sở dữ liệu."""
    import waitress

    app = open_app(instance)
    click.echo(f"Đang phục vụ tại http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/ "
               "(Ctrl-C để dừng)")
    waitress.serve(app, host=host, port=port, threads=threads, ident="wardapp")


@cli.command()
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]),
              help="Ngày đầu (yyyy-mm-dd); mặc định theo bài báo: 01/01/2020.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]),
              help="Ngày cuối (yyyy-mm-dd), tính cả ngày đó; mặc định 30/09/2020.")
@click.option("--scale", default=1.0, show_default=True, type=click.FloatRange(0.001, 10),
              help="Nhân số hồ sơ so với nhịp của bài báo.")
@click.option("--seed", default=2020, show_default=True, type=int, help="Hạt giống ngẫu nhiên.")
@instance_option
def generate(first, last, scale, seed, instance):
    """Tạo hồ sơ mẫu cho phường, xã này (phần của nó trong thành phố mẫu), qua tầng nghiệp vụ.

    Mặc định là số liệu của bài báo (9 tháng đầu năm 2020); chỉ dùng cho phường chưa có hồ sơ."""
    from .dossiers.service import DossierError
    from .generator import ARTICLE, city_preset, generate_ward
    from wardapp.sync.records import Dossier

    app = open_app(instance)
    with app.app_context():
        if db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)):
            raise click.ClickException("Phường này đã có hồ sơ; chỉ tạo hồ sơ mẫu cho phường "
                                       "chưa có hồ sơ nào.")
        first = first.date() if first else ARTICLE.first
        last = last.date() if last else ARTICLE.last
        if last < first:
            raise click.BadParameter("Ngày cuối phải sau ngày đầu.", param_hint="--to")
        preset = ARTICLE
        if (first, last, scale, seed) != (ARTICLE.first, ARTICLE.last, 1.0, ARTICLE.seed):
            preset = city_preset(first, last, scale=scale, seed=seed)
        try:
            with click.progressbar(length=1, label="Tạo hồ sơ mẫu") as bar:
                def show(done):
                    bar.update(done)
                total = generate_ward(preset, progress=show, on_plan=lambda n: setattr(
                    bar, "length", max(n, 1)))
        except ValueError as e:
            raise click.ClickException(f"Không tạo được hồ sơ mẫu: {e}")
        except DossierError as e:  # a catalogue that refuses what the plan holds
            raise click.ClickException(f"Không tạo được hồ sơ mẫu: {e.message}")
    click.echo(f"Đã tạo {total} hồ sơ từ {preset.first:%d/%m/%Y} đến {preset.last:%d/%m/%Y}.")


@cli.group()
def user():
    """Quản lý tài khoản cán bộ của phường, xã."""


@user.command("add")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Họ và tên cán bộ.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(list(ROLES)),
              help="Vai trò (có thể lặp lại).")
@click.option("--password", prompt="Mật khẩu", hide_input=True, confirmation_prompt=True,
              callback=lambda c, p, v: password_ok(v), help="Mật khẩu (ít nhất 10 ký tự).")
@instance_option
def user_add(username, full_name, roles, password, instance):
    """Thêm một tài khoản cán bộ."""
    app = open_app(instance)
    with app.app_context():
        if db.session.scalar(sa.select(User).where(User.username == username.casefold())):
            raise click.ClickException(f"Đã có tài khoản {username}.")
        account = User(ward_code=db.session.get(SyncNode, 1).ward_code,
                       username=username.casefold(), full_name=full_name, roles=" ".join(roles))
        account.set_password(password)
        db.session.add(account)
        audit("user.add", account.username, roles=account.roles)
        db.session.commit()
    click.echo(f"Đã thêm {username} ({', '.join(ROLES[r] for r in roles)}).")


def _account(username: str) -> User:
    found = db.session.scalar(sa.select(User).where(User.username == username.casefold()))
    if found is None:
        raise click.ClickException(f"Không có tài khoản {username}.")
    return found


def _keep_an_admin(target: User, refusal: str) -> None:
    """Refuse (with ``refusal``) to take the admin role from the last active admin: nobody could
    manage the ward's accounts afterwards."""
    admins = db.session.scalars(sa.select(User).where(User.active)).all()
    if "admin" in target.role_set and \
            [a.uuid for a in admins if "admin" in a.role_set] == [target.uuid]:
        raise click.ClickException(refusal)


@user.command("disable")
@click.argument("username")
@instance_option
def user_disable(username, instance):
    """Khóa một tài khoản (không xóa: lịch sử xử lý hồ sơ vẫn giữ tên người đó)."""
    app = open_app(instance)
    with app.app_context():
        target = _account(username)
        _keep_an_admin(target, "Không thể khóa tài khoản quản trị cuối cùng.")
        target.active = False
        target.end_sessions()
        audit("user.disable", target.username)
        db.session.commit()
    click.echo(f"Đã khóa tài khoản {username}.")


@user.command("set-roles")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(list(ROLES)),
              help="Vai trò mới (có thể lặp lại; thay cho mọi vai trò cũ).")
@instance_option
def user_set_roles(username, roles, instance):
    """Đổi vai trò của một tài khoản (mọi phiên đăng nhập của tài khoản kết thúc)."""
    app = open_app(instance)
    with app.app_context():
        target = _account(username)
        if "admin" not in roles:
            _keep_an_admin(target, "Không thể bỏ vai trò của tài khoản quản trị cuối cùng.")
        before, target.roles = target.roles, " ".join(roles)
        target.end_sessions()
        audit("user.set_roles", target.username, before=before, roles=target.roles)
        db.session.commit()
    click.echo(f"Đã đổi vai trò của {username} ({', '.join(ROLES[r] for r in roles)}).")


@user.command("reset-password")
@click.argument("username")
@new_password_option
@instance_option
def user_reset_password(username, password, instance):
    """Đặt lại mật khẩu (và mở khóa) một tài khoản."""
    app = open_app(instance)
    with app.app_context():
        target = _account(username)
        target.set_password(password)
        target.active = True
        audit("user.reset_password", target.username)
        db.session.commit()
    click.echo(f"Đã đặt lại mật khẩu cho {username}.")


@user.command("list")
@instance_option
def user_list(instance):
    """Liệt kê tài khoản."""
    app = open_app(instance)
    with app.app_context():
        for account in db.session.scalars(sa.select(User).order_by(User.username)):
            state = "" if account.active else " (đã khóa)"
            click.echo(f"{account.username:<16} {account.full_name:<28} {account.role_labels}{state}")


@cli.group()
def token():
    """Mã truy cập cho API JSON (/api/v1)."""


@token.command("create")
@click.option("--user", "username", required=True, help="Tài khoản mà API thay mặt.")
@click.option("--name", required=True, help="Tên gợi nhớ, ví dụ: Cổng dịch vụ công tỉnh.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(list(API_SCOPES)),
              help="Quyền của mã (có thể lặp lại; mặc định: tất cả).")
@instance_option
def token_create(username, name, scopes, instance):
    """Tạo mã truy cập (chỉ hiển thị một lần)."""
    from .api import issue_token

    scopes = scopes or tuple(API_SCOPES)
    app = open_app(instance)
    with app.app_context():
        value = issue_token(_account(username), name, scopes)
        audit("token.create", name, account=username.casefold(), scopes=" ".join(scopes))
        db.session.commit()
    click.echo(value)


@token.command("list")
@instance_option
def token_list(instance):
    """Liệt kê mã truy cập (không hiện giá trị)."""
    from kernel.formatting import vn_datetime
    from .models import ApiToken

    app = open_app(instance)
    with app.app_context():
        for item in db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)):
            state = f"thu hồi {vn_datetime(item.revoked_at)}" if item.revoked_at else "hiệu lực"
            click.echo(f"{item.id:>4}  {item.name:<30} {item.user.username:<14} "
                       f"[{item.scopes}] tạo {vn_datetime(item.created_at)}  {state}")


@token.command("revoke")
@click.argument("token_id", type=int)
@instance_option
def token_revoke(token_id, instance):
    """Thu hồi một mã truy cập (số thứ tự trong `wardapp token list`)."""
    from kernel.columns import utcnow
    from .models import ApiToken

    app = open_app(instance)
    with app.app_context():
        item = db.session.get(ApiToken, token_id)
        if item is None:
            raise click.ClickException(f"Không có mã truy cập số {token_id}.")
        item.revoked_at = item.revoked_at or utcnow()
        audit("token.revoke", item.name, token_id=token_id)
        db.session.commit()
    click.echo(f"Đã thu hồi mã truy cập {token_id} ({item.name}).")


@cli.command()
@instance_option
def reindex(instance):
    """Dựng lại chỉ mục tìm kiếm hồ sơ."""
    from .database import ensure_search_index

    app = open_app(instance)
    with app.app_context():
        ensure_search_index(rebuild=True)
    click.echo("Đã dựng lại chỉ mục tìm kiếm.")


@cli.command("export")
@click.argument("table", type=click.Choice(["dossier", "dossier_event", "procedure", "unit",
                                            "user", "outbox", "letter", "rating", "feedback",
                                            "inspection"]))
@click.option("--out", type=click.File("w", encoding="utf-8-sig"), default="-",
              help="Tệp CSV (mặc định: màn hình).")
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


@cli.command()
@click.option("--to", "target", type=click.Path(file_okay=False),
              help="Thư mục sao lưu (ổ đĩa thứ hai hoặc USB); được nhớ cho các lần sau. "
                   "Mặc định: lần trước, hoặc <instance>/backups.")
@click.option("--keep-daily", default=7, show_default=True, type=click.IntRange(1),
              help="Giữ bản sao của bao nhiêu ngày gần nhất.")
@click.option("--keep-monthly", default=12, show_default=True, type=click.IntRange(0),
              help="Giữ bản sao của bao nhiêu tháng gần nhất (bản cuối mỗi tháng).")
@instance_option
def backup(target, keep_daily, keep_monthly, instance):
    """Sao lưu cơ sở dữ liệu khi đang chạy, kiểm tra bản sao, xóa bản cũ quá hạn giữ."""
    from .backup import BackupError, backup_dir, take_backup
    from .database import database_path

    app = open_app(instance)
    with app.app_context():
        folder = backup_dir(instance, target or app.config.get("BACKUP_DIR"))
        try:
            made = take_backup(database_path(), folder, instance_path=instance,
                               keep_daily=keep_daily, keep_monthly=keep_monthly)
        except BackupError as e:
            raise click.ClickException(str(e))
    counts = made.entry["counts"]
    click.echo(f"Đã sao lưu và kiểm tra: {made.path} ({counts.get('dossier', 0)} hồ sơ, "
               f"{counts.get('outbox', 0)} bản ghi đồng bộ, toàn vẹn: ok).")
    if made.removed:
        click.echo(f"Đã xóa {len(made.removed)} bản sao quá hạn giữ.")


@cli.command()
@click.argument("backup_file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Không hỏi lại.")
@instance_option
def restore(backup_file, yes, instance):
    """Khôi phục từ một bản sao lưu (kiểm tra trước), rồi đối chiếu với máy chủ thành phố để
    không mất, không trùng hồ sơ."""
    from .backup import BackupError, backup_dir, check_backup_file, restore_file, take_backup
    from .database import database_path, known_revisions
    from .sync.client import HubClient, SyncConfig, SyncFailed

    live = Path(instance) / DATABASE_FILE
    if not live.exists():
        raise click.ClickException(f"Chưa khởi tạo dữ liệu tại {instance}. Trên máy mới: "
                                   "wardapp init --unit <mã> --from-hub <địa chỉ> trước.")
    app = create_app(instance_path=instance)
    with app.app_context():
        try:
            ward_code = db.session.get(SyncNode, 1).ward_code
        except sa.exc.DatabaseError:  # too damaged to read (a dying disk): the backup decides
            db.session.rollback()
            ward_code = None
        try:
            info = check_backup_file(Path(backup_file), known_revisions=known_revisions(),
                                     ward_code=ward_code)
        except BackupError as e:
            raise click.ClickException(f"Không khôi phục: {e}")
        click.echo(f"Bản sao lưu hợp lệ: đơn vị {info['ward_code']}, "
                   f"{info['counts'].get('dossier', 0)} hồ sơ, lược đồ {info['schema']}.")
        if not yes:
            click.confirm("Thay dữ liệu hiện tại bằng bản sao lưu này?", abort=True)
        try:  # the data being replaced is kept too
            take_backup(database_path(), backup_dir(instance, app.config.get("BACKUP_DIR")),
                        instance_path=instance, reason="before-restore")
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
            _report_recovery(HubClient(config), ward_code)
        except SyncFailed as e:
            click.echo(f"Chưa đối chiếu được với máy chủ thành phố ({e.message}). Khi có kết "
                       "nối, chạy wardapp sync recover, trước khi tiếp nhận hồ sơ mới (số hồ sơ "
                       "mới có thể trùng với hồ sơ chỉ thành phố còn giữ).", err=True)


def _report_recovery(client, ward_code: str, *, always: bool = False,
                     code_gap: int | None = None, last_codes: tuple[str, ...] = ()) -> None:
    from .sync.recovery import CODE_GAP, CodeError, recover_from_hub

    code_gap = code_gap or CODE_GAP
    try:
        recovered = recover_from_hub(client, always=always, code_gap=code_gap,
                                     last_codes=last_codes)
    except CodeError as e:
        raise click.BadParameter(str(e), param_hint="--last-code")
    if not recovered.rekeyed:
        click.echo(f"Dữ liệu khớp với máy chủ thành phố (đã nhận đến số {recovered.hub_acked}); "
                   "đồng bộ tiếp tục như trước.")
        return
    audit("sync.rekey", str(recovered.hub_acked), queued=recovered.queued,
          floors={f.prefix: f.number for f in recovered.reserved})
    db.session.commit()
    added = {t: c["added"] + c["updated"] for t, c in recovered.merged.items()}
    refused = sum(c["conflicts"] for c in recovered.merged.values())
    click.echo(f"Đã lấy lại từ máy chủ thành phố {added.get('dossier', 0)} hồ sơ và "
               f"{added.get('dossier_event', 0)} bước xử lý mà bản sao lưu không có"
               + (f" ({refused} bản ghi xung đột với dữ liệu ghi tại máy nên không lấy về; "
                  "thành phố vẫn giữ)" if refused else "") + "; "
               f"cấp mã cơ sở dữ liệu mới, {recovered.queued} bản ghi chờ gửi lại.")
    say_reserved(recovered, code_gap)
    click.echo(f"Nhờ thành phố chạy `city-hub ward allow-rekey {ward_code}` rồi chạy "
               "`wardapp sync`.")


@cli.command()
@instance_option
def check(instance):
    """Kiểm tra toàn vẹn cơ sở dữ liệu (nên chạy hằng tuần); kết quả hiện trên trang đồng bộ."""
    from .backup import check_integrity
    from .database import database_path

    app = open_app(instance)
    with app.app_context():
        problems = check_integrity(database_path(), instance)
    if problems:
        raise click.ClickException("Cơ sở dữ liệu có lỗi: " + "; ".join(problems)
                                   + ". Khôi phục bản sao lưu gần nhất (wardapp restore).")
    click.echo("Cơ sở dữ liệu toàn vẹn (integrity_check: ok).")


@cli.group(cls=DefaultGroup, default="run", default_if_no_args=True)
def sync():
    """Đồng bộ với máy chủ thành phố (mặc định: chạy một lần đồng bộ)."""


def _sync_config(instance: str):
    from .sync.client import SyncConfig

    config = SyncConfig.load(instance)
    if config is None:
        raise click.ClickException("Chưa cấu hình đồng bộ. Chạy: wardapp sync configure "
                                   "--hub URL --token KHÓA")
    return config


@sync.command("configure")
@click.option("--hub", "hub_url", required=True, help="Địa chỉ máy chủ thành phố, ví dụ http://10.0.0.5:8090.")
@click.option("--token", prompt="Khóa đồng bộ", hide_input=True,
              help="Khóa đồng bộ do máy chủ thành phố cấp (city-hub ward add).")
@instance_option
def sync_configure(hub_url, token, instance):
    """Lưu địa chỉ máy chủ thành phố và khóa đồng bộ của phường, xã."""
    from .sync.client import SyncConfig

    app = open_app(instance)
    if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", hub_url):
        raise click.BadParameter("Địa chỉ phải bắt đầu bằng http:// hoặc https://.",
                                 param_hint="--hub")
    SyncConfig(hub_url.rstrip("/"), token.strip()).save(instance)
    with app.app_context():
        audit("sync.configure", hub_url, credential="đã thay" if token.strip() else "trống")
        db.session.commit()
    click.echo(f"Đã lưu cấu hình đồng bộ với {hub_url}.")


@sync.command("run")
@click.option("--no-delay", is_flag=True, help="Bỏ thời gian chờ ngẫu nhiên lúc bắt đầu.")
@click.option("--max-delay", default=60, show_default=True, type=int,
              help="Chờ ngẫu nhiên tối đa (giây) để 13 phường không cùng gọi một lúc.")
@click.option("--time-budget", default=600, show_default=True, type=int,
              help="Không bắt đầu lô mới sau số giây này.")
@click.option("--progress", is_flag=True, help="Hiện thanh tiến độ khi tồn nhiều.")
@click.option("-v", "--verbose", is_flag=True, help="Ghi nhật ký chi tiết.")
@instance_option
def sync_run(no_delay, max_delay, time_budget, progress, verbose, instance):
    """Một lần đồng bộ: chào, gửi hồ sơ chưa gửi, nhận danh mục mới. Mã thoát: 0 xong,
    1 còn tồn, 2 lỗi, 3 dừng (phiên bản/khôi phục), 4 khóa không hợp lệ."""
    import json
    import logging
    import random
    import time

    from .sync.client import HubClient, SyncRun
    from .sync.lock import SingleInstance

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(message)s")
    config = _sync_config(instance)
    app = open_app(instance)
    with SingleInstance(Path(instance) / "sync.lock") as locked:
        if not locked:
            click.echo("Một lần đồng bộ khác đang chạy; bỏ qua lần này.", err=True)
            raise SystemExit(0)
        if not no_delay and max_delay > 0:
            time.sleep(random.uniform(0, max_delay))
        with app.app_context():
            bar = None
            if progress:
                bar = click.progressbar(length=1, label="Đồng bộ", file=sys.stderr)

            def show(done, total):
                if bar is not None:
                    bar.length = max(total, 1)
                    bar.update(done - bar.pos)

            run = SyncRun(HubClient(config), time_budget=time_budget, progress=show)
            code = run.run()
            from .sync.client import sync_state

            state = sync_state()
            click.echo(json.dumps({"result": code, "pushed": run.pushed,
                                   "acked_seq": state.acked_seq,
                                   "refdata_version": state.refdata_version,
                                   "error": state.last_error}, ensure_ascii=False))
    raise SystemExit(code)


@sync.command("status")
@instance_option
def sync_status(instance):
    """Tình trạng đồng bộ: lần gửi, nhận thành công gần nhất, số bản ghi đang chờ."""
    from kernel.formatting import vn_datetime
    from .sync.client import sync_state, waiting_records

    app = open_app(instance)
    with app.app_context():
        state = sync_state()
        waiting, oldest = waiting_records()
        click.echo(f"Đã được thành phố xác nhận đến số: {state.acked_seq}")
        click.echo(f"Đang chờ gửi: {waiting} bản ghi"
                   + (f", cũ nhất từ {vn_datetime(oldest)}" if oldest else ""))
        click.echo(f"Gửi thành công gần nhất: {vn_datetime(state.last_push_ok_utc) or 'chưa có'}")
        click.echo(f"Nhận danh mục thành công gần nhất: "
                   f"{vn_datetime(state.last_pull_ok_utc) or 'chưa có'} "
                   f"(phiên bản {state.refdata_version})")
        if state.last_error:
            click.echo(f"Lỗi lần gần nhất: {state.last_error}")


@sync.command("export")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, exists=True),
              help="Thư mục trên USB.")
@click.option("--compact", is_flag=True,
              help="Phiên bản đã có bản mới hơn trong cùng lô chỉ ghi phần giữ chỗ (gói nhỏ "
                   "hơn). Chỉ dùng khi máy chủ thành phố nhận giao thức 2; máy chủ cũ từ chối "
                   "cả gói.")
@instance_option
def sync_export(out_dir, compact, instance):
    """Ghi mọi bản ghi chưa được xác nhận ra một gói trên USB (khi mất kết nối nhiều ngày)."""
    from .sync.client import export_package

    config = _sync_config(instance)
    app = open_app(instance)
    with app.app_context():
        try:
            path = export_package(Path(out_dir), config, placeholders=compact)
        except OSError as e:  # a full or read-only stick, one pulled out: nothing is left half
            raise click.ClickException(f"Không ghi được gói vào {out_dir} ({e.strerror or e}).")
    if path is None:
        click.echo("Không có bản ghi nào chờ gửi.")
    else:
        click.echo(f"Đã ghi gói {path}")


@sync.command("import-summary")
@click.argument("summary_file", type=click.Path(exists=True, dir_okay=False))
@instance_option
def sync_import_summary(summary_file, instance):
    """Nhập tệp tổng hợp do máy chủ thành phố ghi khi nhập gói USB."""
    from .sync.client import import_summary
    from .sync.package import MAX_SUMMARY_BYTES
    from .sync.protocol import ProtocolError

    config = _sync_config(instance)
    try:
        with open(summary_file, "rb") as summary:
            raw = summary.read(MAX_SUMMARY_BYTES + 1)  # more is refused as too large
    except OSError as e:
        raise click.ClickException(f"Không đọc được tệp tổng hợp: {e.strerror}")
    app = open_app(instance)
    with app.app_context():
        try:
            acked, error = import_summary(raw, config)
        except ProtocolError as e:
            raise click.ClickException(e.message)
    click.echo(f"Thành phố đã xác nhận đến số {acked}.")
    if error:
        click.echo(f"Máy chủ dừng nhập: {error.get('code')} – {error.get('message')}")


@sync.command("rekey")
@click.option("--hub-acked", "hub_acked", required=True, type=click.IntRange(0),
              help="Số thứ tự máy chủ đã xác nhận (trong thông báo NODE_REGRESSED).")
@click.confirmation_option(prompt="Cấp mã cơ sở dữ liệu mới và gửi lại toàn bộ bản ghi?")
@instance_option
def sync_rekey(hub_acked, instance):
    """Khôi phục đồng bộ sau khi khôi phục bản sao lưu hoặc thay máy: cấp mã mới, gửi lại tất cả."""
    from .sync.client import rekey

    app = open_app(instance)
    with app.app_context():
        queued = rekey(hub_acked)
        audit("sync.rekey", str(hub_acked), queued=queued)
        db.session.commit()
    click.echo(f"Đã cấp mã cơ sở dữ liệu mới; {queued} bản ghi chờ gửi lại. Nhờ thành phố chạy "
               "`city-hub ward allow-rekey <mã>` rồi đồng bộ.")


@sync.command("recover")
@click.option("--yes", is_flag=True, help="Không hỏi lại.")
@lost_codes_options
@instance_option
def sync_recover(yes, last_codes, code_gap, instance):
    """Sau khi khôi phục bản sao lưu: lấy lại từ máy chủ thành phố hồ sơ của đơn vị mà bản sao
    không có, cấp mã cơ sở dữ liệu mới và gửi lại mọi bản ghi."""
    from .sync.client import HubClient, SyncFailed

    config = _sync_config(instance)
    if not yes:
        click.confirm("Đối chiếu với máy chủ thành phố và cấp mã cơ sở dữ liệu mới nếu cần?",
                      abort=True)
    app = open_app(instance)
    with app.app_context():
        try:
            _report_recovery(HubClient(config), db.session.get(SyncNode, 1).ward_code,
                             code_gap=code_gap, last_codes=last_codes)
        except SyncFailed as e:
            raise click.ClickException(f"Không đối chiếu được với máy chủ thành phố: {e.message}")


@sync.command("reconcile")
@instance_option
def sync_reconcile(instance):
    """So số lượng và mã kiểm tra bản ghi giữa phường và máy chủ thành phố."""
    from .sync.client import HubClient, local_reconcile

    config = _sync_config(instance)
    app = open_app(instance)
    with app.app_context():
        client = HubClient(config)
        remote = client.answer(client.call("GET", "reconcile"))["tables"]
        local = local_reconcile()
    same = True
    for table, mine in local.items():
        theirs = remote.get(table, {})
        ok = mine == theirs
        same &= ok
        click.echo(f"{table:<14} phường {mine['count']:>8}  thành phố "
                   f"{theirs.get('count', '?'):>8}  {'khớp' if ok else 'KHÔNG KHỚP'}")
    raise SystemExit(0 if same else 1)
