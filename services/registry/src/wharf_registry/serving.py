"""uvicorn's httptools protocol plus ASGI's zero-copy send extension: layers leave by ``os.sendfile``.

The extension (asgiref's "Zero Copy Send"): ``scope["extensions"]`` lists
``http.response.zerocopysend``, and after ``http.response.start`` the app may send
``{"type": "http.response.zerocopysend", "file": <open file>, "offset": int, "count": int,
"more_body": bool}`` where it would send ``http.response.body``. Here the bytes go out with
``loop.sendfile``: asyncio waits until the headers have left the transport's buffer, then calls
``os.sendfile`` each time the socket can take more. They are then counted against uvicorn's
response cycle as if they had been a body, so Content-Length checks, keep-alive and pipelining
work as before. A client that goes away mid-file is a disconnect, as for any body; a file that
ends before ``count`` cuts the connection and raises, as a short body does in uvicorn.

``os.sendfile`` runs on the event loop, as it runs in nginx's worker with ``sendfile on`` and no
``aio threads``: a layer that is not in the page cache makes the loop wait for the disk's
read-ahead (:mod:`wharf_registry.api.files` starts it in a worker thread when it opens the file).
In exchange a GET on loopback costs the server less than half the CPU that Go's
``docker-registry`` spends copying through 32 KiB buffers.

The extension is offered only on asyncio's own loops (uvloop has no ``sendfile``); a response
with chunked framing is copied through ``http.response.body`` messages instead. This reaches into
uvicorn's ``RequestResponseCycle`` state and ``_start_asgi_task``: ``tests/test_serving.py`` runs
a real server, so an upgrade that changes them fails there.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import IO, Any, cast

from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, ASGISendEvent, Scope
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from .api.files import ZERO_COPY_SEND
from .storage.base import CHUNK_SIZE


class ZeroCopyHttpToolsProtocol(HttpToolsProtocol):
    """Pass as ``uvicorn.Config(http=...)``."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if isinstance(self.loop, asyncio.BaseEventLoop):
            self.scope["extensions"] = {ZERO_COPY_SEND: {}}

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        async def with_zero_copy(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
            async def sender(message: ASGISendEvent) -> None:
                if message["type"] == ZERO_COPY_SEND:
                    await _send_file(cycle, send, cast("Mapping[str, Any]", message))
                else:
                    await send(message)

            await app(scope, receive, sender)

        super()._start_asgi_task(cycle, with_zero_copy)


async def _send_file(cycle: RequestResponseCycle, send: ASGISendCallable, message: Mapping[str, Any]) -> None:
    if cycle.transport.is_closing():  # closed, connection_lost not yet run: a disconnect all the same
        cycle.disconnected = True
    if cycle.disconnected:
        return
    if not cycle.response_started or cycle.response_complete:
        raise RuntimeError(f"Unexpected ASGI message '{ZERO_COPY_SEND}' outside a response body.")
    file: IO[bytes] = message["file"]
    offset: int | None = message.get("offset")
    offset = file.tell() if offset is None else offset
    count: int | None = message.get("count")
    count = os.fstat(file.fileno()).st_size - offset if count is None else count
    more_body = bool(message.get("more_body", False))
    if cycle.scope["method"] == "HEAD" or count <= 0:
        pass
    elif cycle.chunked_encoding:
        await _copy(file, offset, count, send)
    else:
        if count > cycle.expected_content_length:
            raise RuntimeError("Response content longer than Content-Length")
        try:
            sent = await asyncio.get_running_loop().sendfile(cycle.transport, file, offset, count)
        except ConnectionError:
            cycle.disconnected = True  # as uvicorn does once connection_lost runs: later sends are dropped
            cycle.transport.close()
            return
        cycle.expected_content_length -= sent
        if sent < count:
            cycle.transport.close()
            raise RuntimeError(
                f"Response content shorter than Content-Length: file ended {count - sent} early"
            )
    if not more_body:
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _copy(file: IO[bytes], offset: int, count: int, send: ASGISendCallable) -> None:
    file.seek(offset)
    while count > 0:
        chunk = await asyncio.to_thread(file.read, min(CHUNK_SIZE, count))
        if not chunk:
            raise RuntimeError(f"Response content shorter than its count: the file ended {count} early")
        count -= len(chunk)
        await send({"type": "http.response.body", "body": chunk, "more_body": True})


__all__ = ["ZeroCopyHttpToolsProtocol"]
