"""TCP listeners made by ``serving.tcp_listener``: accepted sockets have TCP_NODELAY, with TLS and without
(small writes of a hijacked stream or a response's head must not wait for Nagle and a delayed ACK);
concurrent TLS handshakes are each answered, and a client without a certificate is refused with an alert."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from wharf_common._tls import tls_dispatcher
from wharf_common.serving import tcp_listener

from .loopthread import serving
from .selfsigned import make_pair


class SayNodelay(asyncio.Protocol):
    """Answers the first bytes with the socket's TCP_NODELAY setting, then closes."""

    def __init__(self, **_: object) -> None:
        pass

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        sock = self.transport.get_extra_info("socket")
        nodelay = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        self.transport.write(b"%s nodelay=%d" % (data, 1 if nodelay else 0))
        self.transport.close()


@pytest.fixture
def listeners(tmp_path: Path) -> Iterator[tuple[int, int, ssl.SSLContext, ssl.SSLContext]]:
    """A plain and a TLS listener (client certificates required) on one loop in a thread:
    (plain port, TLS port, client context with a certificate, client context without)."""
    cert, key = make_pair(tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    server.load_verify_locations(cert)  # self-signed: the client presents the same pair
    server.verify_mode = ssl.CERT_REQUIRED
    loop = asyncio.new_event_loop()
    plain, tls = tcp_listener("127.0.0.1", 0), tcp_listener("127.0.0.1", 0)
    servers = [
        loop.run_until_complete(loop.create_server(SayNodelay, sock=plain)),
        loop.run_until_complete(loop.create_server(tls_dispatcher(SayNodelay, server), sock=tls)),
    ]
    with_cert = ssl.create_default_context(cafile=cert)
    with_cert.load_cert_chain(cert, key)
    with serving(loop, servers):
        yield plain.getsockname()[1], tls.getsockname()[1], with_cert, ssl.create_default_context(cafile=cert)


def exchange(port: int, context: ssl.SSLContext | None, message: bytes) -> bytes:
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock = context.wrap_socket(raw, server_hostname="localhost") if context else raw
    with sock:
        sock.sendall(message)
        answer = b""
        while chunk := sock.recv(100):
            answer += chunk
    return answer


def test_accepted_sockets_have_nodelay_with_and_without_tls(
    listeners: tuple[int, int, ssl.SSLContext, ssl.SSLContext],
) -> None:
    plain, tls, client, _ = listeners
    assert exchange(plain, None, b"plain") == b"plain nodelay=1"
    assert exchange(tls, client, b"tls") == b"tls nodelay=1"


def test_concurrent_handshakes_are_all_answered_and_a_client_without_certificate_refused(
    listeners: tuple[int, int, ssl.SSLContext, ssl.SSLContext],
) -> None:
    _, tls, client, anonymous = listeners
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: exchange(tls, client, b"%d" % i), range(48)))
        with pytest.raises(ssl.SSLError, match=r"CERTIFICATE_REQUIRED|certificate required"):
            exchange(tls, anonymous, b"nobody")  # the server's alert says why
    assert answers == [b"%d nodelay=1" % i for i in range(48)]


def data_segments_out(sock: socket.socket) -> int:
    """``tcpi_data_segs_out`` of Linux's ``struct tcp_info`` (4.6+): segments sent that carried data."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 192)
    return int.from_bytes(info[156:160], "little")


class HeadThenBody(asyncio.Protocol):
    """Writes two records in one callback, as uvicorn writes a response's head and then its body;
    a little later, how many TCP segments they took; then closes."""

    def __init__(self, **_: object) -> None:
        pass

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        sock = self.transport.get_extra_info("socket")
        before = data_segments_out(sock)
        self.transport.write(b"head;")
        self.transport.write(b"body;")

        def report() -> None:
            self.transport.write(b"segments=%d" % (data_segments_out(sock) - before))
            self.transport.close()

        asyncio.get_running_loop().call_later(0.1, report)


@contextmanager
def tls_server(directory: Path, protocol: Callable[..., asyncio.Protocol]) -> Iterator[tuple[int, Path]]:
    """``protocol`` behind a TLS listener on a loop in a thread: (its port, the certificate to trust)."""
    cert, key = make_pair(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    loop = asyncio.new_event_loop()
    tcp = tcp_listener("127.0.0.1", 0)
    server = loop.run_until_complete(loop.create_server(tls_dispatcher(protocol, context), sock=tcp))
    with serving(loop, [server]):
        yield tcp.getsockname()[1], cert


def test_what_is_written_in_one_turn_of_the_loop_goes_out_in_one_segment(tmp_path: Path) -> None:
    with tls_server(tmp_path, HeadThenBody) as (port, cert):
        answer = exchange(port, ssl.create_default_context(cafile=cert), b"go")
        assert answer == b"head;body;segments=1"  # two records, one send


class WritesALot(asyncio.Protocol):
    """Writes 1 MiB in one callback, as a writer that never yields, through a small socket buffer;
    says whether it was asked to pause."""

    def __init__(self, **_: object) -> None:
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)

    def pause_writing(self) -> None:
        self.paused = True

    def data_received(self, data: bytes) -> None:
        for _ in range(16):
            self.transport.write(b"x" * 65536)
        self.transport.write(b"paused=%d" % self.paused)
        self.transport.close()


def test_a_writer_that_does_not_yield_is_still_paused(tmp_path: Path) -> None:
    with tls_server(tmp_path, WritesALot) as (port, cert):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        with ssl.create_default_context(cafile=cert).wrap_socket(raw, server_hostname="localhost") as sock:
            sock.sendall(b"go")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert len(answer) == 16 * 65536 + len(b"paused=1") and answer.endswith(b"paused=1")
