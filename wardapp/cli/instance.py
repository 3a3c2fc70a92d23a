"""The ward's instance folder, which every command is given: the option naming it, and the app
opened on it with its schema brought up to date."""

from __future__ import annotations

from pathlib import Path

import click

from .. import DATABASE_FILE

instance_option = click.option(
    "--instance",
    "instance",
    envvar="WARDAPP_INSTANCE",
    default="instance",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Thư mục dữ liệu của phường, xã (biến môi trường WARDAPP_INSTANCE).",
)


def open_app(instance: str, *, must_exist: bool = True):
    """The app on an initialised instance folder, with its schema brought up to date."""
    from .. import create_app
    from ..backup import BackupError
    from ..database import upgrade_schema

    if must_exist and not (Path(instance) / DATABASE_FILE).exists():
        raise click.ClickException(
            f"Chưa khởi tạo dữ liệu tại {instance}. Chạy: wardapp init "
            f"--unit <mã đơn vị> --instance {instance}"
        )
    app = create_app(instance_path=instance)
    with app.app_context():
        try:
            upgrade_schema()
        except BackupError as e:
            raise click.ClickException(f"Chưa nâng cấp cơ sở dữ liệu vì chưa sao lưu được: {e}")
    return app


def refuse_existing(instance: str) -> None:
    """Never initialise over a ward's data."""
    if (Path(instance) / DATABASE_FILE).exists():
        raise click.ClickException(f"Thư mục {instance} đã có dữ liệu; không khởi tạo lại.")
