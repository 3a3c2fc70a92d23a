"""``wardapp demo``: the whole city on one machine, the hub and every desk with generated
dossiers, synced. A command of the ward's CLI by its ``wardapp.commands`` entry point; the ward
app does not import it."""

from __future__ import annotations

import signal
import tempfile
import time
from pathlib import Path

import click

from wardapp.cli import instance_option


@click.command()
@click.option("--small", is_flag=True, help="Thành phố thu nhỏ: tháng gần nhất, 1/5 số hồ sơ.")
@click.option("--seed", default=2020, show_default=True, type=int, help="Hạt giống ngẫu nhiên.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=int,
    help="Cổng của máy chủ thành phố; 14 bộ phận một cửa dùng 14 cổng tiếp theo.",
)
@click.option(
    "--processes",
    default=2,
    show_default=True,
    type=click.IntRange(1, 16),
    help="Số tiến trình tạo hồ sơ song song.",
)
@click.option(
    "--sync-every",
    default=3.0,
    show_default=True,
    type=click.FloatRange(0),
    metavar="MINUTES",
    help="Khi thành phố đã sẵn sàng, mỗi bộ phận tự đồng bộ theo lịch sau mỗi số phút này "
    "(lần lượt từng bộ phận, như lịch chạy trên máy thật); 0: tắt.",
)
@click.option("--no-serve", is_flag=True, help="Chỉ tạo và đồng bộ dữ liệu rồi dừng (giữ thư mục).")
@instance_option
def demo(small, seed, port, processes, sync_every, no_serve, instance):
    """Chạy thử cả thành phố: máy chủ thành phố và 14 bộ phận một cửa với hồ sơ mẫu, đã đồng bộ;
    sau đó mỗi bộ phận tự đồng bộ theo lịch (--sync-every) cho đến khi dừng."""

    started = time.monotonic()
    _stop_on_signals()
    # The city, the generator and the progress bar are imported here, not with the module: the
    # ward's CLI loads this command to list it in `wardapp --help`, which stays quick.
    from kernel.progress import Progress
    from wardapp.generator.plan import plan_city

    from .city import HUB_ACCOUNTS, DemoCity, article_preset, small_preset

    throw_away = instance == "instance"  # the default: never a real ward's folder
    if throw_away:
        instance = tempfile.mkdtemp(prefix="longxuyen-demo-")
    elif Path(instance).exists() and any(Path(instance).iterdir()):
        raise click.ClickException(f"{instance} không trống; chọn thư mục trống cho bản chạy thử.")
    preset = small_preset(seed) if small else article_preset(seed)
    city = DemoCity(
        Path(instance),
        preset,
        base_port=port,
        processes=processes,
        sync_every=sync_every,
        echo=click.echo,
    )
    try:
        city.check_ports()
        city.init_hub()
        city.start_hub(wait=False)  # it comes up while the city is planned
        plans = plan_city(preset)
        click.echo(
            f"Thành phố mẫu: {len(plans)} hồ sơ của {len(preset.units)} bộ phận một cửa, "
            f"{preset.first:%d/%m/%Y}–{preset.last:%d/%m/%Y}; dữ liệu tại {instance}"
        )
        city.wait_for_hub()
        click.echo(
            f"Máy chủ thành phố đã chạy: {report_url(city, preset)} — số liệu tăng dần "
            f"khi từng bộ phận đồng bộ xong."
        )
        _print_hub_accounts(city, HUB_ACCOUNTS)
        synced = []
        with Progress("Tạo hồ sơ và đồng bộ", length=len(plans), show_pos=True) as bar:

            def on_progress(kind, value):
                if kind == "dossiers":
                    bar.update(value)
                elif kind == "synced":
                    synced.append(value)
                    bar.label = f"Tạo hồ sơ, đã đồng bộ {len(synced)}/{len(city.desks)} đơn vị"
                    bar.update(0)

            city.build(plans, on_progress, serve=not no_serve)
        if no_serve:
            click.echo(f"Đã tạo và đồng bộ {city.received} hồ sơ tại {instance}")
            _print_accounts(city, HUB_ACCOUNTS)
            return
        city.start_desks()
        _print_city(city, preset, HUB_ACCOUNTS, time.monotonic() - started)
        city.watch()
    except KeyboardInterrupt:
        click.echo("\nĐang dừng …")
    except RuntimeError as e:
        raise click.ClickException(str(e))
    finally:
        city.stop()
        if throw_away:
            city.remove()


def _stop_on_signals() -> None:
    """Stop the city as Ctrl-C does on SIGTERM (``kill``, a service manager, a closed session)
    and SIGHUP (the terminal closed), and on SIGINT even where the shell that started the demo in
    the background told it to ignore SIGINT: otherwise the hub's and every desk's processes
    outlive it and keep their ports."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):  # SIGHUP is not on Windows
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), interrupt)


def report_url(city, preset) -> str:
    """The hub's report for the demo's period."""
    return f"{city.hub_url}reports/?from={preset.first.isoformat()}&to={preset.last.isoformat()}"


def _print_city(city, preset, hub_accounts, elapsed: float) -> None:
    click.echo(f"\nSẵn sàng sau {elapsed:.0f} s. Máy chủ thành phố: {report_url(city, preset)}")
    click.echo("Bộ phận một cửa:")
    for desk in city.desks:
        click.echo(f"  {desk.url:<24} {desk.name}")
    _print_accounts(city, hub_accounts)
    if city.sync_every:
        click.echo(
            f"Mỗi bộ phận tự đồng bộ {city.sync_every:g} phút một lần (--sync-every); "
            f"nhật ký: {city.root}/<mã>-sync.log"
        )
    click.echo("Ctrl-C để dừng tất cả.")


def _print_hub_accounts(city, hub_accounts) -> None:
    click.echo("Tài khoản ở máy chủ thành phố (tên đăng nhập / mật khẩu):")
    for username, (_, role) in hub_accounts.items():
        click.echo(f"  {username:<11} {city.hub_passwords[username]}  ({role})")


def _print_accounts(city, hub_accounts) -> None:
    _print_hub_accounts(city, hub_accounts)
    click.echo("Tài khoản ở mọi bộ phận một cửa:")
    for username, password in city.passwords.items():
        click.echo(f"  {username:<11} {password}")
