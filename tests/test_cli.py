"""The wardapp command: every command has help and is documented, and init/user/token work."""

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from wardapp.cli import cli

from .conftest import check_documented, cli_commands


@pytest.mark.parametrize("path, command", list(cli_commands(cli, "wardapp")))
def test_every_command_has_help_and_is_documented(path, command):
    check_documented(cli, path, command)


def test_init_user_token_export(tmp_path):
    instance = str(tmp_path / "ward")
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["init", "--unit", "30283", "--instance", instance, "--admin-password", "mot-mat-khau-dai"],
    )
    assert result.exit_code == 0, result.output
    assert "Phường Mỹ Long" in result.output
    assert oct(os.stat(Path(instance) / "secret_key").st_mode & 0o777) == "0o600"
    from wardapp import create_app

    served = create_app(instance_path=instance)
    assert served.config["SECRET_KEY"] == (Path(instance) / "secret_key").read_text()
    assert served.test_client().get("/auth/login").status_code == 200
    db = sqlite3.connect(Path(instance) / "ward.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("select ward_code from sync_node").fetchone()[0] == "30283"
    admin_hash = db.execute("select password_hash from user where username='admin'").fetchone()[0]
    assert admin_hash.startswith("scrypt:")
    db.close()

    again = runner.invoke(
        cli,
        ["init", "--unit", "30283", "--instance", instance, "--admin-password", "mot-mat-khau-dai"],
    )
    assert again.exit_code != 0 and "đã có dữ liệu" in again.output

    added = runner.invoke(
        cli,
        [
            "user",
            "add",
            "hoa",
            "--name",
            "Nguyễn Thị Hoa",
            "--role",
            "receptionist",
            "--password",
            "mat-khau-cua-hoa",
            "--instance",
            instance,
        ],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli, ["user", "list", "--instance", instance])
    assert "Nguyễn Thị Hoa" in listed.output
    token = runner.invoke(
        cli, ["token", "create", "--user", "hoa", "--name", "Cổng", "--instance", instance]
    )
    assert token.output.startswith("wt_")
    out = tmp_path / "units.csv"
    exported = runner.invoke(cli, ["export", "unit", "--out", str(out), "--instance", instance])
    assert exported.exit_code == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM, for Excel
    assert "Xã Mỹ Hòa Hưng" in out.read_text(encoding="utf-8-sig")
    users = runner.invoke(cli, ["export", "user", "--instance", instance])
    assert "scrypt" not in users.output


def test_init_refuses_short_password_and_unknown_unit(tmp_path):
    runner = CliRunner()
    short = runner.invoke(
        cli,
        ["init", "--unit", "30280", "--instance", str(tmp_path / "a"), "--admin-password", "123"],
    )
    assert short.exit_code == 2 and "10 ký tự" in short.output
    unknown = runner.invoke(
        cli,
        [
            "init",
            "--unit",
            "99999",
            "--instance",
            str(tmp_path / "b"),
            "--admin-password",
            "mot-mat-khau-dai",
        ],
    )
    assert unknown.exit_code == 2 and not (tmp_path / "b").exists()


def test_init_asks_for_the_password_when_not_given(tmp_path):
    result = CliRunner().invoke(
        cli,
        ["init", "--unit", "30280", "--instance", str(tmp_path / "c")],
        input="mot-mat-khau-dai\nmot-mat-khau-dai\n",
    )
    assert result.exit_code == 0, result.output
    assert "Mật khẩu quản trị" in result.output


def test_agency_code_heads_the_dossier_codes(tmp_path):
    from wardapp import create_app
    from wardapp.dossiers.service import receive_dossier

    from .conftest import intake_data

    instance = str(tmp_path / "e")
    result = CliRunner().invoke(
        cli,
        [
            "init",
            "--unit",
            "30280",
            "--agency-code",
            "000.31.28.H01",
            "--instance",
            instance,
            "--admin-password",
            "mot-mat-khau-dai",
        ],
    )
    assert result.exit_code == 0, result.output
    bad = CliRunner().invoke(
        cli,
        [
            "init",
            "--unit",
            "30280",
            "--agency-code",
            "x-/../y",
            "--instance",
            str(tmp_path / "f"),
            "--admin-password",
            "mot-mat-khau-dai",
        ],
    )
    assert bad.exit_code == 2
    app = create_app(instance_path=instance)
    with app.app_context():
        from wardapp.extensions import db
        from wardapp.sync.records import User

        admin = db.session.scalar(db.select(User))
        admin.roles = "receptionist"
        dossier, _ = receive_dossier(intake_data(), actor=admin)
        assert dossier.code.startswith("000.31.28.H01-")


def test_commands_need_an_initialised_instance(tmp_path):
    result = CliRunner().invoke(cli, ["user", "list", "--instance", str(tmp_path / "none")])
    assert result.exit_code == 1 and "wardapp init" in result.output
