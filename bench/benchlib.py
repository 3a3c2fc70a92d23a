"""What the benchmarks share: the code a figure belongs to, other benchmarks running beside
this one, and a process's memory and CPU from /proc (Linux).

``bench/`` is not a package: each script imports this module from its own folder.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def code_version(folders: tuple[str, ...] = ("city_hub", "wardapp")) -> str:
    """The commit the code is at, and which of ``folders`` hold uncommitted changes."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                                *folders], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = sorted({line[3:].split("/")[0] for line in dirty.splitlines() if line.strip()})
    return head + (f" + uncommitted changes in {', '.join(c + '/' for c in changed)}"
                   if changed else "")


def other_benchmarks(this_script: str) -> list[str]:
    """Command lines of the other bench_* processes (another benchmark, or another run)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        if "bench_" in cmd and "python" in cmd and this_script not in cmd:
            found.append(f"{pid}: {cmd[:120]}")
    return found


def proc_status(pid: int) -> dict[str, int | float]:
    """VmHWM (peak RSS) and VmRSS in bytes, and CPU seconds (user + system) of a process."""
    status: dict[str, int | float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            status[key] = int(value.split()[0]) * 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    status["cpu_s"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return status
