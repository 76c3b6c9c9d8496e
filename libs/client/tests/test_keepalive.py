"""Calls made one after another share a kept-alive connection; a closed one is never reused blindly."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_client import EngineClient, NotFoundError, ProtocolError
from wharf_client.testing import FakeEngine, FakeRequest, Reply, write_upgrade


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeEngine]:
    with FakeEngine(tmp_path / "engine.sock") as fake:
        yield fake


def drop_without_reply(req: FakeRequest) -> None:
    hang_up(req)


def hang_up(req: FakeRequest) -> None:
    """Close the connection now (``close`` alone waits for the handler's reader to be closed too)."""
    req.sock.shutdown(socket.SHUT_RDWR)
    req.sock.close()


def test_calls_in_a_row_share_one_connection(engine: FakeEngine) -> None:
    engine.route("GET", "/containers/json", lambda req: Reply.json([]))
    engine.route("GET", "/containers/nope/json", lambda req: Reply.error(404, "No such container: nope"))
    client = EngineClient(engine.url)
    client.container_list()
    with pytest.raises(NotFoundError):
        client.container_inspect("nope")
    client.container_list(all=True)
    assert [r.connection for r in engine.requests] == [1, 1, 1, 1]
    client.close()
    client.container_list()
    assert engine.requests[-1].connection == 2


def test_a_connection_the_engine_closed_is_not_reused(engine: FakeEngine) -> None:
    closed = threading.Event()

    def close_after_reply(req: FakeRequest) -> None:
        """Answer, then close the connection, as an engine does once its keep-alive timeout is up."""
        req.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]")
        hang_up(req)
        closed.set()

    engine.route("GET", "/containers/json", close_after_reply)
    engine.route("POST", "/containers/c/start", lambda req: Reply(204))
    client = EngineClient(engine.url)
    assert client.container_list() == []
    assert closed.wait(5)
    client.container_start("c")
    assert [r.connection for r in engine.requests] == [1, 1, 2]


def test_a_get_is_resent_when_a_reused_connection_drops_it(engine: FakeEngine) -> None:
    calls: list[int] = []

    def flaky(req: FakeRequest) -> Reply | None:
        calls.append(req.connection)
        if len(calls) == 1:
            drop_without_reply(req)
            return None
        return Reply.json([])

    engine.route("GET", "/containers/json", flaky)
    client = EngineClient(engine.url)
    assert client.container_list() == []
    assert calls == [1, 2]


def test_a_post_is_not_resent(engine: FakeEngine) -> None:
    started: list[int] = []

    def start(req: FakeRequest) -> None:
        started.append(req.connection)
        drop_without_reply(req)

    engine.route("POST", "/containers/c/start", start)
    client = EngineClient(engine.url)
    client.ping()
    with pytest.raises(ProtocolError, match="connection closed before a response"):
        client.container_start("c")
    assert started == [1]


def test_a_hijacked_connection_is_not_given_back(engine: FakeEngine) -> None:
    done = threading.Event()

    def attach(req: FakeRequest) -> None:
        write_upgrade(req.sock, multiplexed=True)
        done.wait(5)
        req.sock.close()

    engine.route("POST", "/containers/c/attach", attach)
    engine.route("POST", "/containers/c/start", lambda req: Reply(204))
    client = EngineClient(engine.url)
    stream = client.container_attach("c")
    client.container_start("c")
    done.set()
    assert list(stream.frames()) == []
    stream.close()
    client.container_start("c")
    assert [r.connection for r in engine.requests] == [1, 1, 2, 2]
