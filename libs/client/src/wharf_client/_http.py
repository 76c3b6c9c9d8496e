"""A minimal HTTP/1.1 client over unix or TCP sockets, written for streaming and hijacking.

``http.client`` pulls in ``email`` on import, cannot stream a chunked request body from an iterator
without buffering quirks, and cannot hand over its socket after a ``101``: this module writes requests
by hand and parses responses incrementally. A connection read to the end of its response goes back to
the client's :class:`~._pool.ConnectionPool` for the next request (HTTP/1.1 keep-alive).
"""

from __future__ import annotations

import _socket
import io

from ._errors import EngineConnectionError, ProtocolError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from typing import Any, Literal, Protocol

    from ._hosts import EngineHost
    from ._pool import ConnectionPool

    class Connection(Protocol):
        """What is used of a connection: a ``socket.socket``, a :class:`UnixSocket`, or a
        ``TLSConnection``."""

        def sendall(self, data: bytes, /) -> None: ...
        def shutdown(self, how: int, /) -> None: ...
        def fileno(self) -> int: ...
        def close(self) -> None: ...
        def makefile(self, mode: Literal["rb"], /) -> io.BufferedReader: ...


MAX_LINE = 65536
READ_SIZE = 65536
if TYPE_CHECKING:
    Body = bytes | Iterable[bytes] | None
IDEMPOTENT = frozenset({"GET", "HEAD"})  # resent once when a kept-alive connection turns out closed


class UnixSocket(_socket.socket):
    """A unix stream socket made from the C module ``_socket``, with ``socket.socket``'s ``makefile``.

    Importing ``socket`` costs more than a command's whole request (it converts its constants to
    enums, importing ``enum`` and ``selectors``); TCP and TLS still use it. As with ``socket.socket``,
    closing the socket while its reader is open closes the file descriptor only when the reader closes.
    """

    __slots__ = ("__weakref__", "_closed", "_io_refs")

    def __init__(self) -> None:
        super().__init__(_socket.AF_UNIX, _socket.SOCK_STREAM)
        self._io_refs = 0
        self._closed = False

    def makefile(self, mode: Literal["rb"] = "rb", /) -> io.BufferedReader:
        if mode != "rb":
            raise ValueError(f"invalid mode {mode!r} (only 'rb' is supported)")
        self._io_refs += 1
        return io.BufferedReader(_SocketReader(self))

    def _reader_closed(self) -> None:
        self._io_refs -= 1
        if self._closed:
            self.close()

    def close(self) -> None:
        self._closed = True
        if self._io_refs <= 0:
            super().close()


class _SocketReader(io.RawIOBase):
    """``socket.SocketIO`` for reading: what ``BufferedReader`` needs of a raw stream."""

    def __init__(self, sock: UnixSocket) -> None:
        super().__init__()
        self._sock: UnixSocket | None = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._sock is None:
            raise ValueError("I/O operation on closed socket reader")
        return self._sock.recv_into(buffer)

    def fileno(self) -> int:
        if self._sock is None:
            raise ValueError("I/O operation on closed socket reader")
        return self._sock.fileno()

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        sock, self._sock = self._sock, None
        if sock is not None:
            sock._reader_closed()


