"""The gzip bodies a push sends, two ways.

* :func:`spool`: compressed ahead into a temporary file while earlier layers go out, so a
  push of many layers keeps the compressor and the network busy at once;
* :class:`LiveLayer`: compressed while it is being sent, through a small bounded queue from
  a thread, for the layer that goes out first (nothing to overlap it with otherwise: a big
  single layer would be compressed whole before its first byte left).

Both hash what is sent, as the payload checksum needs: sha256(image JSON + "\\n" + body).
"""

from __future__ import annotations

import asyncio
import hashlib
import queue
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wharf_engine.distribution.pgzip import ParallelGzipWriter

Export = Callable[[Any], object]  # writes a layer's tar to a file-like object
QUEUE_CHUNKS = 8  # 1 MiB blocks in flight between the compressor and the sender


@dataclass(frozen=True, slots=True)
class Payload:
    size: int
    checksum: str  # "sha256:…" over the image JSON, a newline and the gzip bytes


class _Hashing:
    def __init__(self, image_json: bytes, out: Callable[[bytes], object]) -> None:
        self.hash = hashlib.sha256(image_json + b"\n")
        self.size = 0
        self.out = out

    def write(self, data: bytes) -> None:
        self.hash.update(data)
        self.size += len(data)
        self.out(data)

    def payload(self) -> Payload:
        return Payload(self.size, "sha256:" + self.hash.hexdigest())


def spool(export: Export, image_json: bytes, path: Path, threads: int) -> Payload:
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

    def __init__(self, export: Export, image_json: bytes, threads: int) -> None:
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(QUEUE_CHUNKS)
        self._stop = threading.Event()
        self._hashing = _Hashing(image_json, self._put)
        self._pending = bytearray()
        self._thread = threading.Thread(
            target=self._run, args=(export, threads), daemon=True, name="push-compress"
        )
        self.payload: Payload | None = None

    def _put(self, data: bytes) -> None:
        self._pending += data  # pgzip hands out ~1 MiB blocks and small header/trailer pieces
        if len(self._pending) >= 1 << 20:
            self._send(bytes(self._pending))
            self._pending.clear()

    def _send(self, item: bytes | BaseException | None) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue
        raise Cancelled()

    def _run(self, export: Export, threads: int) -> None:
        try:
            with ParallelGzipWriter(self._hashing.write, threads=threads) as gz:
                export(gz)
            if self._pending:
                self._send(bytes(self._pending))
            self.payload = self._hashing.payload()
            self._send(None)
        except Cancelled:
            pass
        except BaseException as exc:  # handed to the sender, which raises it
            try:
                self._send(exc)
            except Cancelled:
                pass

    async def chunks(self) -> AsyncIterator[bytes]:
        self._thread.start()
        try:
            while True:
                item = await asyncio.to_thread(self._queue.get)
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop the thread (the layer was not wanted after all, or the send failed); it notices
        within a queue timeout and ends on its own."""
        self._stop.set()


__all__ = ["LiveLayer", "Payload", "spool"]
