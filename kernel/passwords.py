"""Changing one's own password, the same way at the ward and at the hub: the screen (old password
asked, the new one twice, under :func:`kernel.password_rule.password_problem`), and the hook that
sends an account holding a temporary password (an admin's reset, or a new account) to that
screen from every page until it has chosen its own."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user

from .database import write_transaction
from .password_rule import MIN_PASSWORD_LENGTH, password_problem

# What an account with a temporary password may still reach: the change screen itself, logging
# out, and the static files the screen needs.
_ALLOWED_BEFORE_CHANGE = {"auth.password", "auth.logout", "auth.logout_everywhere", "static"}


def new_password_error(account, old: str, new: str, again: str) -> str | None:
    """Why ``new`` (typed twice, ``again``) cannot replace ``account``'s password, in Vietnamese;
    None when it can. The current password is asked so that a desk left logged in does not let
    a passer-by take the account."""
    if not account.check_password(old):
        return "Mật khẩu hiện tại không đúng."
    if new != again:
        return "Hai lần nhập mật khẩu mới không giống nhau."
    if new == old:
        return "Mật khẩu mới phải khác mật khẩu hiện tại."
    return password_problem(new)


def add_password_views(blueprint: Blueprint, session, home_endpoint: str, audit) -> None:
    """Register ``password`` ("Đổi mật khẩu") on ``blueprint`` (the app's ``auth``), and the
    hook that redirects an account that must change its password there from every other page.

    A change ends every other session of the account (a cookie copied before opens nothing
    after) and keeps this one: the browser is logged in again under the new session epoch.
    ``audit(action, target)`` records it where the app records its account changes."""

    @blueprint.before_app_request
    def send_to_password_change():
        if (
            current_user.is_authenticated
            and current_user.must_change_password
            and request.endpoint not in _ALLOWED_BEFORE_CHANGE
        ):
            if request.headers.get("HX-Request"):  # a fragment's request: the whole page goes
                return "", 200, {"HX-Redirect": url_for("auth.password")}
            return redirect(url_for("auth.password"))
        return None

    @blueprint.route("/password", methods=["GET", "POST"])
    @login_required
    def password():
        error, status = None, 200
        if request.method == "POST":
            user = current_user._get_current_object()
            error = new_password_error(
                user,
                request.form.get("old_password", ""),
                request.form.get("new_password", ""),
                request.form.get("new_password_again", ""),
            )
            if error is None:
                with write_transaction(session):
                    session.refresh(user)
                    user.change_password(request.form["new_password"])
                    audit("user.change_password", user.username)
                login_user(user)  # this browser goes on under the new epoch; others are out
                flash(
                    "Đã đổi mật khẩu. Các phiên đăng nhập khác của tài khoản đã kết thúc.",
                    "success",
                )
                return redirect(url_for(home_endpoint))
            status = 422
        page = render_template(
            "auth/password.html",
            error=error,
            forced=current_user.must_change_password,
            min_password_length=MIN_PASSWORD_LENGTH,
        )
        return page, status
