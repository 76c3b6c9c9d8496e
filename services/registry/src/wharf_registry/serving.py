"""uvicorn's httptools protocol plus ASGI's zero-copy send extension: layers leave without Python copies.

The extension (asgiref's "Zero Copy Send"): ``scope["extensions"]`` lists
``http.response.zerocopysend``, and after ``http.response.start`` the app may send
``{"type": "http.response.zerocopysend", "file": <open file>, "offset": int, "count": int,
"more_body": bool}`` where it would send ``http.response.body``. Here the file is mapped
(``mmap``) and its pages are handed to ``send`` on the connection's socket each time it can take
more; the kernel copies them once, straight from the page cache. On loopback this beat
``os.sendfile`` (whose page references the receiver copies slower) and Go's ``docker-registry``
(figures in docs/performance.md). If the transport still holds unsent bytes (a pipelined response the client
is slow to read), ``loop.sendfile`` sends instead, after waiting for them to leave. The bytes
are then counted against uvicorn's
response cycle as if they had been a body, so Content-Length checks, keep-alive and pipelining
work as before. A client that goes away mid-file is a disconnect, as for any body; a file that
ends before ``count`` cuts the connection and raises, as a short body does in uvicorn.

The sends run on the event loop, as sendfile runs in nginx's worker with ``sendfile on`` and no
``aio threads``: a layer that is not in the page cache makes the loop wait for the disk's
read-ahead (:mod:`wharf_registry.api.files` starts it in a worker thread when it opens the file).
In exchange a GET copies once, where Go's ``docker-registry`` reads and writes through 32 KiB
buffers. Layer files are never truncated in place (they are renamed into place and unlinked),
so a mapping cannot fault past their end.

Bodies come in through reads of up to ``RECEIVE_PIECE`` (asyncio reads 256 KiB at a time): an
upload takes a quarter of the trips through the loop, the parser and the ASGI receive.

The extension is offered only on asyncio's own loops (uvloop has no ``sendfile``); a response
with chunked framing is copied through ``http.response.body`` messages instead. This reaches into
uvicorn's ``RequestResponseCycle`` state and ``_start_asgi_task``: ``tests/test_serving.py`` runs
a real server, so an upgrade that changes them fails there.
"""

from __future__ import annotations

import asyncio
import ctypes
import mmap
import os
import socket
from collections.abc import Mapping
from typing import IO, Any, cast

from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, ASGISendEvent, Scope
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from .api.files import ZERO_COPY_SEND
from .storage.base import CHUNK_SIZE

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (glibc's malloc.h)
KEEP_FREED = 64 << 20  # bytes of freed heap glibc keeps for reuse instead of giving back


def keep_freed_memory() -> bool:
    """Let glibc reuse the memory of received pieces rather than hand it back and fault it in
    anew: blocks up to 32 MiB come from the heap (not a fresh ``mmap`` each), and up to
    ``KEEP_FREED`` bytes freed at its top stay. Each upload otherwise page-faults on most of
    its bytes (a fault costs microseconds in a VM). False where there is no glibc."""
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_FREED))


SEND_PIECE = 4 << 20  # per send(): the socket takes what fits in its buffer
RECEIVE_PIECE = 1 << 20  # per recv() (asyncio's default is 256 KiB): fewer trips through the loop for a body


class ZeroCopyHttpToolsProtocol(HttpToolsProtocol):
    """Pass as ``uvicorn.Config(http=...)``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if isinstance(getattr(transport, "max_size", None), int):  # asyncio's selector transports
            cast(Any, transport).max_size = RECEIVE_PIECE

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
            if cycle.transport.get_write_buffer_size() == 0:
                sent = await _send_mapped(cycle.transport, file, offset, count)
            else:
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


async def _send_mapped(transport: asyncio.Transport, file: IO[bytes], offset: int, count: int) -> int:
    """Send ``count`` bytes of ``file`` from ``offset`` on the transport's socket; how many it had.

    The transport's own buffer is empty, so nothing it holds can be overtaken. A duplicate of
    the socket's descriptor is what the loop watches, as the transport's own is taken.
    """
    loop = asyncio.get_running_loop()
    size = os.fstat(file.fileno()).st_size
    end = min(offset + count, size)
    if end <= offset:
        return 0
    sock = socket.socket(fileno=os.dup(transport.get_extra_info("socket").fileno()))
    try:
        sock.setblocking(False)
        with mmap.mmap(file.fileno(), end, prot=mmap.PROT_READ) as mapped:
            mapped.madvise(mmap.MADV_SEQUENTIAL)
            position = offset
            while position < end:
                with memoryview(mapped)[position : min(end, position + SEND_PIECE)] as piece:
                    try:
                        position += sock.send(piece)
                    except BlockingIOError:
                        await _writable(loop, sock.fileno())
        return position - offset
    finally:
        sock.close()


async def _writable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_writer(fd, wake)
    try:
        await ready
    finally:
        loop.remove_writer(fd)


async def _copy(file: IO[bytes], offset: int, count: int, send: ASGISendCallable) -> None:
    file.seek(offset)
    while count > 0:
        chunk = await asyncio.to_thread(file.read, min(CHUNK_SIZE, count))
        if not chunk:
            raise RuntimeError(f"Response content shorter than its count: the file ended {count} early")
        count -= len(chunk)
        await send({"type": "http.response.body", "body": chunk, "more_body": True})


__all__ = ["ZeroCopyHttpToolsProtocol"]
