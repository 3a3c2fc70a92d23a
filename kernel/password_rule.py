"""The password rule of every account, at the ward and at the hub, and the CLI option that asks
for one under it: apart from the account model (:mod:`.accounts`), so that a command line
declares its options without importing SQLAlchemy (``wardapp --help`` starts in a blink)."""

from __future__ import annotations

import click

MIN_PASSWORD_LENGTH = 10


def password_problem(password: str) -> str | None:
    """What is wrong with ``password`` under the rule of every account, at the ward and at the
    hub, in Vietnamese; None when it passes."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự."
    if not password.strip():
        return "Mật khẩu không được chỉ gồm khoảng trắng."
    return None


def password_ok(password: str) -> str:
    """:func:`password_problem` as a click callback, for the commands that take a password."""
    problem = password_problem(password)
    if problem:
        raise click.BadParameter(problem)
    return password


def password_option(name: str = "--password", prompt: str = "Mật khẩu", after: str = ""):
    """A CLI option asking for a password twice, hidden, and holding it to :func:`password_ok`;
    its help says the rule (``after`` is added to it)."""
    return click.option(
        name,
        prompt=prompt,
        hide_input=True,
        confirmation_prompt=True,
        callback=lambda c, p, v: password_ok(v),
        help=f"{prompt} (ít nhất {MIN_PASSWORD_LENGTH} ký tự){after}.",
    )


new_password_option = password_option(prompt="Mật khẩu mới")