def open_socket(host: EngineHost, timeout: float | None = None) -> Connection:
    """Connect to the engine, translating OS errors into :class:`EngineConnectionError`."""
    try:
        if host.scheme == "unix":
            unix = UnixSocket()
            try:
                unix.settimeout(timeout)
                unix.connect(host.address)
            except BaseException:
                unix.close()
                raise
            return unix
        import socket  # TCP only

        sock = socket.create_connection((host.address, host.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if host.tls is None:
            return sock
        from ._tlsconn import TLSConnection  # imports ssl: only TLS connections pay for it

        try:
            return TLSConnection(sock, host.tls.context(), host.address)
        except OSError as exc:  # ssl.SSLError too: a certificate that does not verify, a missing file
            sock.close()
            error = EngineConnectionError(host.url, str(exc))
            error.args = (f"TLS to the wharf engine at {host.url} failed: {exc}",)
            raise error from exc
        except BaseException:
            sock.close()
            raise
    except PermissionError as exc:
        raise EngineConnectionError.permission_denied(host.url, str(exc)) from exc
    except OSError as exc:
        raise EngineConnectionError(host.url, str(exc)) from exc


def encode_request_head(method: str, target: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send_request(
    sock: Connection, method: str, target: str, headers: Mapping[str, str], body: Body = None
) -> None:
    """Write one request; an iterable body is sent with ``Transfer-Encoding: chunked`` as it is produced.

    If the server closes early (it answered an error before reading the whole body), the write error is
    swallowed so that the caller can read the server's response.
    """
    all_headers = dict(headers)
    if body is None:
        if method in ("POST", "PUT"):
            all_headers["Content-Length"] = "0"
    elif isinstance(body, bytes):
        all_headers["Content-Length"] = str(len(body))
    else:
        all_headers["Transfer-Encoding"] = "chunked"
    head = encode_request_head(method, target, all_headers)
    try:
        if body is None:
            sock.sendall(head)
        elif isinstance(body, bytes):
            sock.sendall(head + body)
        else:
            sock.sendall(head)
            for chunk in body:
                if chunk:
                    sock.sendall(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass


class Response:
    """A response whose body is read incrementally from the socket; owns (and closes) the socket.

    With a ``pool``, closing a response whose body was read to the end puts the connection back in
    the pool instead (unless the engine asked to close it, or the connection was taken for a hijack).
    """

    def __init__(
        self,
        sock: Connection,
        reader: io.BufferedReader,
        method: str,
        *,
        pool: ConnectionPool | None = None,
        pool_key: object = None,
    ) -> None:
        self._sock = sock
        self._reader = reader
        version, self.status, self.reason = _read_status_line(reader)
        self.headers = _read_headers(reader)
        self._no_body = method == "HEAD" or self.status in (101, 204, 304) or 100 <= self.status < 200
        self._consumed = False
        self._complete = False  # the whole body has been read: the connection is at a message boundary
        self._closed = False
        keep_alive = version == "HTTP/1.1" and "close" not in self.headers.get("connection", "").lower()
        self._pool = pool if keep_alive and self.status != 101 else None
        self._pool_key = pool_key

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def socket(self) -> Connection:
        """The connection itself (for hijacked streams): it is no longer put back in the pool."""
        self._pool = None
        return self._sock

    @property
    def reader(self) -> io.BufferedReader:
        """The buffered reader positioned just after the headers (for hijacked connections)."""
        self._pool = None
        return self._reader

    def iter_bytes(self) -> Iterator[bytes]:
        """Yield body pieces as soon as they arrive (de-chunked)."""
        if self._consumed:
            return
        self._consumed = True
        if self._no_body:
            self._complete = True
            return
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            yield from self._iter_chunked()
            self._complete = True
        elif "content-length" in self.headers:
            try:
                remaining = int(self.headers["content-length"])
            except ValueError:
                raise ProtocolError("invalid Content-Length") from None
            while remaining > 0:
                data = self._reader.read1(min(remaining, READ_SIZE))
                if not data:
                    raise ProtocolError("connection closed before the end of the response body")
                remaining -= len(data)
                yield data
            self._complete = True
        else:  # the body ends when the engine closes the connection: nothing to keep
            while data := self._reader.read1(READ_SIZE):
                yield data

    def _iter_chunked(self) -> Iterator[bytes]:
        while True:
            line = self._reader.readline(MAX_LINE)
            if not line:
                raise ProtocolError("connection closed inside a chunked response body")
            try:
                remaining = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"invalid chunk size line {line!r}") from None
            if remaining == 0:
                while self._reader.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            while remaining > 0:
                data = self._reader.read1(min(remaining, READ_SIZE))
                if not data:
                    raise ProtocolError("connection closed inside a chunk")
                remaining -= len(data)
                yield data
            self._reader.readline(MAX_LINE)

    def iter_lines(self) -> Iterator[bytes]:
        """Yield complete lines (without the line terminator) as they arrive."""
        pending = b""
        for data in self.iter_bytes():
            pending += data
            *lines, pending = pending.split(b"\n")
            yield from lines
        if pending:
            yield pending

    def read(self) -> bytes:
        return b"".join(self.iter_bytes())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._pool is not None and (self._complete or self._no_body):
            self._pool.put(self._pool_key, self._sock, self._reader)
            return
        try:
            self._reader.close()
        finally:
            self._sock.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class NoResponse(ProtocolError):
    """The connection closed before a byte of the response arrived."""


def _read_status_line(reader: io.BufferedReader) -> tuple[str, int, str]:
    while True:
        try:
            line = reader.readline(MAX_LINE)
        except ConnectionResetError:
            line = b""
        if not line:
            raise NoResponse("connection closed before a response was received")
        if line.strip():
            break
    parts = line.decode("latin-1").strip().split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProtocolError(f"malformed HTTP status line {line!r}")
    return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else ""


def _read_headers(reader: io.BufferedReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    while True:
        line = reader.readline(MAX_LINE)
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise ProtocolError("connection closed inside the response headers")
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ProtocolError(f"malformed header line {line!r}")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value


def perform(
    host: EngineHost,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: Body = None,
    timeout: float | None = None,
    pool: ConnectionPool | None = None,
) -> Response:
    """Send one request (on an idle connection of ``pool`` if there is one) and return the response
    once its headers have arrived.

    A kept-alive connection the engine closed just as it was reused gives no response at all: a
    ``GET`` or ``HEAD`` is then sent again on a new connection, as Go's transport does.
    """
    idle = pool.take(host) if pool is not None else None
    while True:
        if idle is not None:
            sock, reader = idle
        else:
            sock = open_socket(host, timeout)
            reader = sock.makefile("rb")
        try:
            send_request(sock, method, target, headers, body)
            return Response(sock, reader, method, pool=pool, pool_key=host)
        except NoResponse:
            _close_quietly(sock, reader)
            if idle is None or method not in IDEMPOTENT:
                raise
            idle = None
        except BaseException:
            _close_quietly(sock, reader)
            raise


def _close_quietly(sock: Connection, reader: io.BufferedReader) -> None:
    try:
        reader.close()
    except OSError:
        pass
    sock.close()


def iter_json_values(chunks: Iterable[bytes]) -> Iterator[Any]:
    """Decode a stream of JSON values (newline-delimited or simply concatenated)."""
    import codecs
    import json

    decoder = json.JSONDecoder()
    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    for chunk in chunks:
        pending += text.decode(chunk)
        while True:
            pending = pending.lstrip()
            if not pending:
                break
            try:
                value, end = decoder.raw_decode(pending)
            except json.JSONDecodeError:
                break
            yield value
            pending = pending[end:]
    pending += text.decode(b"", final=True)
    if pending.strip():
        raise ProtocolError(f"truncated JSON stream: {pending[:80]!r}")
