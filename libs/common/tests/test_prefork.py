"""``prefork.spread``: each worker of a pre-forked server listens on a socket of its own bound to
the one port (``SO_REUSEPORT``), so a burst of connections lands on every worker, not on the one
that woke first; and ``Prefork`` serves them from real forked processes."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from wharf_common.prefork import spread
from wharf_common.serving import tcp_listener


def accepted(sock: socket.socket) -> int:
    sock.setblocking(False)
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_each_worker_gets_its_own_socket_on_the_same_port_and_a_share_of_a_burst() -> None:
    listener = tcp_listener("127.0.0.1", 0)
    slots = spread([listener], 2)
    try:
        (first,), (second,) = slots
        assert first is listener and second is not listener
        assert second.getsockname() == listener.getsockname()
        clients = [socket.create_connection(listener.getsockname()[:2], timeout=5) for _ in range(32)]
        time.sleep(0.2)
        counts = [accepted(first), accepted(second)]
        assert sum(counts) == 32
        assert min(counts) >= 4, counts  # a hash of 32 client ports: 4 or fewer on one side is < 0.001%
    finally:
        for c in locals().get("clients", []):
            c.close()
        for s in {id(s): s for slot in slots for s in slot}.values():
            s.close()


def test_one_worker_and_unix_sockets_keep_the_socket_they_were_given(tmp_path: Path) -> None:
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(str(tmp_path / "s.sock"))
    unix.listen()
    tcp = tcp_listener("127.0.0.1", 0)
    try:
        assert spread([tcp], 1) == [[tcp]]
        slots = spread([unix], 3)
        assert slots == [[unix], [unix], [unix]]
    finally:
        unix.close()
        tcp.close()


SERVER = textwrap.dedent(
    """
    import os, sys
    from wharf_common.prefork import serve_workers
    from wharf_common.serving import tcp_listener

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(os.getpid()).encode()})

    sock = tcp_listener("127.0.0.1", 0)
    print(sock.getsockname()[1], flush=True)
    serve_workers(lambda: app, [sock], 2, log_level="warning")
    """
)


@pytest.mark.slow
def test_a_burst_of_keep_alive_connections_is_served_by_both_workers() -> None:
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        deadline = time.monotonic() + 20
        while True:  # both workers up: each answers on the port
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).connect()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        time.sleep(1.0)
        conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(16)]
        for c in conns:
            c.connect()  # all at once, as a load balancer's pool or a benchmark opens them
        pids = []
        for c in conns:
            c.request("GET", "/")
            pids.append(c.getresponse().read().decode())
            c.close()
        assert len(set(pids)) == 2, pids
        assert str(os.getpid()) not in pids
    finally:
        proc.terminate()
        proc.wait(timeout=20)
