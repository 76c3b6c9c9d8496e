"""Hijacked connections (attach, exec start): a ``101 UPGRADED`` response, then a raw bidirectional socket."""

from __future__ import annotations

import _socket

from ._errors import ServerError
from ._frames import SYSTEMERR, FrameDecoder, is_multiplexed
from ._http import READ_SIZE

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    import io
    from collections.abc import Iterator, Mapping

    from ._frames import Frame
    from ._http import Connection, Response

UPGRADE_HEADERS: Mapping[str, str] = {"Connection": "Upgrade", "Upgrade": "tcp"}


class HijackedStream:
    """The socket of an attached container: write stdin with :meth:`send`, read output with :meth:`frames`.

    Output is demultiplexed when the stream is multiplexed (container without TTY), raw otherwise.
    Reading and writing may happen from two threads.
    """

    def __init__(self, sock: Connection, reader: io.BufferedReader, *, multiplexed: bool) -> None:
        self._sock = sock
        self._reader = reader
        self.multiplexed = multiplexed
        self._write_closed = False

    @classmethod
    def from_response(cls, response: Response, *, tty: bool | None = None) -> HijackedStream:
        multiplexed = is_multiplexed(response.content_type, tty)
        return cls(response.socket, response.reader, multiplexed=multiplexed)

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(self, data: bytes) -> None:
        """Send raw stdin bytes to the container."""
        self._sock.sendall(data)

    def close_write(self) -> None:
        """Half-close: tell the engine that stdin has ended (``shutdown(SHUT_WR)``; TLS: ``close_notify``)."""
        if self._write_closed:
            return
        self._write_closed = True
        try:
            self._sock.shutdown(_socket.SHUT_WR)
        except OSError:
            pass

    def recv(self, size: int = READ_SIZE) -> bytes:
        """Raw bytes from the engine (``b""`` at end of stream); already-buffered bytes come first."""
        return self._reader.read1(size)

    def iter_raw(self) -> Iterator[bytes]:
        while data := self.recv():
            yield data

    def frames(self) -> Iterator[Frame]:
        """Yield ``(stream_type, payload)`` until the engine closes the stream."""
        if not self.multiplexed:
            for data in self.iter_raw():
                yield 1, data
            return
        decoder = FrameDecoder()
        for data in self.iter_raw():
            for stream, payload in decoder.feed(data):
                if stream == SYSTEMERR:
                    raise ServerError(500, payload.decode("utf-8", "replace"))
                yield stream, payload

    def close(self) -> None:
        try:
            self._reader.close()
        finally:
            self._sock.close()

    def __enter__(self) -> HijackedStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
