"""A container's network: bridge endpoint, --net modes, published ports, links, NetworkSettings."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from wharf_common.errors import Conflict, InvalidArgument

from wharf_engine.containers.container import Container
from wharf_engine.containers.errors import ContainerNotRunning
from wharf_engine.network import bridges, dnsconfig, masquerade, netlink
from wharf_engine.network.ipam import IPAM
from wharf_engine.network.isolation import Isolation
from wharf_engine.network.links import link_env
from wharf_engine.network.nat import PortNat
from wharf_engine.network.pool import DEFAULT_POOLS, AddressPool
from wharf_engine.network.ports import PortBinding, PublishedPorts, bindings, parse_port
from wharf_engine.network.store import NetworkStore
from wharf_engine.shapes import EndpointSettings, NetworkSettings, Port, PortMap

from . import endpoints

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)

DEFAULT_ADDRESS_POOLS = tuple(AddressPool.parse(base, size) for base, size in DEFAULT_POOLS)
HOSTS_HEADER = (
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
)


def mode(container: Container) -> str:
    """bridge, host, none or container:<ref>; Docker's "default" is the bridge."""
    value = str(container.host_config.get("NetworkMode") or "default")
    return "bridge" if value in ("default", "bridge") else value


def on_bridge(container: Container) -> bool:
    """Whether the container belongs on the default bridge: its NetworkMode, unless a network connect
    or disconnect said otherwise."""
    if container.bridge_connected is not None:
        return container.bridge_connected
    return mode(container) == "bridge"


def bridge_entry(container: Container) -> dict[str, Any]:
    """The container's default-bridge endpoint: its primary one, or the second one a connect gave a
    container of a user network (``DefaultBridge``)."""
    second: dict[str, Any] | None = container.network.get("DefaultBridge")
    if second is not None:
        return second
    return container.network if mode(container) == "bridge" else {}


async def lease_bridge(daemon: Daemon, container: Container, mac: str = "") -> dict[str, Any]:
    """An address on the default bridge for ``container`` (the bridge made if it is not yet)."""
    if not daemon.networks.ready:  # pyroute2 runs its own loop: keep it off the engine's thread
        await asyncio.to_thread(daemon.networks.setup)
    ip = daemon.networks.ipam.allocate(container.id)
    return {
        "IPAddress": str(ip),
        "IPPrefixLen": daemon.networks.subnet.prefixlen,
        "Gateway": str(daemon.networks.ipam.gateway),
        "MacAddress": mac or netlink.mac_for(ip),
        "Bridge": daemon.networks.bridge,
    }


async def plug_bridge(daemon: Daemon, container: Container, pid: int) -> None:
    """The second endpoint's veth (``DefaultBridge``) into the running container, after its user networks'."""
    entry = container.network["DefaultBridge"]
    ifname = endpoints.next_ifname(endpoints.ifnames(daemon, container))
    routed = container.network.get("Routed")
    entry["EndpointID"] = await asyncio.to_thread(
        bridges.plug,
        pid,
        daemon.networks.bridge,
        ifname,
        (entry["IPAddress"], entry["IPPrefixLen"]),
        entry["MacAddress"],
        gateway=None if routed else entry["Gateway"],
        isolated=not daemon.networks.icc,
    )
    entry["Ifname"] = ifname
    if not routed:
        container.network["Routed"] = "bridge"


