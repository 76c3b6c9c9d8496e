"""The gzip bodies a push sends, two ways.

* :func:`spool`: compressed ahead into a temporary file while earlier layers go out, so a
  push of many layers keeps the compressor and the network busy at once;
* :class:`LiveLayer`: compressed while it is being sent, handed from a thread to the event
  loop a few chunks at most ahead, for the layer that goes out first (nothing to overlap it
  with otherwise: a big single layer would be compressed whole before its first byte left).

Both hash what is sent: a v1 push's payload checksum is sha256(image JSON + "\\n" + body), a
v2 push's blob digest sha256(body).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from wharf_engine.distribution.pgzip import ParallelGzipWriter

Export = Callable[[Any], object]  # writes a layer's tar to a file-like object
QUEUE_CHUNKS = 8  # 1 MiB blocks in flight between the compressor and the sender
SEND_SIZE = 1 << 20


@dataclass(frozen=True, slots=True)
class Payload:
    size: int
    checksum: str  # "sha256:…" over the image JSON, a newline and the gzip bytes (v2: the bytes alone)


class _Hashing:
    """``image_json``: the v1 JSON the payload checksum starts with; None for a v2 blob digest."""

    def __init__(self, image_json: bytes | None, out: Callable[[bytes | bytearray], object]) -> None:
        self.hash = hashlib.sha256(b"" if image_json is None else image_json + b"\n")
        self.size = 0
        self.out = out

    def write(self, data: bytes | bytearray) -> None:
        self.hash.update(data)
        self.size += len(data)
        self.out(data)

    def payload(self) -> Payload:
        return Payload(self.size, "sha256:" + self.hash.hexdigest())


def spool(export: Export, image_json: bytes | None, path: Path, threads: int) -> Payload:
    """Blocking: the layer's gzip into ``path``."""
    with path.open("wb") as out:
        hashing = _Hashing(image_json, out.write)
        with ParallelGzipWriter(hashing.write, threads=threads) as gz:
            export(gz)
    return hashing.payload()


class Cancelled(Exception):
    """The sender went away: the compressing thread stops."""


class LiveLayer:
    """Compress in a thread while :meth:`chunks` yields; :attr:`payload` once they are all out."""

    def __init__(
        self, export: Export, image_json: bytes | None, threads: int, *, compress: bool = True
    ) -> None:
        """``compress=False``: what ``export`` writes is the body already (a layer's gzip as pulled)."""
        self._compress = compress
        # chunks go straight onto the loop (call_soon_threadsafe: one wake-up each, no worker
        # thread in between); ``_slots`` bounds how many are out there
        self._slots = threading.Semaphore(QUEUE_CHUNKS)
        self._ready: asyncio.Queue[bytes | bytearray | BaseException | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._hashing = _Hashing(image_json, self._put)
        self._pending = bytearray()
        self._thread = threading.Thread(
            target=self._run, args=(export, threads), daemon=True, name="push-compress"
        )
        self.payload: Payload | None = None

    def _put(self, data: bytes | bytearray) -> None:
        if not self._pending and len(data) >= SEND_SIZE:
            self._send(data)  # a whole block from pgzip, made for this and never changed again
            return
        self._pending += data  # pgzip hands out ~1 MiB blocks and small header/trailer pieces
        if len(self._pending) >= SEND_SIZE:
            self._send(self._pending)
            self._pending = bytearray()

    def _send(self, item: bytes | bytearray | BaseException | None) -> None:
        while not self._slots.acquire(timeout=0.2):
            if self._stop.is_set():
                raise Cancelled()
        if self._stop.is_set() or self._loop is None or self._ready is None:
            raise Cancelled()
        try:
            self._loop.call_soon_threadsafe(self._ready.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is reading
            raise Cancelled() from None

    def _run(self, export: Export, threads: int) -> None:
        try:
            if self._compress:
                with ParallelGzipWriter(self._hashing.write, threads=threads) as gz:
                    export(gz)
            else:
                export(self._hashing)
            if self._pending:
                self._send(self._pending)
            self.payload = self._hashing.payload()
            self._send(None)
        except Cancelled:
            pass
        except BaseException as exc:  # handed to the sender, which raises it
            try:
                self._send(exc)
            except Cancelled:
                pass

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        self._loop, self._ready = asyncio.get_running_loop(), asyncio.Queue()
        self._thread.start()
        try:
            while True:
                item = await self._ready.get()
                self._slots.release()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield cast("bytes", item)  # a bytearray does all a sender asks of bytes
        finally:
            self.close()

    def close(self) -> None:
        """Stop the thread (the layer was not wanted after all, or the send failed); it notices
        within a queue timeout and ends on its own."""
        self._stop.set()


__all__ = ["LiveLayer", "Payload", "spool"]
