"""The demo's port check: a port left in TIME-WAIT by a demo stopped a moment ago passes (the
servers bind with SO_REUSEADDR and start fine on it); a port another program listens on is
refused, named, in Vietnamese."""

from __future__ import annotations

import errno
import socket

import pytest

from demo.city import DemoCity, small_preset


def city_on(tmp_path, port: int) -> DemoCity:
    """A demo city whose one port to check is ``port``."""
    city = DemoCity(tmp_path, small_preset(), base_port=0)
    city.hub_port, city.desks = port, []
    return city


def left_in_time_wait() -> int:
    """A loopback port whose server (binding with SO_REUSEADDR, as waitress does) closed a
    connection first, as a stopped server does: the server's side stays in TIME-WAIT a minute."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server closes first: TIME-WAIT is on its port
    client.recv(1)
    client.close()
    server.close()
    return port


def test_a_port_in_time_wait_is_accepted(tmp_path):
    port = left_in_time_wait()
    with socket.socket() as plain, pytest.raises(OSError) as refused:
        plain.bind(("127.0.0.1", port))  # the old check's bind: refused by TIME-WAIT alone
    assert refused.value.errno == errno.EADDRINUSE
    city_on(tmp_path, port).check_ports()  # no error


def test_a_listening_port_is_refused_by_name(tmp_path):
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress binds
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(RuntimeError) as refused:
            city_on(tmp_path, port).check_ports()
    assert str(refused.value) == f"Cổng {port} đang được dùng; chọn --port khác."
