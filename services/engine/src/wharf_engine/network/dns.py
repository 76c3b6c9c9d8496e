"""The engine's DNS server: container names and aliases on user networks, everything else forwarded.

A container on a user-defined network has one nameserver, its network's gateway, where this server
listens (UDP and TCP, port 53), as Docker's embedded resolver does at 127.0.0.11. Each query is
answered from a :class:`NameTable`, scoped by the asking container's address (a container sees the
names of the networks it shares, nothing else):

- a list of addresses: the name is the engine's; ``A`` gets them, ``AAAA`` and other types an empty
  answer (NODATA, so a resolver asking A and AAAA together keeps the A), all authoritative;
- ``[]``: the engine owns the name but has no address for it: NXDOMAIN at once;
- ``None``: not the engine's: the query goes to the upstream resolvers in turn (the asking
  container's ``--dns`` servers, else the engine's), and their answer goes back as it came; when
  none answers within ``timeout`` seconds the client gets SERVFAIL. An address that is none of
  the engine's containers (``forwarders`` is None) gets REFUSED: the engine is no open resolver
  for whatever can route to a gateway.

``PTR`` queries for ``in-addr.arpa`` names ask :meth:`NameTable.reverse` the same way. Answers carry
TTL 0: they change on every restart, rename and disconnect, so nothing should keep them.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import struct
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import structlog

from . import dnsfast
from .upstreams import DNS_PORT, Upstream, resolv_conf_nameservers

PICK_ATTEMPTS = 5

log = structlog.get_logger(__name__)

UDP_PAYLOAD = 512  # the most a client without EDNS takes over UDP


class NameTable(Protocol):
    """Names the engine answers for, as seen by the container at ``client`` (its source address).

    ``name`` is lower case, without the final dot.
    """

    def resolve(self, client: str, name: str) -> list[str] | None: ...

    def reverse(self, client: str, address: str) -> str | None: ...

    def forwarders(self, client: str) -> Sequence[Upstream] | None: ...


@dataclass
class _Listener:
    udp: asyncio.DatagramTransport
    tcp: asyncio.Server
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class DnsServer:
    """Listens on any number of addresses; every listener answers from the same table."""

    def __init__(
        self,
        table: NameTable,
        upstreams: Sequence[Upstream],
        *,
        timeout: float = 2.0,
        max_inflight: int = 256,
        tcp_idle: float = 10.0,
    ) -> None:
        self.table = table
        self.upstreams = list(upstreams)
        self.timeout = timeout
        self.max_inflight = max_inflight
        self.tcp_idle = tcp_idle
        self._listeners: dict[str, _Listener] = {}
        self._inflight = 0

    @property
    def addresses(self) -> list[str]:
        return list(self._listeners)

    async def listen(self, address: str, port: int = DNS_PORT) -> int:
        """Answer on ``address`` (UDP and TCP, the same port; 0 picks one); returns the port.

        With 0 the UDP socket picks the port and TCP takes the same number, which a TCP connection
        on loopback may already hold as its own ephemeral port: then both are tried again elsewhere.
        """
        if address in self._listeners:
            return int(self._listeners[address].udp.get_extra_info("sockname")[1])
        loop = asyncio.get_running_loop()
        for attempt in range(1, PICK_ATTEMPTS + 1):
            udp, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self, address), local_addr=(address, port), reuse_port=False
            )
            chosen = int(udp.get_extra_info("sockname")[1])
            try:
                tcp = await asyncio.start_server(
                    lambda r, w: self._serve_tcp(address, r, w), address, chosen, reuse_address=True
                )
            except OSError as exc:
                udp.close()
                if port != 0 or exc.errno != errno.EADDRINUSE or attempt == PICK_ATTEMPTS:
                    raise
                continue
            except BaseException:
                udp.close()
                raise
            self._listeners[address] = _Listener(udp, tcp)
            log.info("dns.listening", address=address, port=chosen)
            return chosen
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def close(self, address: str) -> None:
        """Stop answering on ``address``: sockets closed, queries in flight dropped."""
        listener = self._listeners.pop(address, None)
        if listener is None:
            return
        listener.udp.close()
        listener.tcp.close()
        tasks = list(listener.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(listener.tcp.wait_closed(), 1)
        log.info("dns.closed", address=address)

    async def close_all(self) -> None:
        for address in list(self._listeners):
            await self.close(address)

    def _spawn(self, address: str, coro: Coroutine[Any, Any, None]) -> bool:
        listener = self._listeners.get(address)
        if listener is None or self._inflight >= self.max_inflight:
            coro.close()
            return False
        self._inflight += 1
        task = asyncio.get_running_loop().create_task(coro)
        listener.tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._inflight -= 1
            listener.tasks.discard(t)

        task.add_done_callback(done)
        return True

    async def _serve_tcp(
        self, address: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        client = str(peer[0]) if peer else ""

        async def serve() -> None:
            try:
                while True:
                    (length,) = struct.unpack(
                        "!H", await asyncio.wait_for(reader.readexactly(2), self.tcp_idle)
                    )
                    data = await asyncio.wait_for(reader.readexactly(length), self.tcp_idle)
                    wire = await self.answer(data, client, max_size=65535, tcp=True)
                    if wire is None:
                        return
                    writer.write(struct.pack("!H", len(wire)) + wire)
                    await writer.drain()
            except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                return
            finally:
                writer.close()

        if not self._spawn(address, serve()):
            writer.close()

    def answer_now(self, wire: bytes, client: str, *, tcp: bool = False) -> bytes | None:
        """The fast path: the reply to a plain query for one of the engine's names, or None."""
        query = dnsfast.parse(wire)
        if query is None or query.qclass != dnsfast.CLASS_IN or query.qtype == dnsfast.TYPE_PTR:
            return None
        addresses = self.table.resolve(client, query.name)
        if addresses is None:
            return None
        return dnsfast.response(query, addresses, max_size=65535 if tcp else None)

    async def answer(
        self, wire: bytes, client: str, *, max_size: int = UDP_PAYLOAD, tcp: bool = False
    ) -> bytes | None:
        """The reply to the query ``wire`` from ``client`` (None: no reply, the datagram was no query).

        Everything but the fast path is :mod:`~wharf_engine.network.dnsanswer`'s, imported here on
        the first such query: dnspython's memory is better not held by an idle engine that never needs it."""
        from . import dnsanswer

        return await dnsanswer.answer(self, wire, client, max_size=max_size, tcp=tcp)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer, address: str) -> None:
        self.server = server
        self.address = address
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            wire = self.server.answer_now(data, str(addr[0]))  # the engine's names: at once, no task
        except Exception:  # answer() says SERVFAIL and logs it
            wire = None
        if wire is not None:
            if self.transport is not None:
                self.transport.sendto(wire, addr)
            return
        self.server._spawn(self.address, self._reply(data, addr))

    async def _reply(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        wire = await self.server.answer(data, str(addr[0]))
        if wire is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(wire, addr)


__all__ = ["DNS_PORT", "DnsServer", "NameTable", "Upstream", "resolv_conf_nameservers"]
