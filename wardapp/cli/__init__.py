"""The ``wardapp`` command: set up, serve and look after one ward's desk.

Every command takes ``--instance`` (or ``$WARDAPP_INSTANCE``), the ward's instance folder, so
several wards can run side by side on one machine. One module a job: :mod:`.instance` (the folder
and the app opened on it), :mod:`.desk` (``init``, ``serve``, ``generate``), :mod:`.recovery`
(the ward's records back from the hub), :mod:`.accounts` (``user``, ``token``), :mod:`.upkeep`
(``backup``, ``restore``, ``check``, ``reindex``, ``export``) and :mod:`.hub_sync` (``sync``).
This module only gathers them into the group, so none of them imports it.
"""

from __future__ import annotations

import importlib.metadata

import click
from click_default_group import DefaultGroup

from . import accounts, hub_sync, upkeep
from .desk import generate, init, initialise, serve
from .instance import instance_option

__all__ = ["WardGroup", "cli", "initialise", "instance_option"]  # the demo and benches use these


class WardGroup(DefaultGroup):
    """The ward's commands, and those other packages add under the ``wardapp.commands`` entry
    point (the demo city), loaded when asked for as flask's CLI loads its plugins: this app
    never imports them."""

    def _add_plugin_commands(self) -> None:
        if getattr(self, "_plugins_added", False):
            return
        self._plugins_added = True
        for entry in importlib.metadata.entry_points(group="wardapp.commands"):
            self.add_command(entry.load(), entry.name)

    def get_command(self, ctx, cmd_name):
        self._add_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        self._add_plugin_commands()
        return super().list_commands(ctx)


@click.group(cls=WardGroup, default="serve", default_if_no_args=True)
@click.version_option(package_name="longxuyen-onestop")
def cli():
    """Phần mềm Bộ phận Tiếp nhận và Trả kết quả của phường, xã (chạy trên mạng nội bộ)."""


for command in (
    init,
    serve,
    generate,
    accounts.user,
    accounts.token,
    upkeep.backup,
    upkeep.restore,
    upkeep.check,
    upkeep.reindex,
    upkeep.export,
    hub_sync.sync,
):
    cli.add_command(command)
