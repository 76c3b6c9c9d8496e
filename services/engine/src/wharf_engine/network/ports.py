"""Published ports: which to publish, and publishing them by proxy listener plus DNAT.

``-p 8080:80`` binds 0.0.0.0:8080 (or the given address) with a userland proxy to the container
(``proxy.py``), and the bridge's DNAT table (``nat.py``) sends the host's own connections to that
port straight to the container; ``-p 80`` and ``-P`` take a free ephemeral port from the kernel,
so two containers never get the same one. A taken port is Docker's "port is already allocated"
error, raised before any rule exists, and nothing stays half-bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from wharf_common.errors import Conflict, InvalidArgument

from . import proxy

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
    if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536 or proto not in ("tcp", "udp"):
        raise InvalidArgument(f"invalid port specification: {spec!r}")
    return int(port), proto


def bindings(
    exposed: Mapping[str, object],
    port_bindings: Mapping[str, Sequence[Mapping[str, Any]] | None],
    publish_all: bool,
) -> list[PortBinding]:
    """What to publish: explicit PortBindings, plus every exposed port with -P."""
    out: list[PortBinding] = []
    for spec, hosts in (port_bindings or {}).items():
        port, proto = parse_port(spec)
        for host in hosts or [{}]:
            host_port = str(host.get("HostPort") or "0")
            if not (host_port.isascii() and host_port.isdigit()) or int(host_port) > 65535:
                raise InvalidArgument(f"invalid port specification: {host_port!r}")
            out.append(PortBinding(port, proto, host.get("HostIp") or "0.0.0.0", int(host_port)))
    if publish_all:
        done = {(b.container_port, b.proto) for b in out}
        for spec in exposed:
            port, proto = parse_port(spec)
            if (port, proto) not in done:
                out.append(PortBinding(port, proto, "0.0.0.0", 0))
    return out


class Dnat(Protocol):
    """What publishing needs of the bridge's DNAT table (``nat.PortNat``); blocking calls."""

    def add(self, proto: str, host_ip: str, host_port: int, target: tuple[str, int]) -> bool: ...

    def remove(self, proto: str, host_ip: str, host_port: int, target: tuple[str, int]) -> None: ...


class PublishedPorts:
    """One container's published ports; ``close`` releases them all.

    Each host port is held by a proxy listener (so a taken port fails at bind, before anything
    else is set up), and the bridge's DNAT table sends the host's own traffic past the proxy.
    """

    def __init__(self, nat: Dnat) -> None:
        self.nat = nat
        self.listeners: list[proxy.Listener] = []
        self.published: list[tuple[PortBinding, int]] = []  # (binding, actual host port)
        self.routed: list[tuple[str, str, int, tuple[str, int]]] = []  # what nat.add took

    async def publish(self, binding: PortBinding, container_ip: str) -> int:
        target = (container_ip, binding.container_port)
        try:
            listener, port = await proxy.listen(binding.proto, (binding.host_ip, binding.host_port), target)
        except OSError as exc:
            where = f"{binding.host_ip}:{binding.host_port}"
            raise PortAllocated(
                f"driver failed programming external connectivity: Bind for {where} failed: "
                f"port is already allocated ({exc.strerror})"
            ) from None
        self.listeners.append(listener)
        self.published.append((binding, port))
        route = (binding.proto, binding.host_ip, port, target)
        if await asyncio.to_thread(self.nat.add, *route):
            self.routed.append(route)
        return port

    async def close(self) -> None:
        routed, self.routed = self.routed, []
        if routed:
            await asyncio.to_thread(self._unroute, routed)
        for listener in self.listeners:
            listener.close()
        self.listeners.clear()
        self.published.clear()

    def _unroute(self, routed: list[tuple[str, str, int, tuple[str, int]]]) -> None:
        for route in routed:
            self.nat.remove(*route)

    def api_ports(self) -> dict[str, list[dict[str, str]]]:
        ports: dict[str, list[dict[str, str]]] = {}
        for binding, port in self.published:
            ports.setdefault(f"{binding.container_port}/{binding.proto}", []).append(
                {"HostIp": binding.host_ip, "HostPort": str(port)}
            )
        return ports