class Networks:
    """The engine's bridge, address pool and DNAT table, and the published ports of running containers;
    the user networks (``store``), their isolation table and each user bridge's DNAT table."""

    def __init__(
        self,
        root: Path,
        bridge: str,
        subnet: str,
        *,
        icc: bool = True,
        masquerade: bool = False,
        pools: tuple[AddressPool, ...] = DEFAULT_ADDRESS_POOLS,
    ) -> None:
        self.bridge = bridge
        self.icc = icc
        self.masquerade = masquerade
        self.subnet = ipaddress.IPv4Network(subnet)
        self.ipam = IPAM(self.subnet, root / "ipam.json")
        self.ports: dict[str, PublishedPorts] = {}
        self.nat = PortNat(bridge)
        self.ready = False
        self.store = NetworkStore(root)
        self.pools = pools
        self.isolation = Isolation(bridge)
        self.nats: dict[str, PortNat] = {}  # user bridge -> its DNAT table, made at its first port
        self.lock = asyncio.Lock()  # network create and remove, one at a time

    def nat_for(self, bridge: str | None) -> PortNat:
        if not bridge or bridge == self.bridge:
            return self.nat
        if bridge not in self.nats:
            self.nats[bridge] = PortNat(bridge)
        return self.nats[bridge]

    def setup(self) -> None:
        if not self.ready:
            netlink.ensure_bridge(self.bridge, self.ipam.gateway, self.subnet.prefixlen)
            if self.masquerade:
                masquerade.enable(self.bridge, str(self.subnet))
            self.ready = True

    def teardown(self) -> None:
        """Engine shutdown: the NAT rules go; the bridge stays for the containers that run on."""
        self.nat.close()
        for nat in self.nats.values():
            nat.close()
        self.isolation.close()
        if self.masquerade:
            masquerade.disable(self.bridge)
            for network in self.store.networks.values():
                masquerade.disable(network.bridge)


def host_gateway(daemon: Daemon) -> str:
    """``--add-host name:host-gateway``: the host's address on the default bridge, as Docker's default."""
    return str(daemon.networks.ipam.gateway)


def _link_targets(daemon: Daemon, container: Container) -> list[tuple[Container, str]]:
    """``HostConfig.Links``, then the running targets of the user networks' ``Links`` (compose's, the
    same on every network), each (target, alias) once."""
    targets: dict[tuple[str, str], tuple[Container, str]] = {}
    for spec in container.host_config.get("Links") or []:
        name, _, alias = str(spec).partition(":")
        target = daemon.containers.get(name.lstrip("/"))
        alias = (alias or name).rsplit("/", 1)[-1]
        targets.setdefault((target.id, alias), (target, alias))
    for spec in endpoints.links_of(daemon, container):
        name, _, alias = spec.partition(":")
        found = daemon.containers.by_id.get(daemon.containers.by_name.get(name.lstrip("/")) or name)
        if found is not None and found.id != container.id and found.state.running:
            alias = (alias or name).rsplit("/", 1)[-1]
            targets.setdefault((found.id, alias), (found, alias))
    return list(targets.values())


def hosts_lines(daemon: Daemon, container: Container) -> str:
    lines = HOSTS_HEADER + dnsconfig.extra_hosts(container.host_config, host_gateway(daemon))
    ip = container.network.get("IPAddress")
    if ip:
        lines += f"{ip}\t{container.config.get('Hostname') or container.short_id}\n"
    for target, alias in _link_targets(daemon, container):
        target_ip = endpoints.address_for(daemon, target, container)
        if target_ip and target.state.running:
            lines += (
                f"{target_ip}\t{alias} {target.config.get('Hostname') or target.short_id} {target.name}\n"
            )
    return lines


def link_environment(daemon: Daemon, container: Container) -> list[str]:
    env: list[str] = []
    for target, alias in _link_targets(daemon, container):
        if not target.state.running:
            raise InvalidArgument(
                f"Cannot link to a non running container: /{target.name} AS /{container.name}/{alias}"
            )
        exposed = list((target.config.get("ExposedPorts") or {}).keys())
        env += link_env(
            alias,
            container.name,
            endpoints.address_for(daemon, target, container),
            exposed,
            target.config.get("Env") or [],
        )
    return env


async def allocate(daemon: Daemon, container: Container) -> None:
    """Before the bundle is written: the address (for /etc/hosts) of a bridged container."""
    container.network = {}
    value = mode(container)
    if value == "bridge" and on_bridge(container):
        container.network = await lease_bridge(daemon, container, container.config.get("MacAddress") or "")
    await endpoints.allocate(daemon, container, value)
    if value != "bridge" and on_bridge(container):  # connected to the bridge too, after create
        container.network["DefaultBridge"] = await lease_bridge(daemon, container)


