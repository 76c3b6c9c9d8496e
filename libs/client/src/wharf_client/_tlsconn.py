"""A TLS connection to the engine that two threads can use and that can half-close.

It is an ``ssl.SSLObject`` over a plain socket, not an ``SSLSocket``: a hijacked stream is read by
one thread while another writes stdin and then half-closes, and an ``SSLSocket`` can neither be
used from two threads at once nor send its ``close_notify`` (the TLS half-close, as Go's
``tls.Conn.CloseWrite``) and go on reading. A lock orders every use of the TLS state; the reading
thread waits for bytes outside it.
"""

from __future__ import annotations

import io
import socket
import ssl
import threading
from typing import Literal

from ._errors import ProtocolError

READ_SIZE = 65536


class TLSConnection:
    """The few socket methods the client uses (``sendall``, ``makefile``, ``shutdown``...), over TLS."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, server_hostname: str) -> None:
        self._sock = sock
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
        self._lock = threading.Lock()
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()  # at EOF the next do_handshake raises SSLEOFError
        self._flush()

    def _flush(self) -> None:
        if data := self._outgoing.read():
            self._sock.sendall(data)

    def _fill(self) -> bool:
        data = self._sock.recv(READ_SIZE)
        with self._lock:
            if data:
                self._incoming.write(data)
            else:
                self._incoming.write_eof()
        return bool(data)

    def sendall(self, data: bytes) -> None:
        with self._lock:
            view = memoryview(data)
            while view:
                view = view[self._tls.write(view) :]
                self._flush()

    def recv(self, size: int = READ_SIZE) -> bytes:
        """Decrypted bytes, ``b""`` at the end of the engine's stream."""
        while True:
            with self._lock:
                try:
                    return self._tls.read(size)
                except ssl.SSLWantReadError:
                    self._flush()  # TLS 1.3 may answer post-handshake messages
                except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
                    return b""
                except ssl.SSLError as exc:  # an alert: the engine refused our certificate
                    raise ProtocolError(
                        f"the engine refused the TLS connection: {exc.reason or exc}"
                    ) from exc
            if not self._fill():
                continue  # the next read reports the end (or the truncation) of the stream

    def makefile(self, mode: Literal["rb"] = "rb") -> io.BufferedReader:
        return io.BufferedReader(_Raw(self), READ_SIZE)

    def shutdown(self, how: int) -> None:
        """``SHUT_WR``: send ``close_notify`` and keep reading, as Go's ``tls.Conn.CloseWrite``."""
        with self._lock:
            try:
                self._tls.unwrap()
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                pass
            self._flush()
        if how != socket.SHUT_WR:
            self._sock.shutdown(how)

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()


class _Raw(io.RawIOBase):
    def __init__(self, conn: TLSConnection) -> None:
        self._conn = conn

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._conn.recv(len(buffer))
        buffer[: len(data)] = data
        return len(data)
