"""The userland proxy and PublishedPorts on loopback: relaying, half-close, release, port clashes."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from typing import cast

import pytest
from wharf_engine.network import proxy
from wharf_engine.network.ports import PortAllocated, PortBinding, PublishedPorts

BIG = bytes(range(256)) * 12288  # 3 MiB: more than any socket buffer holds


async def digest_server() -> tuple[asyncio.Server, int]:
    """Reads until EOF, then answers the sha256 of what it read and 3 MiB of its own."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read()
        writer.write(hashlib.sha256(data).hexdigest().encode() + b"\n" + BIG)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


def test_tcp_relay_carries_both_directions_and_half_close() -> None:
    async def main() -> None:
        server, port = await digest_server()
        listener, published = await proxy.listen("tcp", ("127.0.0.1", 0), ("127.0.0.1", port))
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", published)
            writer.write(BIG)
            await writer.drain()
            writer.write_eof()  # the server answers only after EOF: the relay must pass it on
            answer = await asyncio.wait_for(reader.read(), 10)
            writer.close()
            assert answer == hashlib.sha256(BIG).hexdigest().encode() + b"\n" + BIG
            for _ in range(100):  # EOF both ways: the relay closes both of its connections
                if not listener.connections:  # type: ignore[attr-defined]
                    break
                await asyncio.sleep(0.01)
            assert not listener.connections  # type: ignore[attr-defined]
        finally:
            listener.close()
            server.close()

    asyncio.run(main())


def test_tcp_relay_closes_the_client_when_the_container_refuses() -> None:
    async def main() -> None:
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            closed_port = unused.getsockname()[1]
        listener, published = await proxy.listen("tcp", ("127.0.0.1", 0), ("127.0.0.1", closed_port))
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", published)
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
        finally:
            listener.close()

    asyncio.run(main())


def test_closing_a_listener_frees_the_port_and_cuts_its_connections() -> None:
    async def main() -> None:
        hold = asyncio.Event()

        async def idle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await hold.wait()
            writer.close()

        server = await asyncio.start_server(idle, "127.0.0.1", 0)
        target = ("127.0.0.1", int(server.sockets[0].getsockname()[1]))
        listener, published = await proxy.listen("tcp", ("127.0.0.1", 0), target)
        reader, writer = await asyncio.open_connection("127.0.0.1", published)
        writer.write(b"hello")
        await writer.drain()
        await asyncio.sleep(0.05)  # relayed: the upstream connection is up
        listener.close()
        try:
            assert await asyncio.wait_for(reader.read(), 5) == b""
            with pytest.raises(OSError):
                await asyncio.open_connection("127.0.0.1", published)
        finally:
            writer.close()
            hold.set()
            server.close()

    asyncio.run(main())


def test_udp_relay_answers_each_client_from_the_published_port() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        class Upper(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = cast(asyncio.DatagramTransport, transport)

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                self.transport.sendto(data.upper(), addr)

        echo, _ = await loop.create_datagram_endpoint(Upper, local_addr=("127.0.0.1", 0))
        target = echo.get_extra_info("sockname")
        listener, published = await proxy.listen("udp", ("127.0.0.1", 0), target)
        try:
            for word in (b"one", b"two"):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                    client.setblocking(False)
                    await loop.sock_sendto(client, word, ("127.0.0.1", published))
                    reply, sender = await asyncio.wait_for(loop.sock_recvfrom(client, 100), 5)
                    assert (reply, sender[1]) == (word.upper(), published)
        finally:
            listener.close()
            echo.close()

    asyncio.run(main())


class FakeDnat:
    def __init__(self, takes: bool) -> None:
        self.takes = takes
        self.routes: list[tuple[str, str, int, tuple[str, int]]] = []
        self.removed: list[tuple[str, str, int, tuple[str, int]]] = []

    def add(self, proto: str, host_ip: str, host_port: int, target: tuple[str, int]) -> bool:
        self.routes.append((proto, host_ip, host_port, target))
        return self.takes

    def remove(self, proto: str, host_ip: str, host_port: int, target: tuple[str, int]) -> None:
        self.removed.append((proto, host_ip, host_port, target))


@pytest.mark.parametrize("takes", [True, False], ids=["dnat", "proxy-only"])
def test_published_ports_route_after_binding_and_unroute_on_close(takes: bool) -> None:
    async def main() -> None:
        dnat = FakeDnat(takes)
        ports = PublishedPorts(dnat)
        port = await ports.publish(PortBinding(80, "tcp", "127.0.0.1", 0), "10.9.9.2")
        assert dnat.routes == [("tcp", "127.0.0.1", port, ("10.9.9.2", 80))]
        assert ports.api_ports() == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
        await ports.close()
        assert dnat.removed == (dnat.routes if takes else [])
        with socket.socket() as again:  # released
            again.bind(("127.0.0.1", port))

    asyncio.run(main())


def test_taken_host_port_is_refused_before_any_rule() -> None:
    async def main() -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            dnat = FakeDnat(True)
            ports = PublishedPorts(dnat)
            with pytest.raises(PortAllocated, match="port is already allocated"):
                await ports.publish(PortBinding(80, "tcp", "127.0.0.1", port), "10.9.9.2")
            assert dnat.routes == [] and ports.api_ports() == {}

    asyncio.run(main())
