"""TLS on a server's TCP connections, for :func:`wharf_common.serving.serve`.

A small protocol between the TCP transport and the HTTP protocol: it feeds what arrives into an
``ssl.SSLObject`` and hands the plaintext up, and encrypts what the protocol above writes straight
into the TCP transport, whose buffer and flow control (``pause_writing``) then serve both layers.
It replaces asyncio's ``SSLProtocol``, which does the same through a general state machine and
buffers of its own, for two reasons:

- half-close: a hijacked stream (``docker run -i``) needs what plain TCP gives. The client ends its
  stdin (Go's ``tls.Conn.CloseWrite`` sends ``close_notify``; older clients half-close TCP) and goes
  on reading the container's output. Here the peer's end of stream goes to ``eof_received`` above,
  and when that returns true the connection stays open for writing until the protocol closes it.
  asyncio's shuts the connection down whatever ``eof_received`` answers;
- cost: every connection is a full handshake (the docker CLI keeps no session cache and opens
  several connections per command), and asyncio's general machinery runs more Python per
  connection than serving the HTTP request does (docs/performance.md, "TLS").

What the app writes is encrypted at once and sent at the end of the loop's turn, so that a
response's head and body (uvicorn writes them apart) and the ``close_notify`` after them leave in one
segment and the client wakes once per answer; past ``COALESCE_LIMIT`` pending it goes at once.

A failed handshake sends OpenSSL's alert (certificate required, unknown CA) before closing, so the
client can say why. Closing sends ``close_notify``, then a TCP FIN, and waits (bounded) for the
peer's FIN before closing the socket, so that bytes the peer still sends cannot turn the close into
a reset that loses the end of the answer.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from typing import Any

TCP_FAMILIES = (socket.AF_INET, socket.AF_INET6)
HANDSHAKE_TIMEOUT = 60.0  # asyncio's default: a client that never finishes is dropped
LINGER_TIMEOUT = 30.0  # after our close_notify and FIN, how long the peer may take to close its side
READ_SIZE = 256 * 1024
# what the app writes in one turn of the loop goes out in one send (a response's head and body, and
# the close_notify after them) unless this much is waiting: then at once, so that the TCP
# transport's flow control still pauses a writer that does not yield
COALESCE_LIMIT = 64 * 1024


class TLSServerProtocol(asyncio.Protocol):
    """The TCP transport's protocol: TLS records in and out, plaintext to and from ``app``."""

    def __init__(self, app: asyncio.Protocol, context: ssl.SSLContext) -> None:
        self.app = app
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._tcp: asyncio.Transport | None = None
        self._app_transport: TLSTransport | None = None  # set once the handshake is done
        self._timer: asyncio.TimerHandle | None = None
        self._peer_done = False  # close_notify or FIN from the peer, given to the app
        self._peer_fin = False  # TCP FIN from the peer
        self._closing = False  # our close_notify is out
        self._flush_due = False  # a flush is scheduled at the end of this turn of the loop
        self.app_paused = False

    # --- from the TCP transport ---
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._tcp = transport
        self._timer = asyncio.get_running_loop().call_later(HANDSHAKE_TIMEOUT, transport.abort)

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        if self._app_transport is None:
            self._handshake()
        elif not self._closing:
            self.read_app()
        else:
            self._discard()

    def eof_received(self) -> bool:
        self._peer_fin = True
        if self._app_transport is None or self._closing:
            return False  # the transport closes
        self.read_app()  # the BIO is not told: OpenSSL takes a FIN without close_notify as a fatal
        if not self._peer_done:  # error, after which we could not answer. It ends the stream all the same
            self._end_of_stream()
        return not self._closing and not (self._tcp is None or self._tcp.is_closing())

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        if self._app_transport is not None:
            self._app_transport = None
            self.app.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._app_transport is not None:
            self.app.pause_writing()

    def resume_writing(self) -> None:
        if self._app_transport is not None:
            self.app.resume_writing()

    # --- TLS ---
    def _handshake(self) -> None:
        assert self._tcp is not None
        try:
            self._ssl.do_handshake()
        except ssl.SSLWantReadError:
            self.flush()
            return
        except (ssl.SSLError, ssl.CertificateError, ValueError):
            self.flush()  # the alert that says why
            self._tcp.close()
            return
        self._cancel_timer()
        self.flush()
        self._app_transport = TLSTransport(self, self._tcp, self._ssl)
        self.app.connection_made(self._app_transport)
        self.read_app()

    def read_app(self) -> None:
        """Hand every decrypted byte to the app, unless it paused reading; notice the peer's end."""
        while self._app_transport is not None and not (self.app_paused or self._peer_done or self._closing):
            try:
                data = self._ssl.read(READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLError:  # a bad record, or a TCP FIN in the middle of one
                self.flush()
                self._end_of_stream()
                break
            if not data:  # the peer's close_notify
                self._end_of_stream()
                break
            self.app.data_received(data)
        self.flush()

    def _end_of_stream(self) -> None:
        self._peer_done = True
        if self._app_transport is None:
            return
        keep_open = self.app.eof_received()
        if not keep_open and self._app_transport is not None:
            self._app_transport.close()

    def _discard(self) -> None:
        """After our close_notify: read (and drop) until the peer's."""
        try:
            self._ssl.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLError):
            return

    def flush(self) -> None:
        if self._outgoing.pending and self._tcp is not None and not self._tcp.is_closing():
            self._tcp.write(self._outgoing.read())

    def pending_output(self) -> int:
        return self._outgoing.pending

    def flush_soon(self) -> None:
        """Flush once the callbacks of this turn of the loop have run (or now, past the limit)."""
        if self._outgoing.pending >= COALESCE_LIMIT:
            self.flush()
        elif not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._due_flush)

    def _due_flush(self) -> None:
        self._flush_due = False
        self.flush()

    def close(self) -> None:
        """Our close_notify, then FIN; the socket closes when the peer has closed its side too."""
        if self._closing or self._tcp is None:
            return
        self._closing = True
        try:
            self._ssl.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLError):
            pass  # it was written; the peer's may come later, or never
        self.flush()
        if self._peer_fin or not self._tcp.can_write_eof():
            self._tcp.close()
            return
        self._tcp.write_eof()
        self._cancel_timer()
        self._timer = asyncio.get_running_loop().call_later(LINGER_TIMEOUT, self._tcp.abort)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class TLSTransport(asyncio.Transport):
    """What the HTTP protocol writes to and reads from: plaintext over ``TLSServerProtocol``."""

    def __init__(self, tls: TLSServerProtocol, tcp: asyncio.Transport, sslobj: ssl.SSLObject) -> None:
        super().__init__({"ssl_object": sslobj})
        self._tls = tls
        self._tcp = tcp
        self._ssl = sslobj
        self._closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "ssl_object":
            return self._ssl
        if name == "sslcontext":
            return self._ssl.context
        if name == "peercert":
            return self._ssl.getpeercert()
        if name == "cipher":
            return self._ssl.cipher()
        return self._tcp.get_extra_info(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closed or not data:
            return
        view = memoryview(data)
        try:
            while view:  # as many records as it takes
                view = view[self._ssl.write(view) :]
        except ssl.SSLError:
            self.abort()
            return
        self._tls.flush_soon()

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def can_write_eof(self) -> bool:
        return False  # TLS has no half-close of our own side that clients understand

    def write_eof(self) -> None:
        raise NotImplementedError("TLS does not support half-closes")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._tls.close()

    def abort(self) -> None:
        self._closed = True
        self._tcp.abort()

    def is_closing(self) -> bool:
        return self._closed or self._tcp.is_closing()

    def pause_reading(self) -> None:
        self._tls.app_paused = True
        self._tcp.pause_reading()

    def resume_reading(self) -> None:
        if self._tls.app_paused:
            self._tls.app_paused = False
            self._tcp.resume_reading()
            # records already received may hold data no new packet will announce
            asyncio.get_running_loop().call_soon(self._tls.read_app)

    def is_reading(self) -> bool:
        return not self._tls.app_paused

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._tcp.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._tcp.get_write_buffer_size() + self._tls.pending_output()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._tcp.get_write_buffer_limits()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        assert isinstance(protocol, asyncio.Protocol)
        self._tls.app = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._tls.app


class _Dispatch(asyncio.Protocol):
    """Chosen per connection: TLS on TCP sockets, the plain protocol on unix sockets."""

    def __init__(self, app_protocol: asyncio.Protocol, context: ssl.SSLContext) -> None:
        self._app = app_protocol
        self._context = context

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        protocol: asyncio.Protocol = self._app
        if sock is not None and sock.family in TCP_FAMILIES:
            protocol = TLSServerProtocol(self._app, self._context)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)


def tls_dispatcher(
    http_protocol: Callable[..., asyncio.Protocol], context: ssl.SSLContext
) -> Callable[..., Any]:
    """A uvicorn ``http`` protocol factory that wraps TCP connections in TLS."""

    def create(**kwargs: Any) -> asyncio.Protocol:
        return _Dispatch(http_protocol(**kwargs), context)

    return create
