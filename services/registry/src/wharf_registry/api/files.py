"""A byte range of a local file as a response body, sent by the server without Python copies.

ASGI's zero-copy send extension: a server that lists ``http.response.zerocopysend`` in
``scope["extensions"]`` accepts, after ``http.response.start``, a message carrying an open file,
an offset and a count, and sends those bytes itself, so they never pass through Python.
:mod:`wharf_registry.serving` gives uvicorn that extension. Under a server without it (as
``httpx.ASGITransport`` in tests) the file is read in chunks in a worker thread.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..storage.base import CHUNK_SIZE
from .responses import json_response

ZERO_COPY_SEND = "http.response.zerocopysend"


class FileTruncated(RuntimeError):
    def __init__(self, path: Path, missing: int) -> None:
        super().__init__(f"{path} ended {missing} bytes early: it shrank while it was sent")


def _open(path: Path, start: int, count: int) -> BinaryIO:
    """``path`` open at ``start``, with the kernel asked to start reading the range.

    Asked here, in a worker thread: the kernel reads one read-ahead window of an uncached file
    now, so the server's first send on the event loop finds it cached or on its way; the
    kernel's sequential read-ahead keeps ahead of the sends after that.
    """
    f = path.open("rb")
    try:
        os.posix_fadvise(f.fileno(), start, count, os.POSIX_FADV_WILLNEED)
        f.seek(start)
    except BaseException:
        f.close()
        raise
    return f


class FileRangeResponse(Response):
    """Bytes ``[start, end)`` of ``path``; a 404 (``{"error": missing}``) when the file is gone.

    The file is opened when the response is sent, so one removed after that still goes out
    whole; one that shrinks mid-body raises :class:`FileTruncated` and the connection is cut.
    """

    def __init__(
        self,
        path: Path,
        start: int,
        end: int,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str = "application/octet-stream",
        missing: str = "Not found",
    ) -> None:
        self.path, self.start, self.count, self.missing = path, start, end - start, missing
        self.status_code = status_code
        self.media_type = media_type
        self.background = None
        given = {k: v for k, v in (headers or {}).items() if k.lower() != "content-length"}
        self.init_headers({**given, "Content-Length": str(self.count)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            f = await asyncio.to_thread(_open, self.path, self.start, self.count)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            await json_response({"error": self.missing}, status=404)(scope, receive, send)
            return
        try:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            if ZERO_COPY_SEND in scope.get("extensions", {}):
                await send({"type": ZERO_COPY_SEND, "file": f, "offset": self.start, "count": self.count})
            else:
                await self._copy(f, send)
        finally:
            f.close()

    async def _copy(self, f: BinaryIO, send: Send) -> None:
        remaining = self.count
        while remaining:
            chunk = await asyncio.to_thread(f.read, min(CHUNK_SIZE, remaining))
            if not chunk:
                raise FileTruncated(self.path, remaining)
            remaining -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": bool(remaining)})
        if not self.count:
            await send({"type": "http.response.body", "body": b""})


__all__ = ["ZERO_COPY_SEND", "FileRangeResponse", "FileTruncated"]
