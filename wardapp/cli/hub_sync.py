"""``wardapp sync``: the link to the city hub, run over the network or carried on a USB stick,
and the ward's side of a restore or a replacement (``rekey``, ``recover``)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click
from click_default_group import DefaultGroup

from .instance import instance_option, open_app
from .recovery import lost_codes_options, report_recovery


def hub_address_ok(value: str | None) -> str | None:
    """The hub's address as the ward keeps it (no trailing slash), or refused."""
    if value is not None and not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", value):
        raise click.BadParameter("Địa chỉ phải bắt đầu bằng http:// hoặc https://.")
    return value.rstrip("/") if value else value


@click.group(cls=DefaultGroup, default="run", default_if_no_args=True)
def sync():
    """Đồng bộ với máy chủ thành phố (mặc định: chạy một lần đồng bộ)."""


def _sync_config(instance: str):
    from ..sync.client import SyncConfig

    config = SyncConfig.load(instance)
    if config is None:
        raise click.ClickException(
            "Chưa cấu hình đồng bộ. Chạy: wardapp sync configure --hub URL --token KHÓA"
        )
    return config


@sync.command("configure")
@click.option(
    "--hub",
    "hub_url",
    required=True,
    callback=lambda c, p, v: hub_address_ok(v),
    help="Địa chỉ máy chủ thành phố, ví dụ http://10.0.0.5:8090.",
)
@click.option(
    "--token",
    prompt="Khóa đồng bộ",
    hide_input=True,
    help="Khóa đồng bộ do máy chủ thành phố cấp (city-hub ward add).",
)
@instance_option
def sync_configure(hub_url, token, instance):
    """Lưu địa chỉ máy chủ thành phố và khóa đồng bộ của phường, xã."""
    from ..audit import audit
    from ..extensions import db
    from ..sync.client import SyncConfig

    app = open_app(instance)
    SyncConfig(hub_url, token.strip()).save(instance)
    with app.app_context():
        audit("sync.configure", hub_url, credential="đã thay" if token.strip() else "trống")
        db.session.commit()
    click.echo(f"Đã lưu cấu hình đồng bộ với {hub_url}.")


@sync.command("run")
@click.option("--no-delay", is_flag=True, help="Bỏ thời gian chờ ngẫu nhiên lúc bắt đầu.")
@click.option(
    "--max-delay",
    default=60,
    show_default=True,
    type=int,
    help="Chờ ngẫu nhiên tối đa (giây) để 13 phường không cùng gọi một lúc.",
)
@click.option(
    "--time-budget",
    default=600,
    show_default=True,
    type=int,
    help="Không bắt đầu lô mới sau số giây này.",
)
@click.option(
    "--progress",
    is_flag=True,
    help="Hiện tiến độ khi tồn nhiều (lên stderr): thanh tiến độ ở cửa sổ lệnh, "
    "một dòng mỗi 5% khi ghi ra tệp nhật ký.",
)
@click.option("-v", "--verbose", is_flag=True, help="Ghi nhật ký chi tiết.")
@instance_option
def sync_run(no_delay, max_delay, time_budget, progress, verbose, instance):
    """Một lần đồng bộ: chào, gửi hồ sơ chưa gửi, nhận danh mục mới. Mã thoát: 0 xong,
    1 còn tồn, 2 lỗi, 3 dừng (phiên bản/khôi phục), 4 khóa không hợp lệ."""
    import json
    import logging
    import random
    import time

    from kernel.progress import Progress

    from ..sync.client import HubClient, SyncRun
    from ..sync.lock import sync_lock

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    config = _sync_config(instance)
    app = open_app(instance)
    with sync_lock(instance) as locked:
        if not locked:
            click.echo("Một lần đồng bộ khác đang chạy; bỏ qua lần này.", err=True)
            raise SystemExit(0)
        if not no_delay and max_delay > 0:
            time.sleep(random.uniform(0, max_delay))
        with app.app_context():
            bar = Progress("Đồng bộ", file=sys.stderr) if progress else None
            run = SyncRun(
                HubClient(config), time_budget=time_budget, progress=bar.reach if bar else None
            )
            code = run.run()
            from wardapp.sync.outgoing import sync_state

            state = sync_state()
            click.echo(
                json.dumps(
                    {
                        "result": code,
                        "pushed": run.pushed,
                        "acked_seq": state.acked_seq,
                        "refdata_version": state.refdata_version,
                        "error": state.last_error,
                    },
                    ensure_ascii=False,
                )
            )
    raise SystemExit(code)


