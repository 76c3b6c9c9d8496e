"""A container's endpoints on user networks through its life: create, start, stop, rename, removal.

At create the endpoints are recorded (aliases, static address, MAC); at start each gets an
address and a veth, the first one eth0 (eth1 after the default bridge's); at stop the addresses go
back. ``container.network`` describes the container's primary endpoint (the network its
``NetworkMode`` names), which published ports, links and /etc/hosts use.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from wharf_common.errors import Conflict, InvalidArgument

from wharf_engine.containers.container import Container
from wharf_engine.network import bridges, netlink
from wharf_engine.network.model import PREDEFINED, Endpoint, Network
from wharf_engine.network.store import NoSuchNetwork
from wharf_engine.shapes import ContainerConfig, EndpointSettings, HostConfig

if TYPE_CHECKING:
    from .daemon import Daemon

MAC = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$")
DEFAULT_MODES = ("", "default", "bridge")


class UnknownNetwork(InvalidArgument):
    """At create a missing network is bad input (a 404 there makes clients pull the image)."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"network {ref} not found")


class AddressTaken(Conflict):
    def __init__(self, address: str) -> None:
        super().__init__(f"Address already in use: {address}")


def check_mac(value: str) -> str:
    if not MAC.match(value):
        raise InvalidArgument(f"invalid MAC address: {value!r} (MacAddress)")
    if int(value[:2], 16) & 1:
        raise InvalidArgument(f"invalid MAC address: {value!r} is a multicast address (MacAddress)")
    return value.lower().replace("-", ":")


def _check_static(network: Network, container_id: str, static: str) -> None:
    if not network.subnet_given:
        raise InvalidArgument(
            "user specified IP address is supported only when connecting to networks "
            "with user configured subnets"
        )
    try:
        address = ipaddress.IPv4Address(static)
    except ValueError:
        raise InvalidArgument(f"invalid IPv4 address: {static!r} (IPAMConfig.IPv4Address)") from None
    subnet = network.network
    if address not in subnet or address in (subnet.network_address, subnet.broadcast_address):
        raise InvalidArgument(f"no configured subnet or ip-range contain the IP address {static}")
    taken = {network.gateway, *network.aux_addresses.values()}
    for other in network.endpoints.values():
        if other.container_id != container_id:
            taken |= {other.static_ip, other.ip}
    if static in taken:
        raise AddressTaken(static)


def endpoint_from(network: Network, container_id: str, name: str, config: Any) -> Endpoint:
    """An endpoint as ``EndpointsConfig.<network>`` (or a connect's ``EndpointConfig``) describes it."""
    config = config or {}
    if not isinstance(config, dict):
        raise InvalidArgument(f"EndpointsConfig.{network.name} must be an object")
    ipam = config.get("IPAMConfig") or {}
    if ipam.get("IPv6Address"):
        raise InvalidArgument("IPv6 addresses are not supported by this engine (IPAMConfig.IPv6Address)")
    static = str(ipam.get("IPv4Address") or "")
    if static:
        _check_static(network, container_id, static)
    link_local = [str(a) for a in ipam.get("LinkLocalIPs") or []]
    for address in link_local:
        try:
            if not ipaddress.IPv4Address(address).is_link_local:
                raise ValueError(address)
        except ValueError:
            raise InvalidArgument(
                f"invalid link-local IP address: {address} (IPAMConfig.LinkLocalIPs)"
            ) from None
    return Endpoint(
        network_id=network.id,
        container_id=container_id,
        name=name,
        aliases=list(dict.fromkeys(str(a) for a in config.get("Aliases") or [])),
        static_ip=static,
        link_local_ips=link_local,
        mac_config=check_mac(str(config["MacAddress"])) if config.get("MacAddress") else "",
        driver_opts={str(k): str(v) for k, v in (config.get("DriverOpts") or {}).items()},
        links=[str(link) for link in config.get("Links") or []],
        order=time.monotonic_ns(),
    )


def is_user_mode(mode: str) -> bool:
    return mode not in (*DEFAULT_MODES, *PREDEFINED) and not mode.startswith("container:")


