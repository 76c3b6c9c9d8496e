"""TLS to the engine (``--tlsverify``, ``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``), docker CLI rules.

The connection is an ``ssl.SSLObject`` over a plain socket, not an ``SSLSocket``: a hijacked stream
is read by one thread while another writes stdin and then half-closes, and an ``SSLSocket`` can
neither be used from two threads at once nor send its ``close_notify`` (the TLS half-close, as Go's
``tls.Conn.CloseWrite``) and go on reading. A lock orders every use of the TLS state; the reading
thread waits for bytes outside it.
"""

from __future__ import annotations

import io
import os
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

READ_SIZE = 65536
CA_FILE, CERT_FILE, KEY_FILE = "ca.pem", "cert.pem", "key.pem"


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """Like the docker CLI's: ``verify`` checks the engine's certificate against ``ca_cert``."""

    verify: bool = True
    ca_cert: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=self.ca_cert if self.verify else None
        )
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.client_cert is not None:
            context.load_cert_chain(self.client_cert, self.client_key)
        return context


def default_cert_path(environ: Mapping[str, str], home: Path | None = None) -> Path:
    """``DOCKER_CERT_PATH``, else ``~/.wharf`` if it holds certificates, else ``~/.docker``."""
    if environ.get("DOCKER_CERT_PATH"):
        return Path(environ["DOCKER_CERT_PATH"])
    home = home if home is not None else Path.home()
    wharf = home / ".wharf"
    return wharf if (wharf / CA_FILE).exists() or (wharf / CERT_FILE).exists() else home / ".docker"


def tls_config(
    *,
    tls: bool = False,
    verify: bool | None = None,
    ca_cert: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> TLSConfig | None:
    """The docker CLI's rules: ``--tlsverify`` or ``DOCKER_TLS_VERIFY`` means TLS with verification,
    ``--tls`` TLS without; files default to the cert path, a missing default client pair is skipped."""
    env = os.environ if environ is None else environ
    if verify is None:
        verify = bool(env.get("DOCKER_TLS_VERIFY"))
    if not (tls or verify or env.get("DOCKER_TLS")):
        return None
    base = default_cert_path(env)
    client_cert: Path | None = Path(cert) if cert else base / CERT_FILE
    client_key: Path | None = Path(key) if key else base / KEY_FILE
    if not cert and not (base / CERT_FILE).exists():
        client_cert = client_key = None
    return TLSConfig(
        verify=verify,
        ca_cert=Path(ca_cert) if ca_cert else base / CA_FILE,
        client_cert=client_cert,
        client_key=client_key,
    )


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
