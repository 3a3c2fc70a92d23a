"""Setting up and running one ward's desk: ``init`` (a new ward, or a replacement PC rebuilt
from the city hub), ``serve``, and ``generate`` for its share of the sample city's dossiers."""

from __future__ import annotations

import os
import re

import click

from kernel.password_rule import password_option

from .. import write_secret_key
from .hub_sync import hub_address_ok
from .instance import instance_option, open_app, refuse_existing
from .recovery import lost_codes_options, provision_from_hub


def _agency_code_ok(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[0-9A-Za-z.]{3,30}", value):
        raise click.BadParameter("Mã cơ quan chỉ gồm chữ, số và dấu chấm (3–30 ký tự).")
    return value


def initialise(
    instance: str,
    unit_code: str,
    admin_username: str,
    admin_password: str,
    admin_name: str = "Quản trị viên",
    agency_code: str | None = None,
):
    """Create the instance folder, database, reference data, ward identity and first admin."""
    from kernel.refdata import read_json

    from ..audit import audit
    from ..extensions import db
    from ..models import SyncNode, Unit
    from ..refdata import load_reference_data
    from ..sync.records import User

    refuse_existing(instance)
    if unit_code not in {u["code"] for u in read_json("units.json")["units"]}:
        raise click.BadParameter(
            f"Không có đơn vị mã {unit_code} trong danh mục.", param_hint="--unit"
        )
    os.makedirs(instance, exist_ok=True)
    write_secret_key(instance)
    app = open_app(instance, must_exist=False)
    with app.app_context():
        counts = load_reference_data()
        unit = db.session.get(Unit, unit_code)
        if agency_code:
            unit.agency_code = agency_code
        db.session.add(SyncNode(id=1, ward_code=unit.code))
        admin = User(
            ward_code=unit.code,
            username=admin_username.casefold(),
            full_name=admin_name,
            roles="admin",
        )
        admin.set_password(admin_password)
        db.session.add(admin)
        db.session.flush()
        audit("ward.init", f"{unit.code} {unit.name}", agency_code=unit.agency_code)
        audit("user.add", admin.username, roles=admin.roles)
        db.session.commit()
        return app, {"code": unit.code, "name": unit.name, **counts}


@click.command()
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị hành chính (GSO), ví dụ 30280.")
@click.option(
    "--agency-code",
    callback=lambda c, p, v: _agency_code_ok(v),
    help="Mã cơ quan đứng đầu mã hồ sơ (mã định danh điện tử, ví dụ 000.31.28.H01); "
    "mặc định là mã đơn vị.",
)
@click.option(
    "--admin-username", default="admin", show_default=True, help="Tên đăng nhập quản trị."
)
@password_option("--admin-password", "Mật khẩu quản trị", "; hỏi nếu không nhập")
@click.option(
    "--from-hub",
    "hub_url",
    callback=lambda c, p, v: hub_address_ok(v),
    help="Thay máy: lấy lại hồ sơ của đơn vị và danh mục từ máy chủ thành phố "
    "(cần khóa đồng bộ của đơn vị).",
)
@click.option("--token", help="Khóa đồng bộ của đơn vị (cùng --from-hub; hỏi nếu không nhập).")
@lost_codes_options
@instance_option
def init(
    unit_code,
    agency_code,
    admin_username,
    admin_password,
    hub_url,
    token,
    last_codes,
    code_gap,
    instance,
):
    """Khởi tạo dữ liệu cho một phường, xã: cơ sở dữ liệu, danh mục, tài khoản quản trị;
    với --from-hub, dựng lại máy mới từ dữ liệu của đơn vị trên máy chủ thành phố."""
    if hub_url:
        if agency_code:
            raise click.BadParameter(
                "Không dùng cùng --from-hub: mã cơ quan lấy theo danh mục của thành phố.",
                param_hint="--agency-code",
            )
        token = token or click.prompt("Khóa đồng bộ", hide_input=True)
        provision_from_hub(
            instance,
            unit_code,
            hub_url,
            token.strip(),
            admin_username,
            admin_password,
            code_gap=code_gap,
            last_codes=last_codes,
        )
        return
    if last_codes:
        raise click.BadParameter(
            "Chỉ dùng khi dựng lại máy từ máy chủ thành phố (--from-hub).", param_hint="--last-code"
        )
    _, ward = initialise(
        instance, unit_code, admin_username, admin_password, agency_code=agency_code
    )
    click.echo(f"Đã khởi tạo {ward['name']} ({ward['code']}) tại {os.path.abspath(instance)}")
    click.echo(
        f"Danh mục: {ward['units']} đơn vị, {ward['procedures']} thủ tục. "
        f"Tài khoản quản trị: {admin_username}"
    )


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Địa chỉ lắng nghe (0.0.0.0 để phục vụ cả mạng nội bộ).",
)
@click.option("--port", default=8080, show_default=True, type=int, help="Cổng.")
@click.option("--threads", default=6, show_default=True, type=int, help="Số luồng waitress.")
@instance_option
def serve(host, port, threads, instance):
    """Chạy phần mềm (waitress), sau khi tự nâng cấp cơ sở dữ liệu."""
    import waitress

    app = open_app(instance)
    click.echo(
        f"Đang phục vụ tại http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/ "
        "(Ctrl-C để dừng)"
    )
    waitress.serve(app, host=host, port=port, threads=threads, ident="wardapp")


