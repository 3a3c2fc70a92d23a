"""Progress of a long command, told the way its reader can see it.

On a terminal, click's bar. Anywhere else (a scheduled task's log, a pipe, a CI job) a bar is
either a storm of redrawn lines or, as click does there, nothing until the end; so there it is
one plain line each time the work crosses another few percent, such as
``Đồng bộ: 35% (1.234/3.525)``. Every command of both apps that shows progress uses
:class:`Progress`, so the two ways stay one.
"""

from __future__ import annotations

import sys
from typing import TextIO

import click

from .formatting import vn_number

STEP_PERCENT = 5


class Progress:
    """``with Progress("Đồng bộ", length=n) as bar: bar.update(k)`` — a bar on a terminal, a
    line per ``step`` percent elsewhere.

    ``length`` and ``label`` may change while it runs (a total learnt late, a label that says
    which unit is done); the next line or redraw shows them.
    """

    def __init__(
        self,
        label: str,
        length: int = 1,
        *,
        file: TextIO | None = None,
        step: int = STEP_PERCENT,
        show_pos: bool = False,
    ):
        self.file = file if file is not None else sys.stdout
        self.step = step
        self.pos = 0
        self._label, self._length = label, max(length, 1)
        self._told = 0  # the last percentage told as a line
        self.bar = (
            click.progressbar(length=self._length, label=label, file=self.file, show_pos=show_pos)
            if self.file.isatty()
            else None
        )

    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, value: str) -> None:
        self._label = value
        if self.bar is not None:
            self.bar.label = value

    @property
    def length(self) -> int:
        return self._length

    @length.setter
    def length(self, value: int) -> None:
        self._length = max(value, 1)
        if self.bar is not None:
            self.bar.length = self._length

    def __enter__(self) -> Progress:
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def update(self, steps: int) -> None:
        """``steps`` more done (0 only redraws, e.g. after a new label)."""
        self.pos += steps
        if self.bar is not None:
            self.bar.update(steps)
            return
        percent = min(100, self.pos * 100 // self._length)
        if percent >= self._told + self.step:
            self._told = percent - percent % self.step
            click.echo(
                f"{self._label}: {percent}% ({vn_number(self.pos)}/{vn_number(self._length)})",
                file=self.file,
            )

    def reach(self, done: int, total: int) -> None:
        """``done`` of ``total`` done in all (for work that tells where it stands, not steps)."""
        self.length = total
        self.update(done - self.pos)