def plan(
    daemon: Daemon, cid: str, name: str, host_config: HostConfig, config: ContainerConfig, networking: Any
) -> list[tuple[Network, Endpoint]]:
    """Create: ``NetworkingConfig`` checked against ``NetworkMode``; the endpoints to record."""
    mode = str(host_config.get("NetworkMode") or "default")
    if networking is not None and not isinstance(networking, dict):
        raise InvalidArgument("NetworkingConfig must be an object")
    wanted = (networking or {}).get("EndpointsConfig") or {}
    if not isinstance(wanted, dict):
        raise InvalidArgument("NetworkingConfig.EndpointsConfig must be an object")
    mac = str(config.get("MacAddress") or host_config.get("MacAddress") or "")
    try:
        return _plan(daemon, cid, name, mode, wanted, mac, config)
    except NoSuchNetwork as exc:
        raise UnknownNetwork(exc.message.removeprefix("network ").removesuffix(" not found")) from None


def _plan(
    daemon: Daemon, cid: str, name: str, mode: str, wanted: dict[str, Any], mac: str, config: ContainerConfig
) -> list[tuple[Network, Endpoint]]:
    planned: list[tuple[Network, Endpoint]] = []
    store = daemon.networks.store
    primary = store.get(mode) if is_user_mode(mode) else None
    names = [primary.name] if primary is not None else []
    names += [key for key in wanted if primary is None or store.find(key) is not primary]
    for key in names:
        settings = wanted.get(key) if key in wanted else wanted.get(primary.id if primary else "", {})
        if key in (*DEFAULT_MODES, *PREDEFINED) or (key == mode and not is_user_mode(mode)):
            wrong = key in DEFAULT_MODES and mode not in DEFAULT_MODES
            if wrong or (key in ("host", "none") and key != mode):
                raise InvalidArgument(f"conflicting options: NetworkMode {mode} and EndpointsConfig.{key}")
            settings = settings or {}
            if settings.get("Aliases") or (settings.get("IPAMConfig") or {}).get("IPv4Address"):
                raise InvalidArgument(
                    "network-scoped aliases and user specified IP addresses are supported "
                    "only on user defined networks"
                )
            if settings.get("MacAddress"):
                mac = str(settings["MacAddress"])
            continue
        if not is_user_mode(mode) and mode not in DEFAULT_MODES:
            raise InvalidArgument(f"container in network mode {mode} cannot be connected to network {key}")
        network = store.get(key)
        endpoint = endpoint_from(network, cid, name, settings)
        if network is primary and mac and not endpoint.mac_config:
            endpoint.mac_config = check_mac(mac)
        planned.append((network, endpoint))
    if mac:
        config["MacAddress"] = check_mac(mac)  # Docker keeps it in Config; the default bridge uses it
    return planned


def record(daemon: Daemon, planned: list[tuple[Network, Endpoint]]) -> None:
    for network, endpoint in planned:
        network.endpoints[endpoint.container_id] = endpoint
        daemon.networks.store.save(network)


def ifnames(daemon: Daemon, container: Container) -> set[str]:
    primary = container.network.get("Ifname") or "eth0"  # another name if it came back after a disconnect
    used = {primary} if container.network.get("Bridge") == daemon.networks.bridge else set()
    if container.network.get("DefaultBridge", {}).get("Ifname"):  # connected to the bridge after create
        used.add(container.network["DefaultBridge"]["Ifname"])
    for network in daemon.networks.store.networks_of(container.id):
        if network.endpoints[container.id].ifname:
            used.add(network.endpoints[container.id].ifname)
    return used


def next_ifname(used: set[str]) -> str:
    n = 0
    while f"eth{n}" in used:
        n += 1
    return f"eth{n}"


def lease(daemon: Daemon, network: Network, endpoint: Endpoint) -> None:
    """Give ``endpoint`` its address (its static one, or a free one) and MAC."""
    address = daemon.networks.store.ipam(network).allocate(endpoint.container_id, endpoint.static_ip)
    endpoint.ip, endpoint.prefixlen, endpoint.gateway = (
        str(address),
        network.network.prefixlen,
        network.gateway,
    )
    endpoint.mac = endpoint.mac_config or netlink.mac_for(address)
    endpoint.endpoint_id = secrets.token_hex(32)


def release(daemon: Daemon, network: Network, endpoint: Endpoint) -> None:
    ipam = daemon.networks.store.ipams.get(network.id)
    if ipam is not None:
        ipam.release(endpoint.container_id)
    endpoint.clear_runtime()


