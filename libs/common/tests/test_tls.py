"""TLS on TCP with half-close: after the client has finished sending (its ``close_notify``, as Go's
``tls.Conn.CloseWrite``, or a TCP FIN), a protocol that stays open still answers; unix sockets stay plain."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_common._tls import tls_dispatcher

from .loopthread import serving
from .selfsigned import make_pair


class CountThenAnswer(asyncio.Protocol):
    """Reads until the peer's end, then says how much it got, and closes (like ``run -i cat``)."""

    def __init__(self, **_: object) -> None:
        self.received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += len(data)

    def eof_received(self) -> bool:
        loop = asyncio.get_running_loop()  # the answer comes later, as a container's output would
        loop.call_later(0.05, self.transport.write, b"after eof: %d" % self.received)
        loop.call_later(0.1, self.transport.close)
        return True


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, Path, ssl.SSLContext]]:
    """Loopback TCP and a unix socket served by one loop in a thread: (port, unix path, client context)."""
    cert, key = make_pair(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    loop = asyncio.new_event_loop()
    tcp = socket.create_server(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(tmp_path / "s.sock"))
    unix.listen()
    factory = tls_dispatcher(CountThenAnswer, context)
    servers = [loop.run_until_complete(loop.create_server(factory, sock=s)) for s in (tcp, unix)]
    client = ssl.create_default_context(cafile=cert)
    with serving(loop, servers):
        yield tcp.getsockname()[1], tmp_path / "s.sock", client


def tls_exchange(
    port: int, client: ssl.SSLContext, *, tcp_fin: bool, records: tuple[bytes, ...] = (b"hello",)
) -> bytes:
    """Send ``records`` in one segment, end the stream (close_notify, or a bare TCP FIN), read the answer."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = client.wrap_bio(incoming, outgoing, server_hostname="localhost")

    def pump() -> bool:
        if data := outgoing.read():
            sock.sendall(data)
        data = sock.recv(65536)
        if data:
            incoming.write(data)
        else:
            incoming.write_eof()
        return bool(data)

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            pump()
    for record in records:
        tls.write(record)
    if not tcp_fin:
        with pytest.raises(ssl.SSLWantReadError):
            tls.unwrap()  # writes close_notify, would wait for the server's
    sock.sendall(outgoing.read())
    if tcp_fin:
        sock.shutdown(socket.SHUT_WR)
    answer = b""
    while True:
        try:
            if not (data := tls.read(1024)):
                break  # the server's close_notify
            answer += data
        except ssl.SSLWantReadError:
            if not pump():
                break
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            break
    sock.close()
    return answer


@pytest.mark.parametrize("tcp_fin", [False, True], ids=["close_notify", "tcp_fin"])
def test_server_answers_after_the_clients_end_of_stream(
    server: tuple[int, Path, ssl.SSLContext], tcp_fin: bool
) -> None:
    port, _, client = server
    assert tls_exchange(port, client, tcp_fin=tcp_fin) == b"after eof: 5"


def test_unix_sockets_stay_plain(server: tuple[int, Path, ssl.SSLContext]) -> None:
    _, path, _ = server
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(b"plain")
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(100) == b"after eof: 5"


class PauseOnFirstData(CountThenAnswer):
    """Pauses reading at its first bytes and resumes a little later, as uvicorn does under a big body."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.received == len(data):
            self.transport.pause_reading()
            asyncio.get_running_loop().call_later(0.1, self.transport.resume_reading)


def test_records_received_while_paused_arrive_after_resume(tmp_path: Path) -> None:
    cert, key = make_pair(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    loop = asyncio.new_event_loop()
    tcp = socket.create_server(("127.0.0.1", 0))
    server = loop.run_until_complete(loop.create_server(tls_dispatcher(PauseOnFirstData, context), sock=tcp))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        client = ssl.create_default_context(cafile=cert)
        # three records in one segment: while paused, two wait inside the TLS object for the resume
        answer = tls_exchange(tcp.getsockname()[1], client, tcp_fin=False, records=(b"x" * 1000,) * 3)
        assert answer == b"after eof: 3000"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        server.close()
        loop.close()