def netns_path(daemon: Daemon, container: Container) -> str | None:
    """--net container:X joins X's namespace, which must be running; host has none of its own."""
    value = mode(container)
    if value.startswith("container:"):
        other = daemon.containers.get(value.split(":", 1)[1])
        if not other.state.running or not other.state.pid:
            raise ContainerNotRunning(other.id)
        return f"/proc/{other.state.pid}/ns/net"
    return None


async def attach(daemon: Daemon, container: Container, pid: int) -> None:
    """After ``runc create``, before the process runs: wire the netns and publish ports."""
    value = mode(container)
    if value == "bridge" and container.network.get("IPAddress"):
        ip = ipaddress.IPv4Address(container.network["IPAddress"])
        endpoint = await asyncio.to_thread(
            partial(netlink.connect, isolated=not daemon.networks.icc, mac=container.network["MacAddress"]),
            pid,
            daemon.networks.bridge,
            ip,
            daemon.networks.subnet.prefixlen,
            container.network["Gateway"],
        )
        container.network["EndpointID"] = endpoint.host_veth
        container.network["Routed"] = "bridge"
    elif value in ("none", "bridge") or (endpoints.is_user_mode(value) and not container.network):
        await asyncio.to_thread(netlink.loopback_up, pid)
    if value == "bridge" or endpoints.is_user_mode(value):
        await endpoints.attach(daemon, container, pid)
    if "DefaultBridge" in container.network:
        await plug_bridge(daemon, container, pid)
    await publish_ports(daemon, container)


async def publish_ports(daemon: Daemon, container: Container) -> None:
    """The container's published ports, on its primary address (at start, or when it is connected back
    to the default bridge)."""
    wanted = bindings(
        container.config.get("ExposedPorts") or {},
        container.host_config.get("PortBindings") or {},
        bool(container.host_config.get("PublishAllPorts")),
    )
    if wanted:
        if not container.network.get("IPAddress"):
            raise Conflict("published ports need a bridge network")
        nat = daemon.networks.nat_for(container.network.get("Bridge"))
        ports = daemon.networks.ports[container.id] = PublishedPorts(nat)
        for binding in wanted:
            await ports.publish(binding, container.network["IPAddress"])
        container.network["Ports"] = ports.api_ports()


async def detach(daemon: Daemon, container: Container) -> None:
    """The container stopped (or failed to start): ports and address go back."""
    published = daemon.networks.ports.pop(container.id, None)
    if published is not None:
        await published.close()
    daemon.networks.ipam.release(container.id)
    await endpoints.detach(daemon, container)
    container.network = {}


async def connect_bridge(daemon: Daemon, container: Container, pid: int) -> None:
    """A running container connected to the default bridge after create: a second endpoint
    (``DefaultBridge``) for a container of a user network; for a bridge-mode container that was
    disconnected, its primary endpoint back (address, default route unless a user network has it,
    published ports), as in Docker."""
    primary = mode(container) == "bridge"
    mac = str(container.config.get("MacAddress") or "") if primary else ""
    container.network["DefaultBridge"] = await lease_bridge(daemon, container, mac)
    try:
        await plug_bridge(daemon, container, pid)
    except BaseException:
        container.network.pop("DefaultBridge", None)
        daemon.networks.ipam.release(container.id)
        raise
    if primary:
        container.network.update(container.network.pop("DefaultBridge"))
        await publish_ports(daemon, container)


async def detach_primary(daemon: Daemon, container: Container) -> None:
    """A running container left the network its NetworkMode names: its ports and address go."""
    published = daemon.networks.ports.pop(container.id, None)
    if published is not None:
        await published.close()
    container.network = {k: v for k, v in container.network.items() if k in ("Routed", "DefaultBridge")}


async def republish(daemon: Daemon, container: Container) -> None:
    """Engine restart: listeners and DNAT rules died with the old engine; running containers get them back."""
    ports = container.network.get("Ports") or {}
    if not ports or not container.network.get("IPAddress"):
        return
    nat = daemon.networks.nat_for(container.network.get("Bridge"))
    published = daemon.networks.ports[container.id] = PublishedPorts(nat)
    for spec, hosts in ports.items():
        port, proto = parse_port(spec)
        for host in hosts:
            await published.publish(
                PortBinding(port, proto, host["HostIp"], int(host["HostPort"])),
                container.network["IPAddress"],
            )


