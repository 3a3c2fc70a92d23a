"""``python -m wardapp`` is the ``wardapp`` command (what the scheduled scripts call)."""

from .cli import cli

cli()