@sync.command("status")
@instance_option
def sync_status(instance):
    """Tình trạng đồng bộ: lần gửi, nhận thành công gần nhất, số bản ghi đang chờ."""
    from kernel.formatting import vn_datetime
    from wardapp.sync.outgoing import sync_state, waiting_records

    app = open_app(instance)
    with app.app_context():
        state = sync_state()
        waiting, oldest = waiting_records()
        click.echo(f"Đã được thành phố xác nhận đến số: {state.acked_seq}")
        click.echo(
            f"Đang chờ gửi: {waiting} bản ghi"
            + (f", cũ nhất từ {vn_datetime(oldest)}" if oldest else "")
        )
        click.echo(f"Gửi thành công gần nhất: {vn_datetime(state.last_push_ok_utc) or 'chưa có'}")
        click.echo(
            f"Nhận danh mục thành công gần nhất: "
            f"{vn_datetime(state.last_pull_ok_utc) or 'chưa có'} "
            f"(phiên bản {state.refdata_version})"
        )
        if state.last_error:
            click.echo(f"Lỗi lần gần nhất: {state.last_error}")


@sync.command("export")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, exists=True),
    help="Thư mục trên USB.",
)
@click.option(
    "--compact",
    is_flag=True,
    help="Phiên bản đã có bản mới hơn trong cùng lô chỉ ghi phần giữ chỗ (gói nhỏ "
    "hơn). Chỉ dùng khi máy chủ thành phố nhận giao thức 2; máy chủ cũ từ chối "
    "cả gói.",
)
@instance_option
def sync_export(out_dir, compact, instance):
    """Ghi mọi bản ghi chưa được xác nhận ra một gói trên USB (khi mất kết nối nhiều ngày)."""
    from wardapp.sync.usb import export_package

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
    from wardapp.sync.usb import import_summary

    from ..sync.package import MAX_SUMMARY_BYTES
    from ..sync.protocol import ProtocolError

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
@click.option(
    "--hub-acked",
    "hub_acked",
    required=True,
    type=click.IntRange(0),
    help="Số thứ tự máy chủ đã xác nhận (trong thông báo NODE_REGRESSED).",
)
@click.confirmation_option(prompt="Cấp mã cơ sở dữ liệu mới và gửi lại toàn bộ bản ghi?")
@instance_option
def sync_rekey(hub_acked, instance):
    """Khôi phục đồng bộ sau khi khôi phục bản sao lưu hoặc thay máy: cấp mã mới, gửi lại tất cả."""
    from wardapp.sync.outgoing import rekey

    from ..audit import audit
    from ..extensions import db

    app = open_app(instance)
    with app.app_context():
        queued = rekey(hub_acked)
        audit("sync.rekey", str(hub_acked), queued=queued)
        db.session.commit()
    click.echo(
        f"Đã cấp mã cơ sở dữ liệu mới; {queued} bản ghi chờ gửi lại. Nhờ thành phố chạy "
        "`city-hub ward allow-rekey <mã>` rồi đồng bộ."
    )


@sync.command("recover")
@click.option("--yes", is_flag=True, help="Không hỏi lại.")
@lost_codes_options
@instance_option
def sync_recover(yes, last_codes, code_gap, instance):
    """Sau khi khôi phục bản sao lưu: lấy lại từ máy chủ thành phố hồ sơ của đơn vị mà bản sao
    không có, cấp mã cơ sở dữ liệu mới và gửi lại mọi bản ghi."""
    from ..extensions import db
    from ..models import SyncNode
    from ..sync.client import HubClient, SyncFailed

    config = _sync_config(instance)
    if not yes:
        click.confirm(
            "Đối chiếu với máy chủ thành phố và cấp mã cơ sở dữ liệu mới nếu cần?", abort=True
        )
    app = open_app(instance)
    with app.app_context():
        try:
            report_recovery(
                HubClient(config),
                db.session.get(SyncNode, 1).ward_code,
                code_gap=code_gap,
                last_codes=last_codes,
            )
        except SyncFailed as e:
            raise click.ClickException(f"Không đối chiếu được với máy chủ thành phố: {e.message}")


@sync.command("reconcile")
@instance_option
def sync_reconcile(instance):
    """So số lượng và mã kiểm tra bản ghi giữa phường và máy chủ thành phố."""
    from wardapp.sync.outgoing import local_reconcile

    from ..sync.client import HubClient

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
        click.echo(
            f"{table:<14} phường {mine['count']:>8}  thành phố "
            f"{theirs.get('count', '?'):>8}  {'khớp' if ok else 'KHÔNG KHỚP'}"
        )
    raise SystemExit(0 if same else 1)
