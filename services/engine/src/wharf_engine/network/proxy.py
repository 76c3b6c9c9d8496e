"""The userland proxy: a listener on the host address that relays to the container's address.

It holds every published host port, so the port is reserved and a clash is an error at bind
time. It carries what the DNAT rules (``nat.py``) leave to it: connections from containers on
the bridge (a DNAT there would answer them past the host) and from other hosts, IPv6 host
addresses, and everything when nftables is unavailable.

TCP is relayed by a pair of protocols writing straight into each other's transport, with
flow control by pausing the reading side; no streams and no task per chunk.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Protocol, cast

Address = tuple[str, int]


class Listener(Protocol):
    def close(self) -> None: ...


class _Relay(asyncio.Protocol):
    """One side of a relayed TCP connection: what it reads, the peer's transport writes."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Relay | None = None
        self.eof = False  # our remote end has sent all it will (we read EOF)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is None or peer.transport is None or peer.transport.is_closing():
            return False  # asyncio closes our transport
        if peer.eof or not peer.transport.can_write_eof():
            peer.transport.close()  # both directions are done: flush the rest and close both
            return False
        peer.transport.write_eof()
        return True  # half-close: the other direction may still be talking

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    # our transport's buffer is full: stop reading from the peer until it drains
    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class _Downstream(_Relay):
    """The client's side: reading waits until the connection to the container is up."""

    def __init__(self, listener: _TCPListener) -> None:
        super().__init__()
        self.listener = listener
        self.connecting: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.transport.pause_reading()
        self.listener.connections.add(self)
        self.connecting = asyncio.get_running_loop().create_task(self._connect())

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.listener.connections.discard(self)

    async def _connect(self) -> None:
        assert self.transport is not None
        upstream = _Relay()
        upstream.peer = self
        try:
            await asyncio.get_running_loop().create_connection(lambda: upstream, *self.listener.target)
        except OSError:
            self.transport.close()
            return
        self.peer = upstream
        if self.transport.is_closing():
            if upstream.transport is not None:
                upstream.transport.close()
            return
        self.transport.resume_reading()


class _TCPListener:
    def __init__(self, target: Address) -> None:
        self.target = target
        self.server: asyncio.Server | None = None
        self.connections: set[_Downstream] = set()

    def close(self) -> None:
        """Stop listening (the port is free on return) and cut the relayed connections."""
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()


class _UDPRelay(asyncio.DatagramProtocol):
    """Each client address gets its own socket towards the container, so replies find their way."""

    def __init__(self, target: Address) -> None:
        self.target = target
        self.transport: asyncio.DatagramTransport | None = None
        self.upstreams: dict[Address, asyncio.DatagramTransport] = {}
        self.pending: set[asyncio.Future[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a DatagramTransport, though not by class on Python 3.11 (an isinstance check fails there)
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        upstream = self.upstreams.get(addr)
        if upstream is not None:
            upstream.sendto(data)
            return
        relay = self

        class Back(asyncio.DatagramProtocol):
            def datagram_received(self, reply: bytes, _from: Address) -> None:
                if relay.transport is not None:
                    relay.transport.sendto(reply, addr)

        async def open_upstream() -> None:
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                Back, remote_addr=self.target
            )
            self.upstreams[addr] = transport
            transport.sendto(data)

        task = asyncio.ensure_future(open_upstream())
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    def close(self) -> None:
        for upstream in self.upstreams.values():
            upstream.close()
        if self.transport is not None:
            self.transport.close()


async def listen(proto: str, host: Address, target: Address) -> tuple[Listener, int]:
    """Bind ``host`` (port 0: the kernel picks) and relay to ``target``: (listener, bound port).

    Raises OSError when the address cannot be bound.
    """
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host[0] else socket.AF_INET
    if proto == "tcp":
        listener = _TCPListener(target)
        listener.server = await loop.create_server(
            lambda: _Downstream(listener), *host, family=family, reuse_address=True
        )
        return listener, int(listener.server.sockets[0].getsockname()[1])
    transport, relay = await loop.create_datagram_endpoint(
        lambda: _UDPRelay(target), local_addr=host, family=family
    )
    return relay, int(transport.get_extra_info("sockname")[1])
