"""``wardapp demo`` stops every process it started however it is told to stop: Ctrl-C at its
terminal, ``kill`` (SIGTERM), or SIGINT when a shell started it in the background with SIGINT
ignored (which left the hub and 14 desks running, holding their ports)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from .test_demo_browser import DESKS, free_ports


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_the_demo_stops_every_process_on_a_signal(tmp_path, stop):
    root, port = tmp_path / "city", free_ports(DESKS + 1)
    process = subprocess.Popen(
        [sys.executable, "-m", "wardapp", "demo", "--small", "--sync-every", "0"]
        + ["--port", str(port), "--instance", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # As a background job of a script: SIGINT ignored, a process group of its own.
        preexec_fn=lambda: (signal.signal(signal.SIGINT, signal.SIG_IGN), os.setpgrp()),
    )
    pids: list[int] = []
    try:
        output = []
        deadline = time.monotonic() + 300
        for line in process.stdout:
            output.append(line)
            if line.startswith("Ctrl-C") or time.monotonic() > deadline:
                break
        assert "Sẵn sàng sau" in "".join(output), "".join(output)
        pids = [int(p.read_text()) for p in root.glob("*.pid")]
        assert len(pids) == DESKS + 1 and all(alive(pid) for pid in pids)

        process.send_signal(stop)
        assert process.wait(timeout=60) == 0
        assert "Đang dừng" in process.stdout.read()
        assert not any(alive(pid) for pid in pids)
        assert not any(port_open(port + i) for i in range(DESKS + 1))
    finally:  # a failure leaves no server behind for the next test
        for pid in [process.pid, *pids]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)
        process.stdout.close()
