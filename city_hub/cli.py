"""The ``city-hub`` command."""
import click
from click_default_group import DefaultGroup


@click.group(cls=DefaultGroup, default="serve", default_if_no_args=True)
def cli():
    """Kho số liệu một cửa của thành phố Long Xuyên."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Địa chỉ lắng nghe.")
@click.option("--port", default=8090, show_default=True, type=int, help="Cổng.")
def serve(host, port):
    """Chạy máy chủ của thành phố (waitress)."""
    import waitress

    from . import create_app

    click.echo(f"Đang phục vụ tại http://{host}:{port}/ (Ctrl-C để dừng)")
    waitress.serve(create_app(), host=host, port=port, ident="city-hub")
