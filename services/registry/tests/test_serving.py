"""ZeroCopyHttpToolsProtocol in a real uvicorn on loopback: layers sent from a mapping, and the edges."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send
from wharf_registry.api.files import ZERO_COPY_SEND
from wharf_registry.app import create_app
from wharf_registry.serving import ZeroCopyHttpToolsProtocol
from wharf_registry.settings import Settings
from wharf_registry.testing import image_json, payload_checksum, random_image_id

pytestmark = pytest.mark.anyio

App = Callable[[Scope, Receive, Send], Awaitable[None]]


@asynccontextmanager
async def serving(app: App) -> AsyncIterator[str]:
    """``app`` behind uvicorn with the zero-copy protocol on a free 127.0.0.1 port; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    config = uvicorn.Config(app, http=ZeroCopyHttpToolsProtocol, lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def sparse_file(path: Path, size: int) -> Path:
    with path.open("wb") as f:
        f.truncate(size)
    return path


def send_file_app(path: Path, *, length: int | None, shrink_to: int | None = None, **send: Any) -> App:
    """Sends ``path`` with one zero-copy message (``send`` adds offset, count, tail)."""
    tail: bytes = send.pop("tail", b"")

    async def app(scope: Scope, receive: Receive, _send: Send) -> None:
        headers = [] if length is None else [(b"content-length", str(length).encode())]
        with path.open("rb") as f:
            if shrink_to is not None:
                os.truncate(path, shrink_to)
            await _send({"type": "http.response.start", "status": 200, "headers": headers})
            await _send({"type": ZERO_COPY_SEND, "file": f, **send, "more_body": bool(tail)})
            if tail:
                await _send({"type": "http.response.body", "body": tail})

    return app


# ---- the registry's layers -----------------------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path) -> FastAPI:
    return create_app(Settings(data_root=tmp_path / "data"))


async def push_layer(client: httpx.AsyncClient, layer: bytes) -> str:
    image_id = random_image_id()
    raw = image_json(image_id)
    assert (await client.put(f"/v1/images/{image_id}/json", content=raw)).status_code == 200
    assert (await client.put(f"/v1/images/{image_id}/layer", content=layer)).status_code == 200
    r = await client.put(
        f"/v1/images/{image_id}/checksum", headers={"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
    )
    assert r.status_code == 200, r.text
    return image_id


async def test_layer_get_by_sendfile_returns_the_bytes_on_one_connection(registry: FastAPI) -> None:
    layer = os.urandom(24 << 20)  # several sendfile rounds: more than a socket buffer holds
    async with serving(registry) as url, httpx.AsyncClient(base_url=url) as client:
        image_id = await push_layer(client, layer)
        for _ in range(2):  # the second one reuses the connection: the first ended cleanly
            r = await client.get(f"/v1/images/{image_id}/layer")
            assert r.status_code == 200
            assert r.headers["content-length"] == str(len(layer))
            assert hashlib.sha256(r.content).digest() == hashlib.sha256(layer).digest()
        r = await client.get(f"/v1/images/{image_id}/layer", headers={"Range": "bytes=1000-1999999"})
        assert r.status_code == 206
        assert r.headers["content-range"] == f"bytes 1000-1999999/{len(layer)}"
        assert r.content == layer[1000:2000000]
        r = await client.get(f"/v1/images/{image_id}/layer", headers={"Range": "bytes=-7"})
        assert r.content == layer[-7:]
    assert registry.state.metrics.bytes_out >= 2 * len(layer) + 1999000 + 7


async def test_layer_removed_mid_body_still_arrives_whole(registry: FastAPI, tmp_path: Path) -> None:
    layer = os.urandom(16 << 20)
    async with serving(registry) as url, httpx.AsyncClient(base_url=url) as client:
        image_id = await push_layer(client, layer)
        stored = tmp_path / "data" / "images" / image_id / "layer"
        got = bytearray()
        async with client.stream("GET", f"/v1/images/{image_id}/layer") as r:
            async for chunk in r.aiter_raw():
                if not got:
                    stored.unlink()
                got += chunk
        assert bytes(got) == layer
        assert (await client.get(f"/v1/images/{image_id}/layer")).status_code == 404


async def test_empty_layer_is_an_empty_body(registry: FastAPI) -> None:
    async with serving(registry) as url, httpx.AsyncClient(base_url=url) as client:
        image_id = await push_layer(client, b"")
        r = await client.get(f"/v1/images/{image_id}/layer")
        assert (r.status_code, r.content, r.headers["content-length"]) == (200, b"", "0")


# ---- the extension's edges ----------------------------------------------------------------


async def test_extension_offered_in_scope() -> None:
    seen: list[object] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope.get("extensions"))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async with serving(app) as url, httpx.AsyncClient() as client:
        assert (await client.get(url)).status_code == 204
    assert seen == [{ZERO_COPY_SEND: {}}]


async def test_offset_and_count_default_to_the_rest_of_the_file(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    (tmp_path / "f").write_bytes(data)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        with (tmp_path / "f").open("rb") as f:
            f.seek(1000)
            headers = [(b"content-length", str(len(data) - 1000).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": ZERO_COPY_SEND, "file": f})

    async with serving(app) as url, httpx.AsyncClient() as client:
        assert (await client.get(url)).content == data[1000:]


async def test_file_part_then_body_tail(tmp_path: Path) -> None:
    data = os.urandom(100_000)
    app = send_file_app(tmp_path / "f", length=50_000 + 3, offset=50_000, count=50_000, tail=b"end")
    (tmp_path / "f").write_bytes(data)
    async with serving(app) as url, httpx.AsyncClient() as client:
        assert (await client.get(url)).content == data[50_000:] + b"end"


async def test_chunked_response_copies_the_file(tmp_path: Path) -> None:
    data = os.urandom(3 << 20)
    (tmp_path / "f").write_bytes(data)
    app = send_file_app(tmp_path / "f", length=None, offset=10, count=len(data) - 10)
    async with serving(app) as url, httpx.AsyncClient() as client:
        r = await client.get(url)
    assert r.headers["transfer-encoding"] == "chunked"
    assert r.content == data[10:]


async def test_file_shorter_than_count_cuts_the_connection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "f").write_bytes(os.urandom(200_000))
    app = send_file_app(tmp_path / "f", length=200_000, shrink_to=50_000, offset=0, count=200_000)
    async with serving(app) as url, httpx.AsyncClient() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(url)
    assert "ended 150000 early" in caplog.text


async def test_client_gone_mid_file_is_a_quiet_disconnect(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    size = 512 << 20  # sparse: more than loopback's socket buffers hold, so the send is cut off
    app = send_file_app(sparse_file(tmp_path / "big", size), length=size, offset=0, count=size)
    caplog.set_level(logging.ERROR)
    async with serving(app) as url:
        host, port = url.removeprefix("http://").split(":")
        for _ in range(2):  # the second one: the server still answers
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await reader.read(65536)).startswith(b"HTTP/1.1 200 OK")
            writer.transport.abort()  # a reset, while the server is still sending
            await asyncio.sleep(0.2)
    assert "Exception in ASGI application" not in caplog.text


async def test_file_after_a_body_part_still_buffered_waits_for_it(tmp_path: Path) -> None:
    """Bytes the transport still holds (the client reads slowly) leave first: then sendfile sends."""
    head, data = os.urandom(8 << 20), os.urandom(6 << 20)  # more than loopback's socket buffers
    (tmp_path / "f").write_bytes(data)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        length = str(len(head) + len(data)).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", length)]})
        await send({"type": "http.response.body", "body": head, "more_body": True})
        with (tmp_path / "f").open("rb") as f:
            await send({"type": ZERO_COPY_SEND, "file": f, "more_body": False})

    async with serving(app) as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.sleep(0.3)  # not reading yet: the head stays in the server's transport
        await reader.readuntil(b"\r\n\r\n")
        body = await reader.readexactly(len(head) + len(data))
        writer.close()
    assert hashlib.sha256(body).digest() == hashlib.sha256(head + data).digest()


async def test_a_file_whose_offset_is_not_page_aligned(tmp_path: Path) -> None:
    data = os.urandom(3 << 20)
    (tmp_path / "f").write_bytes(data)
    app = send_file_app(tmp_path / "f", length=1_000_000, offset=4097, count=1_000_000)
    async with serving(app) as url, httpx.AsyncClient() as client:
        r = await client.get(url)
    assert r.content == data[4097:1_004_097]


# ---- memory reuse --------------------------------------------------------------------------

FAULTS = """
import resource, sys
from wharf_registry.serving import keep_freed_memory
if sys.argv[1] == "keep" and not keep_freed_memory():
    print(-1)
    sys.exit()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
pieces = [b"x" * (4 << 20) for _ in range(8)]  # what an upload holds at once: 32 MiB of pieces
del pieces
before = faults()
for _ in range(10):
    pieces = [b"x" * (4 << 20) for _ in range(8)]
    del pieces
print(faults() - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, check=True)
    return int(out.stdout)


def test_freed_pieces_are_reused_not_faulted_in_again() -> None:
    """glibc alone hands the 32 MiB back after each round and faults it in again (8192 pages a
    round); kept, the next round reuses it."""
    kept = _faults("keep")
    if kept < 0:
        pytest.skip("no glibc mallopt here")
    assert kept < 2000
    assert _faults("plain") > 20000  # the pattern does fault without the setting