@click.command()
@click.option(
    "--from",
    "first",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Ngày đầu (yyyy-mm-dd); mặc định theo bài báo: 01/01/2020.",
)
@click.option(
    "--to",
    "last",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Ngày cuối (yyyy-mm-dd), tính cả ngày đó; mặc định 30/09/2020.",
)
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.001, 10),
    help="Nhân số hồ sơ so với nhịp của bài báo.",
)
@click.option("--seed", default=2020, show_default=True, type=int, help="Hạt giống ngẫu nhiên.")
@instance_option
def generate(first, last, scale, seed, instance):
    """Tạo hồ sơ mẫu cho phường, xã này (phần của nó trong thành phố mẫu), qua tầng nghiệp vụ.

    Mặc định là số liệu của bài báo (9 tháng đầu năm 2020); chỉ dùng cho phường chưa có hồ sơ."""
    import sqlalchemy as sa

    from kernel.progress import Progress
    from wardapp.dossiers.intake import DossierError

    from ..extensions import db
    from ..generator import ARTICLE, city_preset, generate_ward
    from ..sync.records import Dossier

    app = open_app(instance)
    with app.app_context():
        if db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)):
            raise click.ClickException(
                "Phường này đã có hồ sơ; chỉ tạo hồ sơ mẫu cho phường chưa có hồ sơ nào."
            )
        first = first.date() if first else ARTICLE.first
        last = last.date() if last else ARTICLE.last
        if last < first:
            raise click.BadParameter("Ngày cuối phải sau ngày đầu.", param_hint="--to")
        preset = ARTICLE
        if (first, last, scale, seed) != (ARTICLE.first, ARTICLE.last, 1.0, ARTICLE.seed):
            preset = city_preset(first, last, scale=scale, seed=seed)
        try:
            with Progress("Tạo hồ sơ mẫu") as bar:
                total = generate_ward(
                    preset, progress=bar.update, on_plan=lambda n: setattr(bar, "length", n)
                )
        except ValueError as e:
            raise click.ClickException(f"Không tạo được hồ sơ mẫu: {e}")
        except DossierError as e:  # a catalogue that refuses what the plan holds
            raise click.ClickException(f"Không tạo được hồ sơ mẫu: {e.message}")
    click.echo(f"Đã tạo {total} hồ sơ từ {preset.first:%d/%m/%Y} đến {preset.last:%d/%m/%Y}.")
