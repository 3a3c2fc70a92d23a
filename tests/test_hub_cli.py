"""The city-hub command: every command documented; ward credentials; USB import."""

import pytest
from click.testing import CliRunner

from city_hub.cli import cli

from .conftest import check_documented, cli_commands


@pytest.mark.parametrize("path, command", list(cli_commands(cli, "city-hub")))
def test_every_command_has_help_and_is_documented(path, command):
    check_documented(cli, path, command)


def test_ward_credentials(tmp_path):
    runner = CliRunner()
    instance = ["--instance", str(tmp_path / "hub")]
    assert runner.invoke(cli, ["init", *instance]).exit_code == 0
    added = runner.invoke(cli, ["ward", "add", "30280", *instance])
    assert added.exit_code == 0 and added.output.strip().splitlines()[-1].startswith("ws_")
    again = runner.invoke(cli, ["ward", "add", "30280", *instance])
    assert again.exit_code == 1 and "rotate" in again.output
    assert runner.invoke(cli, ["ward", "add", "99999", *instance]).exit_code == 2
    rotated = runner.invoke(cli, ["ward", "rotate", "30280", *instance])
    assert rotated.output.startswith("ws_") and rotated.output != added.output
    assert runner.invoke(cli, ["ward", "revoke", "30280", *instance]).exit_code == 0
    listed = runner.invoke(cli, ["ward", "list", *instance])
    assert "ĐÃ THU HỒI" in listed.output and "IM LẶNG" in listed.output
    assert runner.invoke(cli, ["ward", "allow-rekey", "30281", *instance]).exit_code == 1
    from city_hub import create_app
    from city_hub.extensions import db
    from city_hub.models import HubAudit

    with create_app(instance_path=str(tmp_path / "hub")).app_context():
        actions = [a.action for a in db.session.query(HubAudit).order_by(HubAudit.id)]
        db.engine.dispose()
    assert actions == ["ward.add", "ward.rotate", "ward.revoke"]
