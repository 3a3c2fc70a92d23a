"""Start-up of the command line: ``wardapp --help`` and ``city-hub --help`` in under 0.3 s.

    .venv/bin/python bench/bench_cli.py [-n 20] [--warmup 2]

Each run is a new process, timed from its start to its exit, as an admin waits for it; the
commands are the entry points beside the interpreter (``.venv/bin/wardapp``, ``city-hub``), with
this environment (a ``PYTHONPATH`` measures another tree). The floor, in the same rounds: ``python
-c pass``, what any Python command costs on this machine. The three are interleaved round by
round, so that other work on the machine disturbs them alike. Median, p95 (nearest rank) and
max; nothing is asserted (tests/test_cli_startup.py checks what ``--help`` imports instead).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time

import benchlib
from benchlib import VENV_BIN, log

TARGET_MS = 300.0
COMMANDS = {
    "floor: python -c pass": [sys.executable, "-c", "pass"],
    "wardapp --help": [str(VENV_BIN / "wardapp"), "--help"],
    "city-hub --help": [str(VENV_BIN / "city-hub"), "--help"],
}


def run_once(command: list[str]) -> float:
    """Milliseconds from the start of ``command`` to its exit; it must succeed."""
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - started) * 1000


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20, help="timed runs of each command")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs before them")
    args = parser.parse_args(argv)

    load = os.getloadavg()
    log(
        f"CLI start-up benchmark: code {benchlib.code_version()}, {os.cpu_count()} CPUs, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    for _ in range(args.warmup):
        for command in COMMANDS.values():
            run_once(command)
    samples: dict[str, list[float]] = {label: [] for label in COMMANDS}
    machine, own = benchlib.machine_cpu_s(), benchlib.own_cpu_s()
    started = time.perf_counter()
    for _ in range(args.n):
        for label, command in COMMANDS.items():
            samples[label].append(run_once(command))
    wall = time.perf_counter() - started
    # the children's CPU is the benchmark's own: what is left is the rest of the machine's
    children = os.times().children_user + os.times().children_system
    others = max(benchlib.machine_cpu_s() - machine - (benchlib.own_cpu_s() - own) - children, 0)

    log("")
    log(f"Results, {args.n} runs of each after {args.warmup} warm-up (ms; p95: nearest rank):")
    log(f"   {'command':<26}{'p50':>8}{'p95':>8}{'max':>8}   target")
    for label, values in samples.items():
        target = ""
        if not label.startswith("floor"):
            target = f"p95 < {TARGET_MS:.0f} ms {'ok' if p95(values) < TARGET_MS else 'OVER'}"
        log(
            f"   {label:<26}{statistics.median(values):>8.1f}{p95(values):>8.1f}"
            f"{max(values):>8.1f}   {target}"
        )
    log(
        f"   other processes used {others / wall:.2f} of {os.cpu_count()} CPUs during the runs "
        f"({wall:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
