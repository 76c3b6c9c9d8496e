"""The layer PATCH sent straight to the socket (``distribution/stream.py``), against real servers on
127.0.0.1 that parse what arrives with h11."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable

import h11
import httpx
import pytest
from wharf_engine.distribution.client import TIMEOUT
from wharf_engine.distribution.stream import StreamFailed, send_streamed, sendable

Handler = Callable[[h11.Request, asyncio.StreamReader, asyncio.StreamWriter, h11.Connection], Awaitable[None]]


async def serve(handler: Handler) -> tuple[asyncio.Server, int]:
    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await reader.read(1 << 16))
                    continue
                assert isinstance(event, h11.Request)
                await handler(event, reader, writer, conn)
                return
        finally:
            writer.close()

    server = await asyncio.start_server(connected, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def body_of(reader: asyncio.StreamReader, conn: h11.Connection) -> bytes:
    got = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(1 << 16))
        elif isinstance(event, h11.Data):
            got += event.data
        else:
            assert isinstance(event, h11.EndOfMessage)
            return bytes(got)


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes | bytearray]:
    for n, start in enumerate(range(0, len(data), size)):
        piece = data[start : start + size]
        yield bytearray(piece) if n % 2 else piece  # LiveLayer hands out both
        if n == 1:
            yield b""  # (nothing to frame: skipped)


def test_the_body_arrives_whole_in_order_and_the_answer_is_read() -> None:
    data = os.urandom(20 << 20)
    seen: dict[str, object] = {}

    async def handler(
        request: h11.Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: h11.Connection
    ) -> None:
        body = await body_of(reader, conn)
        seen.update(
            method=request.method,
            target=request.target,
            headers=dict(request.headers),
            digest=hashlib.sha256(body).hexdigest(),
        )
        answer = b'{"ok": true}'
        headers = [("Location", "/v2/x/blobs/uploads/next"), ("Content-Length", str(len(answer)))]
        writer.write(conn.send(h11.Response(status_code=202, headers=headers)) or b"")
        writer.write(conn.send(h11.Data(data=answer)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()

    async def main() -> httpx.Response:
        server, port = await serve(handler)
        async with server:
            url = httpx.URL(f"http://127.0.0.1:{port}/v2/x/blobs/uploads/abc?_state=1")
            headers = {"Content-Type": "application/octet-stream", "Authorization": "Bearer t"}
            return await send_streamed("PATCH", url, headers, pieces(data, (1 << 20) + 85), timeout=TIMEOUT)

    response = asyncio.run(main())
    assert response.status_code == 202
    assert response.headers["location"] == "/v2/x/blobs/uploads/next"
    assert response.json() == {"ok": True}
    assert seen["digest"] == hashlib.sha256(data).hexdigest()
    assert seen["method"] == b"PATCH" and seen["target"] == b"/v2/x/blobs/uploads/abc?_state=1"
    headers = seen["headers"]
    assert isinstance(headers, dict)
    assert headers[b"authorization"] == b"Bearer t" and headers[b"transfer-encoding"] == b"chunked"


def test_an_answer_before_the_body_is_all_sent_is_heard() -> None:
    """A registry that refuses at once (413 here) and reads no further: the refusal comes back,
    not a transport error."""

    async def handler(
        _request: h11.Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: h11.Connection,
    ) -> None:
        answer = b'{"errors": [{"code": "SIZE_INVALID", "message": "too big"}]}'
        headers = [("Content-Length", str(len(answer))), ("Connection", "close")]
        writer.write(conn.send(h11.Response(status_code=413, headers=headers)) or b"")
        writer.write(conn.send(h11.Data(data=answer)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()
        writer.write_eof()
        while await reader.read(1 << 10):  # noqa: ASYNC110 - drained slowly (the client outruns it): no reset
            await asyncio.sleep(0.01)

    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        block = os.urandom(1 << 20)
        for _ in range(4096):  # 4 GiB: never all sent
            sent += 1
            yield block

    async def main() -> httpx.Response:
        server, port = await serve(handler)
        async with server:
            url = httpx.URL(f"http://127.0.0.1:{port}/v2/x/blobs/uploads/abc")
            return await send_streamed("PATCH", url, {}, endless(), timeout=TIMEOUT)

    response = asyncio.run(asyncio.wait_for(main(), 60))
    assert sent < 4096  # it stopped sending when the answer came
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "SIZE_INVALID"


def test_a_refused_connection_is_a_stream_failure() -> None:
    async def main() -> None:
        server, port = await serve(lambda *_: asyncio.sleep(0))
        server.close()
        await server.wait_closed()
        await send_streamed(
            "PATCH", httpx.URL(f"http://127.0.0.1:{port}/x"), {}, pieces(b"x", 1), timeout=TIMEOUT
        )

    with pytest.raises(StreamFailed, match="cannot connect"):
        asyncio.run(main())


def test_a_connection_closed_without_an_answer_is_a_stream_failure() -> None:
    async def handler(
        _request: h11.Request,
        reader: asyncio.StreamReader,
        _writer: asyncio.StreamWriter,
        conn: h11.Connection,
    ) -> None:
        await body_of(reader, conn)  # then closed, no answer

    async def main() -> None:
        server, port = await serve(handler)
        async with server:
            url = httpx.URL(f"http://127.0.0.1:{port}/x")
            await send_streamed("PATCH", url, {}, pieces(b"abc" * 1000, 700), timeout=TIMEOUT)

    with pytest.raises(StreamFailed, match="no answer"):
        asyncio.run(main())


def test_only_plain_http_without_a_proxy_is_sent_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert sendable(httpx.URL("http://127.0.0.1:5000/v2/a/blobs/uploads/x"))
    assert not sendable(httpx.URL("https://127.0.0.1:5000/v2/a/blobs/uploads/x"))
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    assert not sendable(httpx.URL("http://registry.example:5000/v2/"))
    monkeypatch.setenv("NO_PROXY", "registry.example")
    assert sendable(httpx.URL("http://registry.example:5000/v2/"))