def refresh_linkers(daemon: Daemon, started: Container) -> None:
    """Containers linking to ``started`` see its new address in /etc/hosts (rewritten in place)."""
    for other in daemon.containers.all():
        if other.id == started.id or not other.state.running:
            continue
        if any(t.id == started.id for t, _ in _link_targets(daemon, other)):
            hosts = other.dir / "hosts"
            with open(hosts, "r+") as f:  # in place: the file is bind-mounted, its inode must stay
                f.write(hosts_lines(daemon, other))
                f.truncate()


def on_any(daemon: Daemon, container: Container, refs: list[str]) -> bool:
    """Whether ``container`` is on one of the networks ``refs`` names (name, id or id prefix)."""
    value = mode(container)
    found = [(value, predefined_id(daemon, value))] if value in ("host", "none") else []
    if on_bridge(container):
        found.append(("bridge", predefined_id(daemon, "bridge")))
    found += [(n.name, n.id) for n in daemon.networks.store.networks_of(container.id)]
    return any(
        ref in (name, net_id) or (len(ref) >= 12 and net_id.startswith(ref))
        for ref in refs
        for name, net_id in found
    )


def predefined_id(daemon: Daemon, name: str) -> str:
    """A stable id per engine for ``bridge``, ``host`` and ``none`` (Docker's are random, kept on disk)."""
    return hashlib.sha256(f"{daemon.id}:{name}".encode()).hexdigest()


def settings(daemon: Daemon, container: Container) -> NetworkSettings:
    net = container.network
    ip, gateway, mac = net.get("IPAddress", ""), net.get("Gateway", ""), net.get("MacAddress", "")
    networks: dict[str, EndpointSettings] = {}
    value = mode(container)
    if value in ("host", "none"):
        networks[value] = _predefined_entry(daemon, value, net)
    networks.update(endpoints.settings(daemon, container))
    if on_bridge(container):
        networks["bridge"] = _predefined_entry(daemon, "bridge", bridge_entry(container))
    if value != "bridge":  # Docker fills the top level for the default bridge only
        ip, gateway, mac = "", "", ""
    ports: PortMap = {}
    if container.state.running:  # exposed but not published: null, as Docker lists them
        ports = {spec: None for spec in container.config.get("ExposedPorts") or {}}
        ports.update(net.get("Ports") or {})
    return {
        "Bridge": "",
        "SandboxID": "",
        "SandboxKey": "",
        "HairpinMode": False,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports,
        "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None,
        "EndpointID": net.get("EndpointID", "") if ip else "",
        "Gateway": gateway,
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": ip,
        "IPPrefixLen": net.get("IPPrefixLen", 0) if ip else 0,
        "IPv6Gateway": "",
        "MacAddress": mac,
        "Networks": networks,
    }


def _predefined_entry(daemon: Daemon, name: str, net: dict[str, Any]) -> EndpointSettings:
    return {
        "IPAMConfig": None,
        "Links": None,
        "Aliases": None,
        "NetworkID": predefined_id(daemon, name),
        "EndpointID": net.get("EndpointID", ""),
        "Gateway": net.get("Gateway", ""),
        "IPAddress": net.get("IPAddress", ""),
        "IPPrefixLen": net.get("IPPrefixLen", 0),
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": net.get("MacAddress", ""),
        "DriverOpts": None,
        "DNSNames": None,
    }


def list_ports(container: Container) -> list[Port]:
    out: list[Port] = []
    published = container.network.get("Ports") or {}
    for spec in sorted(set(published) | set(container.config.get("ExposedPorts") or {})):
        port, _, proto = spec.partition("/")
        hosts = published.get(spec) or []
        if not hosts:
            out.append({"PrivatePort": int(port), "Type": proto or "tcp"})
        for host in hosts:
            out.append(
                {
                    "IP": host["HostIp"],
                    "PrivatePort": int(port),
                    "PublicPort": int(host["HostPort"]),
                    "Type": proto or "tcp",
                }
            )
    return out
