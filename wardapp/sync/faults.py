"""Named fault points for the sync fault-injection tests (docs/guarantees.md, T1–T24).

``fault("hub.after_apply_before_commit")`` does nothing unless the environment variable
``SYNC_FAULTS`` names that point, as ``point=kill`` (SIGKILL this process, as a power cut would)
or ``point=raise``. Production never sets it.
"""

from __future__ import annotations

import os
import signal


class InjectedFault(RuntimeError):
    pass


def fault(point: str) -> None:
    spec = os.environ.get("SYNC_FAULTS")
    if not spec:
        return
    actions = dict(item.split("=", 1) for item in spec.split(",") if "=" in item)
    action = actions.get(point)
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "raise":
        raise InjectedFault(point)
