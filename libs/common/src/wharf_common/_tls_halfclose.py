"""TLS on a server's TCP connections, with half-close, for :func:`wharf_common.serving.serve`.

asyncio's ``SSLProtocol`` shuts the whole connection down as soon as the peer has finished
sending (its ``close_notify``, or a TCP FIN), whatever the protocol above answers to
``eof_received``. A hijacked stream needs what plain TCP gives: the client ends its stdin
(Go's ``tls.Conn.CloseWrite`` sends ``close_notify``; older clients half-close the TCP socket)
and goes on reading the container's output. This subclass delivers that end of stream to the
protocol above and, when the protocol returns true, keeps writing; the connection closes when
the protocol closes it. Protocols that return false (every plain HTTP request) are unaffected.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from asyncio import sslproto
from collections.abc import Callable
from typing import Any

TCP_FAMILIES = (socket.AF_INET, socket.AF_INET6)
_AGAIN = (ssl.SSLWantReadError, ssl.SSLWantWriteError)
_SSLProtocol: Any = sslproto.SSLProtocol  # typeshed lacks the private state this class works with


class HalfCloseSSLProtocol(_SSLProtocol):  # type: ignore[misc]
    _app_state: Any
    _reading = False  # inside _do_read, where a close_notify from the peer is seen
    _keep_open = False  # the protocol above answered True to eof_received
    _peer_fin = False  # the peer half-closed TCP: its close_notify will never come

    def _on_handshake_complete(self, handshake_exc: BaseException | None) -> None:
        # asyncio drops the alert that says why (certificate required, unknown CA): send it
        if handshake_exc is not None and self._transport is not None and (alert := self._outgoing.read()):
            self._transport.write(alert)
        super()._on_handshake_complete(handshake_exc)

    def _call_eof_received(self) -> None:
        if self._app_state != sslproto.AppProtocolState.STATE_CON_MADE:
            return
        self._app_state = sslproto.AppProtocolState.STATE_EOF
        try:
            self._keep_open = bool(self._app_protocol.eof_received())
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Error calling eof_received()")

    def _do_read(self) -> None:
        self._reading = True
        try:
            super()._do_read()
        finally:
            self._reading = False

    def _start_shutdown(self) -> None:
        if self._reading and self._keep_open:
            return  # the peer's close_notify: it has finished sending, we have not
        super()._start_shutdown()

    def eof_received(self) -> bool | None:
        if self._state == sslproto.SSLProtocolState.WRAPPED:
            self._do_read()
            self._call_eof_received()
            if self._keep_open:
                self._peer_fin = True
                return True  # keep the socket's write side open
        return super().eof_received()  # type: ignore[no-any-return]

    def _do_shutdown(self) -> None:
        if not self._peer_fin:
            super()._do_shutdown()
            return
        try:
            self._sslobj.unwrap()  # writes our close_notify; the peer's will not come
        except (*_AGAIN, ssl.SSLError):
            pass
        self._process_outgoing()
        self._on_shutdown_complete(None)


class _Dispatch(asyncio.Protocol):
    """Chosen per connection: TLS on TCP sockets, the plain protocol on unix sockets."""

    def __init__(self, app_protocol: asyncio.BaseProtocol, context: ssl.SSLContext) -> None:
        self._app = app_protocol
        self._context = context

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        protocol: asyncio.BaseProtocol = self._app
        if sock is not None and sock.family in TCP_FAMILIES:
            loop = asyncio.get_running_loop()
            protocol = HalfCloseSSLProtocol(loop, self._app, self._context, None, server_side=True)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)


def tls_dispatcher(
    http_protocol: Callable[..., asyncio.BaseProtocol], context: ssl.SSLContext
) -> Callable[..., Any]:
    """A uvicorn ``http`` protocol factory that wraps TCP connections in TLS."""

    def create(**kwargs: Any) -> asyncio.Protocol:
        return _Dispatch(http_protocol(**kwargs), context)

    return create
