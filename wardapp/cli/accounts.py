"""The ward's accounts: the staff who sign in (``user``) and the access tokens of the JSON API
(``token``), each acting for an account."""

from __future__ import annotations

import contextlib

import click

from kernel.password_rule import new_password_option, password_option

from ..roles import API_SCOPES, ROLES
from .instance import instance_option, open_app

# The models and the account service are imported in each command, not here: ``wardapp --help``
# does not load SQLAlchemy (tests/test_cli_startup.py).


@click.group()
def user():
    """Quản lý tài khoản cán bộ của phường, xã."""


@contextlib.contextmanager
def _refusals():
    """The service's refusals as the command's error message."""
    from kernel.account_admin import AccountError

    try:
        yield
    except AccountError as e:
        raise click.ClickException(str(e)) from None


@user.command("add")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Họ và tên cán bộ.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(list(ROLES)),
    help="Vai trò (có thể lặp lại).",
)
@password_option()
@instance_option
def user_add(username, full_name, roles, password, instance):
    """Thêm một tài khoản cán bộ."""
    from ..accounts import service

    app = open_app(instance)
    with app.app_context(), _refusals():
        service.add_account(username, full_name, roles, password)
    click.echo(f"Đã thêm {username} ({', '.join(ROLES[r] for r in roles)}).")


@user.command("disable")
@click.argument("username")
@instance_option
def user_disable(username, instance):
    """Khóa một tài khoản (không xóa: lịch sử xử lý hồ sơ vẫn giữ tên người đó)."""
    from ..accounts import service

    app = open_app(instance)
    with app.app_context(), _refusals():
        service.disable(service.find_account(username))
    click.echo(f"Đã khóa tài khoản {username}.")


@user.command("set-roles")
@click.argument("username")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(list(ROLES)),
    help="Vai trò mới (có thể lặp lại; thay cho mọi vai trò cũ).",
)
@instance_option
def user_set_roles(username, roles, instance):
    """Đổi vai trò của một tài khoản (mọi phiên đăng nhập của tài khoản kết thúc)."""
    from ..accounts import service

    app = open_app(instance)
    with app.app_context(), _refusals():
        service.set_roles(service.find_account(username), roles)
    click.echo(f"Đã đổi vai trò của {username} ({', '.join(ROLES[r] for r in roles)}).")


@user.command("reset-password")
@click.argument("username")
@new_password_option
@instance_option
def user_reset_password(username, password, instance):
    """Đặt lại mật khẩu (và mở khóa) một tài khoản."""
    from ..accounts import service

    app = open_app(instance)
    with app.app_context(), _refusals():
        service.reset_password(service.find_account(username), password)
    click.echo(f"Đã đặt lại mật khẩu cho {username}.")


@user.command("list")
@instance_option
def user_list(instance):
    """Liệt kê tài khoản."""
    import sqlalchemy as sa

    from ..extensions import db
    from ..sync.records import User

    app = open_app(instance)
    with app.app_context():
        for account in db.session.scalars(sa.select(User).order_by(User.username)):
            state = "" if account.active else " (đã khóa)"
            click.echo(
                f"{account.username:<16} {account.full_name:<28} {account.role_labels}{state}"
            )


@click.group()
def token():
    """Mã truy cập cho API JSON (/api/v1)."""


@token.command("create")
@click.option("--user", "username", required=True, help="Tài khoản mà API thay mặt.")
@click.option("--name", required=True, help="Tên gợi nhớ, ví dụ: Cổng dịch vụ công tỉnh.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(list(API_SCOPES)),
    help="Quyền của mã (có thể lặp lại; mặc định: tất cả).",
)
@instance_option
def token_create(username, name, scopes, instance):
    """Tạo mã truy cập (chỉ hiển thị một lần)."""
    from ..accounts import service
    from ..api import issue_token
    from ..audit import audit
    from ..extensions import db

    scopes = scopes or tuple(API_SCOPES)
    app = open_app(instance)
    with app.app_context(), _refusals():
        value = issue_token(service.find_account(username), name, scopes)
        audit("token.create", name, account=username.casefold(), scopes=" ".join(scopes))
        db.session.commit()
    click.echo(value)


@token.command("list")
@instance_option
def token_list(instance):
    """Liệt kê mã truy cập (không hiện giá trị)."""
    import sqlalchemy as sa

    from kernel.formatting import vn_datetime

    from ..extensions import db
    from ..models import ApiToken

    app = open_app(instance)
    with app.app_context():
        for item in db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)):
            state = f"thu hồi {vn_datetime(item.revoked_at)}" if item.revoked_at else "hiệu lực"
            click.echo(
                f"{item.id:>4}  {item.name:<30} {item.user.username:<14} "
                f"[{item.scopes}] tạo {vn_datetime(item.created_at)}  {state}"
            )


@token.command("revoke")
@click.argument("token_id", type=int)
@instance_option
def token_revoke(token_id, instance):
    """Thu hồi một mã truy cập (số thứ tự trong `wardapp token list`)."""
    from kernel.columns import utcnow

    from ..audit import audit
    from ..extensions import db
    from ..models import ApiToken

    app = open_app(instance)
    with app.app_context():
        item = db.session.get(ApiToken, token_id)
        if item is None:
            raise click.ClickException(f"Không có mã truy cập số {token_id}.")
        item.revoked_at = item.revoked_at or utcnow()
        audit("token.revoke", item.name, token_id=token_id)
        db.session.commit()
    click.echo(f"Đã thu hồi mã truy cập {token_id} ({item.name}).")