async def plug(daemon: Daemon, container: Container, network: Network, endpoint: Endpoint, pid: int) -> None:
    """The endpoint's veth into the running container (its default route when it has none yet)."""
    endpoint.ifname = next_ifname(ifnames(daemon, container))
    routed = container.network.get("Routed") or network.internal
    endpoint.host_veth = await asyncio.to_thread(
        bridges.plug,
        pid,
        network.bridge,
        endpoint.ifname,
        (endpoint.ip, endpoint.prefixlen),
        endpoint.mac,
        gateway=None if routed else network.gateway,
        isolated=not network.icc,
        link_local=tuple(endpoint.link_local_ips),
    )
    if not routed:
        container.network["Routed"] = network.id


async def allocate(daemon: Daemon, container: Container, mode: str) -> None:
    """Start: addresses on every user network; the primary one described in ``container.network``."""
    store = daemon.networks.store
    if is_user_mode(mode):
        store.get(mode)  # 404 when the network has gone since create
    try:
        for network in store.networks_of(container.id):
            endpoint = network.endpoints[container.id]
            endpoint.name = container.name
            lease(daemon, network, endpoint)
            if is_user_mode(mode) and store.find(mode) is network:
                container.network = {
                    "IPAddress": endpoint.ip,
                    "IPPrefixLen": endpoint.prefixlen,
                    "Gateway": endpoint.gateway,
                    "MacAddress": endpoint.mac,
                    "EndpointID": endpoint.endpoint_id,
                    "NetworkID": network.id,
                    "Bridge": network.bridge,
                }
    except BaseException:
        await detach(daemon, container)
        raise


async def attach(daemon: Daemon, container: Container, pid: int) -> None:
    """After ``runc create``: each user network's veth, in attach order."""
    for network in daemon.networks.store.networks_of(container.id):
        endpoint = network.endpoints[container.id]
        await plug(daemon, container, network, endpoint, pid)
        daemon.networks.store.save(network)
        daemon.networks.store.changed(network.id, container.id)


async def detach(daemon: Daemon, container: Container) -> None:
    """Stop (or a failed start): the addresses go back; the endpoints' configuration stays."""
    for network in daemon.networks.store.networks_of(container.id):
        endpoint = network.endpoints[container.id]
        was_active = endpoint.active
        release(daemon, network, endpoint)
        daemon.networks.store.save(network)
        if was_active:
            daemon.networks.store.changed(network.id, container.id)


def forget(daemon: Daemon, container: Container) -> None:
    """Removal: the container's endpoints go."""
    for network in daemon.networks.store.networks_of(container.id):
        release(daemon, network, network.endpoints.pop(container.id))
        daemon.networks.store.save(network)
        daemon.networks.store.changed(network.id, container.id)


def renamed(daemon: Daemon, container: Container) -> None:
    for network in daemon.networks.store.networks_of(container.id):
        network.endpoints[container.id].name = container.name
        daemon.networks.store.save(network)
        daemon.networks.store.changed(network.id, container.id)


def restore(daemon: Daemon, containers: list[Container]) -> None:
    """Engine start: endpoints of removed containers go, stopped ones lose their addresses."""
    running = {c.id: c for c in containers if c.state.running}
    known = {c.id for c in containers}
    store = daemon.networks.store
    for network in store.networks.values():
        for cid in list(network.endpoints):
            if cid not in known:
                del network.endpoints[cid]
            elif cid not in running:
                network.endpoints[cid].clear_runtime()
        store.ipam(network).keep_only({cid for cid, e in network.endpoints.items() if e.active})
        store.save(network)


def links_of(daemon: Daemon, container: Container) -> list[str]:
    """The ``Links`` of the container's user-network endpoints (``name:alias``), as compose sends them."""
    return [
        link
        for n in daemon.networks.store.networks_of(container.id)
        for link in n.endpoints[container.id].links
    ]


def address_for(daemon: Daemon, target: Container, linker: Container) -> str:
    """``target``'s address as ``linker`` reaches it: on a user network they share, else its primary one."""
    for network in daemon.networks.store.networks_of(linker.id):
        endpoint = network.endpoints.get(target.id)
        if endpoint is not None and endpoint.active:
            return endpoint.ip
    return str(target.network.get("IPAddress") or "")


def settings(daemon: Daemon, container: Container) -> dict[str, EndpointSettings]:
    """``NetworkSettings.Networks`` entries of the user networks."""
    return {
        n.name: n.endpoints[container.id].settings(n.name)
        for n in daemon.networks.store.networks_of(container.id)
    }
