"""Published ports: a userland proxy in the engine from host addresses to the container's address.

``-p 8080:80`` listens on 0.0.0.0:8080 (or the given address) and forwards each connection
(or UDP datagram) to the container; ``-p 80`` and ``-P`` take a free ephemeral port from the
kernel, so two containers never get the same one. A taken port is Docker's "port is already
allocated" error, and nothing stays half-bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass

import structlog
from wharf_common.errors import Conflict, InvalidArgument

log = structlog.get_logger(__name__)


class PortAllocated(Conflict):
    pass


@dataclass(frozen=True, slots=True)
class PortBinding:
    container_port: int
    proto: str  # tcp | udp
    host_ip: str
    host_port: int  # 0 = pick one


def parse_port(spec: str) -> tuple[int, str]:
    """``8000/tcp`` → (8000, "tcp")."""
    port, _, proto = spec.partition("/")
    proto = proto or "tcp"
    if not port.isdigit() or not 0 < int(port) < 65536 or proto not in ("tcp", "udp"):
        raise InvalidArgument(f"invalid port specification: {spec!r}")
    return int(port), proto


def bindings(exposed: dict[str, object], port_bindings: dict[str, list[dict[str, str]] | None],
             publish_all: bool) -> list[PortBinding]:  # fmt: skip
    """What to publish: explicit PortBindings, plus every exposed port with -P."""
    out: list[PortBinding] = []
    for spec, hosts in (port_bindings or {}).items():
        port, proto = parse_port(spec)
        for host in hosts or [{}]:
            host_port = str(host.get("HostPort") or "0")
            if not host_port.isdigit() or int(host_port) > 65535:
                raise InvalidArgument(f"invalid port specification: {host_port!r}")
            out.append(PortBinding(port, proto, host.get("HostIp") or "0.0.0.0", int(host_port)))
    if publish_all:
        done = {(b.container_port, b.proto) for b in out}
        for spec in exposed:
            port, proto = parse_port(spec)
            if (port, proto) not in done:
                out.append(PortBinding(port, proto, "0.0.0.0", 0))
    return out


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


class _UDPRelay(asyncio.DatagramProtocol):
    """Each client address gets its own socket towards the container, so replies find their way."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.transport: asyncio.DatagramTransport | None = None
        self.upstreams: dict[tuple[str, int], asyncio.DatagramTransport] = {}
        self.pending: set[asyncio.Future[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        upstream = self.upstreams.get(addr)
        if upstream is not None:
            upstream.sendto(data)
            return
        relay = self

        class Back(asyncio.DatagramProtocol):
            def datagram_received(self, reply: bytes, _from: tuple[str, int]) -> None:
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


class PortProxy:
    """Every listener of one container; ``close`` releases them all."""

    def __init__(self) -> None:
        self.servers: list[asyncio.Server] = []
        self.relays: list[_UDPRelay] = []
        self.published: list[tuple[PortBinding, int]] = []  # (binding, actual host port)

    async def publish(self, binding: PortBinding, container_ip: str) -> int:
        target = (container_ip, binding.container_port)
        family = socket.AF_INET6 if ":" in binding.host_ip else socket.AF_INET
        try:
            if binding.proto == "tcp":

                async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                    try:
                        up_reader, up_writer = await asyncio.open_connection(*target)
                    except OSError:
                        writer.close()
                        return
                    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
                    for w in (writer, up_writer):
                        w.close()

                server = await asyncio.start_server(
                    forward, binding.host_ip, binding.host_port, family=family, reuse_address=True
                )
                self.servers.append(server)
                port = int(server.sockets[0].getsockname()[1])
            else:
                transport, relay = await asyncio.get_running_loop().create_datagram_endpoint(
                    lambda: _UDPRelay(target), local_addr=(binding.host_ip, binding.host_port), family=family
                )
                self.relays.append(relay)
                port = int(transport.get_extra_info("sockname")[1])
        except OSError as exc:
            where = f"{binding.host_ip}:{binding.host_port}"
            raise PortAllocated(
                f"driver failed programming external connectivity: Bind for {where} failed: "
                f"port is already allocated ({exc.strerror})"
            ) from None
        self.published.append((binding, port))
        return port

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for relay in self.relays:
            relay.close()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)
        self.servers.clear()
        self.relays.clear()
        self.published.clear()

    def api_ports(self) -> dict[str, list[dict[str, str]]]:
        ports: dict[str, list[dict[str, str]]] = {}
        for binding, port in self.published:
            ports.setdefault(f"{binding.container_port}/{binding.proto}", []).append(
                {"HostIp": binding.host_ip, "HostPort": str(port)}
            )
        return ports
