"""Raw connection takeover for attach and exec start (``Upgrade: tcp``, ``101 UPGRADED``).

ASGI has no raw upgrade, so the engine runs uvicorn with this protocol class. It puts a
``wharf.hijack`` callable into every request's scope extensions; a route that calls it
owns the socket from then on: it writes the status line itself, reads the client's raw
bytes from ``Hijacked.reader`` (EOF on the client's half-close) and closes when done.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class Hijacked:
    """The raw byte stream of one connection, after the HTTP request was read."""

    def __init__(self, protocol: HijackProtocol) -> None:
        self._protocol = protocol
        self.reader = asyncio.StreamReader()
        self.lost = asyncio.Event()  # set when the connection is gone for good
        self.transport = protocol.transport

    async def write(self, data: bytes) -> None:
        if self.transport.is_closing():
            raise ConnectionResetError("client went away")
        self.transport.write(data)
        if self._protocol.flow.write_paused:
            await self._protocol.flow.drain()

    @property
    def closed(self) -> bool:
        return self.transport.is_closing()

    def close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


class HijackProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus a way for a route to take the socket over."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hijacked: Hijacked | None = None
        self.upgrading = False  # llhttp stopped parsing at the end of an Upgrade request's headers
        self.body_left = 0  # of that request's Content-Length, still to come
        self.early = bytearray()  # raw bytes after the request, before the route took the socket

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        extensions["wharf.hijack"] = self.hijack
        self.body_left = 0
        if self._get_upgrade() == b"tcp":
            length = dict(self.headers).get(b"content-length", b"0")
            self.body_left = int(length) if length.isdigit() else 0

    def on_body(self, body: bytes) -> None:
        self.body_left = max(0, self.body_left - len(body))  # llhttp may still parse some of it
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self.body_left:  # llhttp calls an Upgrade request complete before its body: not yet
            return
        super().on_message_complete()

    def hijack(self) -> Hijacked:
        self.hijacked = Hijacked(self)
        # the route answers on the raw socket: uvicorn must not add a response of its own
        self.cycle.response_started = True
        self.cycle.response_complete = True
        self._unset_keepalive_if_required()
        if self.early:
            self.hijacked.reader.feed_data(bytes(self.early))
            self.early.clear()
        return self.hijacked

    def data_received(self, data: bytes) -> None:
        if self.hijacked is not None:
            self.hijacked.reader.feed_data(data)
            return
        self._unset_keepalive_if_required()
        if self.upgrading:
            self._after_headers(data)
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            # an Upgrade: tcp request (attach, exec start): its body (exec start's JSON) is HTTP,
            # whatever follows is the client's stream, kept until the route hijacks the socket
            self.upgrading = True
            self._after_headers(data[int(exc.args[0]) :])
        except httptools.HttpParserError:
            self.send_400_response("Invalid HTTP request received.")

    def _after_headers(self, data: bytes) -> None:
        if self.body_left:
            body, data = data[: self.body_left], data[self.body_left :]
            self.body_left -= len(body)
            self.cycle.body += body
            if not self.body_left:
                self.cycle.more_body = False
            self.cycle.message_event.set()
        self.early += data

    def eof_received(self) -> bool | None:  # type: ignore[override]
        if self.hijacked is not None:
            self.hijacked.reader.feed_eof()
            return True  # keep the write side open: the client only half-closed
        super().eof_received()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.hijacked is not None:
            self.hijacked.reader.feed_eof()
            self.hijacked.lost.set()
        super().connection_lost(exc)

    def _unsupported_upgrade_warning(self) -> None:
        """``Upgrade: tcp`` is ours to handle; uvicorn need not warn about it."""
