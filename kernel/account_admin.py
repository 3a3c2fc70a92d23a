"""What an admin does to accounts, the same way at the ward and at the hub: the checks of a new
account's name, the rule that keeps an admin, and the accounts screen (the list, the new-account
form, each account's changes, the temporary password shown once).

Each app's service module (``wardapp.accounts.service``, ``city_hub.accounts``) writes its own
accounts and its own audit trail, and is what both the screen and the app's ``user`` command
call; it offers ``add_account``, ``set_roles``, ``disable``, ``enable`` and ``reset_password``
and raises :class:`AccountError`.
"""

from __future__ import annotations

import re
from types import ModuleType

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user

from .database import write_transaction
from .text import has_control_characters, nfc

# Letters without diacritics, digits, dot, dash, underscore: typed the same on any keyboard.
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


class AccountError(ValueError):
    """A change refused, with the reason in Vietnamese for the screen or the command line."""


def clean_identity(username: str, full_name: str) -> tuple[str, str]:
    """A new account's login (folded to lower case) and full name, or the reason they cannot be."""
    username, full_name = nfc(username).strip().casefold(), nfc(full_name).strip()
    if not USERNAME.fullmatch(username):
        raise AccountError(
            "Tên đăng nhập gồm 2–64 chữ cái không dấu, chữ số, dấu chấm, gạch ngang hoặc gạch "
            "dưới, bắt đầu bằng chữ cái hoặc chữ số."
        )
    if not full_name or len(full_name) > 120:
        raise AccountError("Cần ghi họ và tên (tối đa 120 ký tự).")
    if has_control_characters(full_name, allowed=""):
        raise AccountError("Họ và tên chứa ký tự điều khiển không hợp lệ.")
    return username, full_name


def refuse_losing_admin(session, model, target, actor, refusal: str) -> None:
    """Refuse (``refusal``, with ``{who}`` filled in) to take the admin role or access from the
    account acting (``actor``; None at the command line) or from the last active admin: nobody
    could manage the accounts afterwards. Accounts of ``model`` have a ``role_set``."""
    if "admin" not in target.role_set:
        return
    if actor is not None and actor is target:
        raise AccountError(refusal.format(who="chính tài khoản đang đăng nhập"))
    if target.active:
        admins = session.scalars(sa.select(model).where(model.active)).all()
        if [a for a in admins if "admin" in a.role_set] == [target]:
            raise AccountError(refusal.format(who="tài khoản quản trị cuối cùng"))


class AccountChanges:
    """The changes an admin makes to an account that read the same at the ward and the hub:
    find it, lock it, unlock it, give it a new password. Each runs in one write transaction with
    its audit entry, written by the app's own ``audit(action, target, **details)`` (the ward's
    audit log, synced with the account's outbox row; the hub's ``HubAudit``)."""

    def __init__(self, db, model, audit):
        self.db, self.model, self.audit = db, model, audit

    def find(self, username: str):
        session, model = self.db.session, self.model
        found = session.scalar(sa.select(model).where(model.username == username.casefold()))
        if found is None:
            raise AccountError(f"Không có tài khoản {username}.")
        return found

    def disable(self, target, actor=None) -> None:
        """Lock an account (never deleted: the history keeps its name); its sessions end."""
        session = self.db.session
        with write_transaction(session):
            session.refresh(target)
            if actor is target:
                raise AccountError("Không thể tự khóa tài khoản đang đăng nhập.")
            refuse_losing_admin(session, self.model, target, actor, "Không thể khóa {who}.")
            target.active = False
            target.end_sessions()
            self.audit("user.disable", target.username)

    def enable(self, target) -> None:
        session = self.db.session
        with write_transaction(session):
            session.refresh(target)
            target.active = True
            self.audit("user.enable", target.username)

    def reset_password(self, target, password: str | None = None) -> str | None:
        """Give ``target`` a new password and unlock it: ``password`` as the admin typed it at
        the command line, or a temporary one (returned, shown once) it must change at the next
        login. Every session of the account ends."""
        session = self.db.session
        with write_transaction(session):
            session.refresh(target)
            temporary = target.give_password(password)
            target.active = True
            self.audit("user.reset_password", target.username)
        return temporary


def add_account_views(
    blueprint: Blueprint,
    guard,
    session,
    model,
    service: ModuleType,
    roles: dict[str, str],
    multiple_roles: bool,
) -> None:
    """Register the accounts screen on ``blueprint`` (named ``accounts``), each view behind
    ``guard`` (the app's admin check, a 403 for anyone else), writing through ``service``.

    ``roles`` are the roles an account may hold (key: label); ``multiple_roles`` whether it may
    hold several (the ward's officials) or exactly one (the city's staff).
    """
    primary = model.__mapper__.primary_key[0]

    def account_named(key: str):
        """The account a URL's ``key`` names, or None: a key that cannot be one (not digits
        for a numbered account, or past a 32-bit column's range) names nobody."""
        if primary.type.python_type is int:
            if not re.fullmatch(r"[0-9]{1,9}", key):
                return None
            return session.get(model, int(key))
        return session.get(model, key)

    def index_page(error: str | None = None, status: int = 200):
        accounts = session.scalars(sa.select(model).order_by(model.active.desc(), model.username))
        page = render_template(
            "accounts/index.html",
            accounts=list(accounts),
            roles=roles,
            multiple_roles=multiple_roles,
            key=primary.key,
            error=error,
            form=request.form,
        )
        return page, status

    def issued(account, password: str | None, what: str):
        """The temporary password, on its own page and never in a flash (the session cookie is
        signed, not secret): the admin reads it to the owner, and it is not shown again."""
        return render_template(
            "accounts/issued.html", account=account, password=password, what=what
        )

    @blueprint.get("/")
    @guard
    def index():
        return index_page()

    @blueprint.post("/")
    @guard
    def create():
        try:
            account, password = service.add_account(
                request.form.get("username", ""),
                request.form.get("full_name", ""),
                request.form.getlist("roles"),
            )
        except AccountError as e:
            return index_page(str(e), 422)
        return issued(account, password, "Đã tạo tài khoản")

    @blueprint.post("/<key>/<action>")
    @guard
    def change(key, action):
        """One change to one account, from its row of the list: roles, lock, unlock, reset."""
        target = account_named(key)
        if target is None:
            abort(404)
        if action not in ("roles", "disable", "enable", "reset-password"):
            abort(404)
        actor, password = current_user._get_current_object(), None
        try:
            if action == "roles":
                service.set_roles(target, request.form.getlist("roles"), actor)
            elif action == "disable":
                service.disable(target, actor)
            elif action == "enable":
                service.enable(target)
            else:
                password = service.reset_password(target)
        except AccountError as e:
            flash(str(e), "warning")
            return redirect(url_for(f"{blueprint.name}.index"))
        if target is actor:  # an admin changing their own account goes on in this browser
            login_user(target)
        if action == "reset-password":
            return issued(target, password, "Đã đặt lại mật khẩu")
        ended = " Mọi phiên đăng nhập của tài khoản đã kết thúc."
        labels = ", ".join(roles[r] for r in roles if r in target.role_set)
        done = {
            "roles": f"Đã đổi vai trò của {target.username}: {labels}.{ended}",
            "disable": f"Đã khóa tài khoản {target.username}.{ended}",
            "enable": f"Đã mở khóa tài khoản {target.username}.",
        }
        flash(done[action], "success")
        return redirect(url_for(f"{blueprint.name}.index"))
