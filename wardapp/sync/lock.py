"""A single-instance lock on a file, so overlapping scheduled runs never push twice at once."""

from __future__ import annotations

import os
from pathlib import Path


class SingleInstance:
    """``with SingleInstance(path) as locked:`` — ``locked`` is False if another run holds it.

    The operating system drops the lock when the process dies, so a killed run never leaves a
    stale lock behind.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.handle = None

    def __enter__(self) -> bool:
        self.handle = open(self.path, "a+b")
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(self.handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.handle.close()
            self.handle = None
            return False
        return True

    def __exit__(self, *exc) -> None:
        if self.handle is not None:
            self.handle.close()  # closing releases the lock


LOCK_FILE = "sync.lock"


def sync_lock(instance_path: str) -> SingleInstance:
    """The ward's one sync lock: the scheduled run and the panel's "Đồng bộ ngay" both take it,
    so two runs never push at once."""
    return SingleInstance(Path(instance_path) / LOCK_FILE)
