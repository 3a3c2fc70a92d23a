"""The ward's accounts: the staff who sign in (``user``) and the access tokens of the JSON API
(``token``), each acting for an account."""

from __future__ import annotations

import click
import sqlalchemy as sa

from kernel.accounts import new_password_option, password_option

from ..audit import audit
from ..extensions import db
from ..models import API_SCOPES, SyncNode
from ..sync.records import ROLES, User
from .instance import instance_option, open_app


@click.group()
def user():
    """Quản lý tài khoản cán bộ của phường, xã."""


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
    app = open_app(instance)
    with app.app_context():
        if db.session.scalar(sa.select(User).where(User.username == username.casefold())):
            raise click.ClickException(f"Đã có tài khoản {username}.")
        account = User(
            ward_code=db.session.get(SyncNode, 1).ward_code,
            username=username.casefold(),
            full_name=full_name,
            roles=" ".join(roles),
        )
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
    if "admin" in target.role_set and [a.uuid for a in admins if "admin" in a.role_set] == [
        target.uuid
    ]:
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
    from ..api import issue_token

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
