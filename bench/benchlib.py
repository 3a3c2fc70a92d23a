"""What the benchmarks share: printing as they go, the code a figure belongs to, other
benchmarks and other work running beside this one, and a process's memory and CPU from /proc
(Linux).

``bench/`` is not a package: each script imports this module from its own folder.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The commands (``wardapp``, ``city-hub``) of the environment the benchmark runs in: beside the
# interpreter (``.venv/bin/python bench/...`` from a fresh clone, or any other venv or worktree).
VENV_BIN = Path(sys.executable).parent
# The code the figures belong to (pyproject.toml's packages).
PACKAGES = ("kernel", "wardapp", "city_hub", "demo")


def now() -> dt.datetime:
    """The moment a benchmark takes as "now" (aware, UTC, to the minute): the one clock every
    date a benchmark derives (the end of a seed, the check that copies end in the past) is
    taken from, so that a test can set it to any day of the calendar."""
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def log(*parts) -> None:
    """Print at once: a benchmark's progress is read while it runs, often through a pipe."""
    print(*parts, flush=True)


def code_version(folders: tuple[str, ...] = PACKAGES) -> str:
    """The commit the code is at, and which of ``folders`` hold uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", *folders],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = sorted({line[3:].split("/")[0] for line in dirty.splitlines() if line.strip()})
    return head + (
        f" + uncommitted changes in {', '.join(c + '/' for c in changed)}" if changed else ""
    )


def free_port() -> int:
    """A free TCP port on the loopback interface, for a server a benchmark starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def machine_cpu_s() -> float:
    """CPU seconds the whole machine has been busy (all CPUs), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds (user + system) of this process."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def others_busy(seconds: float = 3.0) -> float:
    """How many CPUs other processes than this one keep busy, on average over ``seconds``."""
    machine, own = machine_cpu_s(), own_cpu_s()
    time.sleep(seconds)
    return max(machine_cpu_s() - machine - (own_cpu_s() - own), 0) / seconds


def _cpu_ticks() -> dict[int, tuple[int, int]]:
    """Every process's (parent pid, utime + stime ticks)."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(pid)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return out


def busy_benchmarks(this_script: str, seconds: float = 3.0) -> list[str]:
    """The other bench_* processes that are working: using CPU themselves or through their
    children over ``seconds``. One that only waits (another benchmark's --wait-idle waiting for
    this one) does not count, so that two waiting benchmarks cannot wait for each other."""
    others = other_benchmarks(this_script)
    if not others:
        return []
    before = _cpu_ticks()
    time.sleep(seconds)
    after = _cpu_ticks()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in after.items():
        children.setdefault(ppid, []).append(pid)
    busy = []
    for line in others:
        root = int(line.split(":", 1)[0])
        tree, todo = [], [root]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += children.get(pid, [])
        used = sum(after[p][1] - before.get(p, (0, 0))[1] for p in tree if p in after)
        if used / os.sysconf("SC_CLK_TCK") > 0.05 * seconds:
            busy.append(line)
    return busy


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
