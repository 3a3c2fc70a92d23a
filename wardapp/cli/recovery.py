"""Getting a ward's records back from the city hub: a replacement PC rebuilt from them
(``init --from-hub``), and what a restored backup lacks (``restore``, ``sync recover``). Either
gives the database a new identity, and each day's dossier numbers go on past those the lost PC
may have printed on receipts: ``CODE_GAP`` (:mod:`wardapp.sync.code_gap`) decides how many, unless
the admin says."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import DATABASE_FILE, write_secret_key
from ..sync.code_gap import CODE_GAP
from .instance import open_app, refuse_existing

if TYPE_CHECKING:
    from ..sync.client import HubClient

# The sync client, the recovery and the models are imported where a command uses them:
# ``wardapp --help`` does not load SQLAlchemy (tests/test_cli_startup.py).


def lost_codes_options(command):
    """The options of every command that rebuilds a database which may lack the lost PC's last
    dossiers: which receipt codes it had given, as far as the admin knows."""
    command = click.option(
        "--code-gap",
        default=CODE_GAP,
        show_default=True,
        type=click.IntRange(1, 5000),
        help="Số hồ sơ chừa lại mỗi ngày cho giấy hẹn máy cũ có thể đã cấp sau lần đồng bộ "
        "cuối (từ ngày của hồ sơ mới nhất đến hôm nay).",
    )(command)
    return click.option(
        "--last-code",
        "last_codes",
        multiple=True,
        metavar="MÃ_HỒ_SƠ",
        help="Mã hồ sơ cuối cùng máy cũ đã cấp trong một ngày, quản trị thấy trên giấy hẹn hoặc "
        "sổ theo dõi (lặp lại cho mỗi ngày); ngày ấy đánh số tiếp sau mã này, không "
        "chừa thêm.",
    )(command)


def say_rekeyed(recovered, ward_code: str, code_gap: int) -> None:
    """Tell the admin from which number each day's new dossiers go on, and why, and that the
    hub must let the new database identity in."""
    for floor in recovered.reserved:
        reason = (
            "theo mã quản trị xác nhận"
            if floor.confirmed
            else f"chừa {code_gap} số cho giấy hẹn máy cũ có thể đã cấp"
        )
        click.echo(f"Hồ sơ mới mang mã sau {floor.prefix}{floor.number:04d} ({reason}).")
    click.echo(
        f"Nhờ thành phố chạy `city-hub ward allow-rekey {ward_code}` rồi chạy `wardapp sync`."
    )


def provision_from_hub(
    instance: str,
    unit_code: str,
    hub_url: str,
    token: str,
    admin_username: str,
    admin_password: str,
    *,
    code_gap: int,
    last_codes: tuple[str, ...],
) -> None:
    """A replacement PC: a new database filled from the hub's copy of this ward's records and
    its current reference data, with a new identity numbered past all the hub has seen, and
    each day's dossier numbers past any the dead PC may have printed on receipts."""
    import sqlalchemy as sa

    from ..audit import audit
    from ..database import write_transaction
    from ..extensions import db
    from ..models import SyncNode
    from ..sync.client import HubClient, SyncConfig, SyncFailed, apply_refdata
    from ..sync.records import User
    from ..sync.recovery import CodeError, recover_from_hub

    refuse_existing(instance)
    client = HubClient(SyncConfig(hub_url, token))
    try:  # before anything is written: a wrong address or credential leaves no half instance
        refdata = client.answer(client.call("GET", "refdata"))
    except SyncFailed as e:
        raise click.ClickException(f"Không lấy được dữ liệu từ máy chủ thành phố: {e.message}")
    units = {u.get("code") for u in (refdata.get("snapshot") or {}).get("units", [])}
    if unit_code not in units:
        raise click.BadParameter(
            f"Không có đơn vị mã {unit_code} trong danh mục của thành phố.", param_hint="--unit"
        )
    os.makedirs(instance, exist_ok=True)
    write_secret_key(instance)
    app = open_app(instance, must_exist=False)
    with app.app_context():
        try:
            apply_refdata(refdata)
            with write_transaction():
                db.session.add(SyncNode(id=1, ward_code=unit_code))
            recovered = recover_from_hub(
                client, always=True, code_gap=code_gap, last_codes=last_codes
            )
        except (SyncFailed, CodeError, sa.exc.SQLAlchemyError) as e:  # start again from nothing
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()
            for leftover in Path(instance).glob(DATABASE_FILE + "*"):
                leftover.unlink()
            raise click.ClickException(
                f"Không dựng lại được từ máy chủ thành phố: {getattr(e, 'message', e)}"
            )
        SyncConfig(hub_url, token).save(instance)
        audit(
            "ward.reserve_codes", unit_code, floors={f.prefix: f.number for f in recovered.reserved}
        )
        admin = db.session.scalar(sa.select(User).where(User.username == admin_username.casefold()))
        if admin is None:
            admin = User(
                ward_code=unit_code,
                username=admin_username.casefold(),
                full_name="Quản trị viên",
                roles="admin",
            )
            db.session.add(admin)
        admin.set_password(admin_password)
        admin.active = True
        audit(
            "ward.provision",
            f"{unit_code} từ {hub_url}",
            hub_acked=recovered.hub_acked,
            records=recovered.queued,
        )
        audit("user.reset_password", admin.username)
        db.session.commit()
        dossiers = recovered.merged["dossier"]["added"]
    click.echo(
        f"Đã dựng lại đơn vị {unit_code} tại {os.path.abspath(instance)} từ máy chủ "
        f"thành phố: {dossiers} hồ sơ, {recovered.queued} bản ghi chờ gửi lại."
    )
    say_rekeyed(recovered, unit_code, code_gap)
    click.echo(
        "Nếu còn bản sao lưu của máy cũ: `wardapp restore TỆP`. Các tài khoản khác cần "
        "đặt lại mật khẩu (wardapp user reset-password)."
    )


def report_recovery(
    client: HubClient, ward_code: str, *, code_gap: int = CODE_GAP, last_codes: tuple[str, ...] = ()
) -> None:
    """Take back from the hub what a restored database lacks, if it lacks anything, and tell
    the admin what came back. ``restore`` asks no lost codes, so it leaves the default gap."""
    from ..audit import audit
    from ..extensions import db
    from ..sync.recovery import CodeError, recover_from_hub

    try:
        recovered = recover_from_hub(client, code_gap=code_gap, last_codes=last_codes)
    except CodeError as e:
        raise click.BadParameter(str(e), param_hint="--last-code")
    if not recovered.rekeyed:
        click.echo(
            f"Dữ liệu khớp với máy chủ thành phố (đã nhận đến số {recovered.hub_acked}); "
            "đồng bộ tiếp tục như trước."
        )
        return
    audit(
        "sync.rekey",
        str(recovered.hub_acked),
        queued=recovered.queued,
        floors={f.prefix: f.number for f in recovered.reserved},
    )
    db.session.commit()
    added = {t: c["added"] + c["updated"] for t, c in recovered.merged.items()}
    refused = sum(c["conflicts"] for c in recovered.merged.values())
    click.echo(
        f"Đã lấy lại từ máy chủ thành phố {added.get('dossier', 0)} hồ sơ và "
        f"{added.get('dossier_event', 0)} bước xử lý mà bản sao lưu không có"
        + (
            f" ({refused} bản ghi xung đột với dữ liệu ghi tại máy nên không lấy về; "
            "thành phố vẫn giữ)"
            if refused
            else ""
        )
        + "; "
        f"cấp mã cơ sở dữ liệu mới, {recovered.queued} bản ghi chờ gửi lại."
    )
    say_rekeyed(recovered, ward_code, code_gap)
