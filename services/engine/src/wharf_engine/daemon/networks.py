"""Network operations: NetworkCreate, NetworkList, NetworkInspect, NetworkDelete, NetworkPrune.

Connect and disconnect live in ``network_connect.py``; what a container's start, stop, rename and
removal do to its endpoints lives in ``endpoints.py``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from wharf_common.errors import Conflict, Forbidden, InvalidArgument, NotFound

from wharf_engine.containers.container import Container, now_rfc3339
from wharf_engine.network import bridges, masquerade, pool
from wharf_engine.network.isolation import BridgeRule
from wharf_engine.network.model import PREDEFINED, Network
from wharf_engine.network.store import NoSuchNetwork

from . import discovery, endpoints
from . import network as default_bridge

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)

NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
KNOWN_OPTIONS = {
    "com.docker.network.bridge.name",
    "com.docker.network.bridge.enable_icc",
    "com.docker.network.bridge.enable_ip_masquerade",
    "com.docker.network.driver.mtu",
}
LIST_FILTERS = {"name", "id", "driver", "label", "type", "dangling", "scope"}


def _predefined(daemon: Daemon, name: str, *, containers: bool) -> dict[str, Any]:
    nets = daemon.networks
    driver = {"bridge": "bridge", "host": "host", "none": "null"}[name]
    config: list[dict[str, str]] = []
    options: dict[str, str] = {}
    attached: dict[str, Any] = {}
    if name == "bridge":
        config = [{"Subnet": str(nets.subnet), "Gateway": str(nets.ipam.gateway)}]
        options = {
            "com.docker.network.bridge.default_bridge": "true",
            "com.docker.network.bridge.enable_icc": str(nets.icc).lower(),
            "com.docker.network.bridge.enable_ip_masquerade": str(nets.masquerade).lower(),
            "com.docker.network.bridge.name": nets.bridge,
        }
    if containers:
        for c in daemon.containers.all():
            net = default_bridge.bridge_entry(c) if name == "bridge" else c.network
            ip = net.get("IPAddress")
            on = default_bridge.on_bridge(c) if name == "bridge" else default_bridge.mode(c) == name
            if c.state.running and on and (ip or name != "bridge"):
                attached[c.id] = {
                    "Name": c.name,
                    "EndpointID": net.get("EndpointID", ""),
                    "MacAddress": net.get("MacAddress", ""),
                    "IPv4Address": f"{ip}/{net.get('IPPrefixLen')}" if ip else "",
                    "IPv6Address": "",
                }
    return {
        "Name": name,
        "Id": default_bridge.predefined_id(daemon, name),
        "Created": _engine_created(daemon),
        "Scope": "local",
        "Driver": driver,
        "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": None, "Config": config},
        "Internal": False,
        "Attachable": False,
        "Ingress": False,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": attached,
        "Options": options,
        "Labels": {},
    }


def _engine_created(daemon: Daemon) -> str:
    """When the predefined networks came to be: when the engine's data root got its id."""
    try:
        stamp = (daemon.settings.data_root / "engine-id").stat().st_mtime
    except OSError:
        return now_rfc3339()
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def find_predefined(daemon: Daemon, ref: str) -> str | None:
    for name in PREDEFINED:
        if ref == name or (
            len(ref) >= 1 and default_bridge.predefined_id(daemon, name).startswith(ref) and len(ref) >= 12
        ):
            return name
    if ref == "default":
        return "bridge"
    return None


def network_inspect(daemon: Daemon, ref: str) -> dict[str, Any]:
    name = find_predefined(daemon, ref)
    if name is not None:
        return _predefined(daemon, name, containers=True)
    return daemon.networks.store.get(ref).to_api(containers=True)


def _matches(net: dict[str, Any], filters: dict[str, list[str]]) -> bool:
    for key, wanted in filters.items():
        if not wanted:
            continue
        if key == "name" and not any(w in net["Name"] for w in wanted):
            return False
        if key == "id" and not any(w in net["Id"] for w in wanted):
            return False
        if key == "driver" and net["Driver"] not in wanted:
            return False
        if key == "scope" and net["Scope"] not in wanted:
            return False
        if key == "type":
            kind = "builtin" if net["Name"] in PREDEFINED else "custom"
            if kind not in wanted:
                return False
        if key == "label":
            labels = net["Labels"] or {}
            for item in wanted:
                k, sep, v = item.partition("=")
                if k not in labels or (sep and labels[k] != v):
                    return False
    return True


def _check_filters(filters: dict[str, list[str]]) -> None:
    for key, values in filters.items():
        if key not in LIST_FILTERS:
            raise InvalidArgument(f"invalid filter '{key}'")
        if key == "type" and any(v not in ("custom", "builtin") for v in values):
            raise InvalidArgument(f"invalid filter: 'type'='{values[0]}'")
        if key == "dangling" and any(v.lower() not in ("true", "false", "1", "0") for v in values):
            raise InvalidArgument(f"invalid filter 'dangling={values[0]}'")


def network_list(daemon: Daemon, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
    _check_filters(filters)
    found = [_predefined(daemon, name, containers=False) for name in PREDEFINED]
    found += [n.to_api(containers=False) for n in daemon.networks.store.networks.values()]
    out = [n for n in found if _matches(n, filters)]
    dangling = filters.get("dangling")
    if dangling:
        want = dangling[0].lower() in ("true", "1")
        in_use = {
            n.id
            for n in daemon.networks.store.networks.values()
            if any(e.active for e in n.endpoints.values())
        }
        out = [n for n in out if n["Name"] not in PREDEFINED and (n["Id"] not in in_use) == want]
    return out


def _options(body: dict[str, Any]) -> dict[str, str]:
    options = {str(k): str(v) for k, v in (body.get("Options") or {}).items()}
    unknown = sorted(set(options) - KNOWN_OPTIONS)
    if unknown:
        raise InvalidArgument(f"network option {unknown[0]} is not supported by this engine (Options)")
    mtu = options.get("com.docker.network.driver.mtu")
    if mtu is not None and (not mtu.isdigit() or not 68 <= int(mtu) <= 65535):
        raise InvalidArgument(f"invalid MTU {mtu!r} (com.docker.network.driver.mtu)")
    for key in ("com.docker.network.bridge.enable_icc", "com.docker.network.bridge.enable_ip_masquerade"):
        if key in options and options[key].lower() not in ("true", "false"):
            raise InvalidArgument(f"invalid value {options[key]!r} for {key}: true or false")
    return options


def _address(value: Any, subnet: ipaddress.IPv4Network, what: str) -> str:
    try:
        address = ipaddress.IPv4Address(str(value))
    except ValueError:
        raise InvalidArgument(f"invalid {what} {value!r}: not an IPv4 address") from None
    if address not in subnet or address in (subnet.network_address, subnet.broadcast_address):
        raise InvalidArgument(f"{what} {address} is not in subnet {subnet}")
    return str(address)


def _ipam(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    ipam = body.get("IPAM") or {}
    if not isinstance(ipam, dict):
        raise InvalidArgument("IPAM must be an object")
    if (ipam.get("Driver") or "default") != "default":
        raise NotFound(f'plugin "{ipam["Driver"]}" not found')
    configs = ipam.get("Config") or []
    if not isinstance(configs, list) or len(configs) > 1 or not all(isinstance(c, dict) for c in configs):
        raise InvalidArgument("IPAM.Config: this engine supports one IPv4 subnet per network")
    options = {str(k): str(v) for k, v in (ipam.get("Options") or {}).items()}
    return (configs[0] if configs else {}), options


def _used_subnets(daemon: Daemon) -> list[ipaddress.IPv4Network]:
    return [daemon.networks.subnet, *(n.network for n in daemon.networks.store.networks.values())]


async def network_create(daemon: Daemon, body: dict[str, Any]) -> dict[str, Any]:
    name = str(body.get("Name") or "")
    if not NAME.match(name):
        raise InvalidArgument(f"invalid network name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    driver = str(body.get("Driver") or "bridge")
    if driver in ("host", "null"):
        raise Forbidden(f'only one instance of "{driver}" network is allowed')
    if driver != "bridge":
        raise NotFound(f'plugin "{driver}" not found')
    if body.get("EnableIPv6"):
        raise InvalidArgument("IPv6 networks are not supported by this engine (EnableIPv6)")
    if body.get("Ingress") or body.get("ConfigOnly") or (body.get("ConfigFrom") or {}).get("Network"):
        raise InvalidArgument(
            "swarm networks (Ingress, ConfigOnly, ConfigFrom) are not supported by this engine"
        )
    options = _options(body)
    config, ipam_options = _ipam(body)
    labels = {str(k): str(v) for k, v in (body.get("Labels") or {}).items()}
    async with daemon.networks.lock:
        if name in PREDEFINED or any(n.name == name for n in daemon.networks.store.networks.values()):
            raise Conflict(f"network with name {name} already exists")
        used = await asyncio.to_thread(pool.host_networks)
        if config.get("Subnet"):
            subnet = pool.parse_subnet(str(config["Subnet"]))
            if pool.overlaps(subnet, [*used, *_used_subnets(daemon)]):
                raise pool.PoolOverlap(str(subnet))
        elif config.get("IPRange") or config.get("Gateway"):
            raise InvalidArgument("IPAM.Config: IPRange and Gateway need a Subnet")
        else:
            subnet = pool.choose(daemon.networks.pools, [*used, *_used_subnets(daemon)])
        gateway = (
            _address(config["Gateway"], subnet, "gateway")
            if config.get("Gateway")
            else str(next(subnet.hosts()))
        )
        ip_range = ""
        if config.get("IPRange"):
            found = pool.parse_subnet(str(config["IPRange"]))
            if not found.subnet_of(subnet):
                raise InvalidArgument(f"IPRange {found} is not within subnet {subnet}")
            ip_range = str(found)
        aux = {
            str(k): _address(v, subnet, "auxiliary address")
            for k, v in (config.get("AuxiliaryAddresses") or {}).items()
        }
        network_id = secrets.token_hex(32)
        bridge = options.get("com.docker.network.bridge.name") or f"br-{network_id[:12]}"
        bridges.check_ifname(bridge)
        if bridge == daemon.networks.bridge or await asyncio.to_thread(bridges.exists, bridge):
            raise bridges.BridgeNameInUse(bridge)
        network = Network(
            id=network_id,
            name=name,
            created=now_rfc3339(),
            bridge=bridge,
            subnet=str(subnet),
            gateway=gateway,
            ip_range=ip_range,
            internal=bool(body.get("Internal")),
            attachable=bool(body.get("Attachable")),
            options=options,
            labels=labels,
            aux_addresses=aux,
            ipam_options=ipam_options,
            subnet_given=bool(config.get("Subnet")),
        )
        try:
            await bring_up(daemon, network)
            daemon.networks.store.add(network)
            await apply_isolation(daemon)
        except BaseException:
            daemon.networks.store.remove(network)
            await tear_down(daemon, network)
            raise
    daemon.events.emit("network", "create", network_id, {"name": name, "type": "bridge"})
    log.info("network.created", network_id=network_id, name=name, bridge=bridge, subnet=str(subnet))
    return {"Id": network_id, "Warning": ""}


async def bring_up(daemon: Daemon, network: Network) -> None:
    """The network's bridge (and outbound NAT, if the engine does that), at create and engine start."""
    mtu = network.options.get("com.docker.network.driver.mtu")
    prefixlen = network.network.prefixlen
    await asyncio.to_thread(
        bridges.create_bridge, network.bridge, network.gateway, prefixlen, int(mtu or 0) or None
    )
    masq = network.options.get("com.docker.network.bridge.enable_ip_masquerade", "true").lower() == "true"
    if daemon.networks.masquerade and masq and not network.internal:
        await asyncio.to_thread(masquerade.enable, network.bridge, network.subnet)
    await discovery.network_up(daemon, network)


async def tear_down(daemon: Daemon, network: Network) -> None:
    await discovery.network_down(daemon, network)
    nat = daemon.networks.nats.pop(network.bridge, None)
    if nat is not None:
        await asyncio.to_thread(nat.close)
    if daemon.networks.masquerade:
        await asyncio.to_thread(masquerade.disable, network.bridge)
    await asyncio.to_thread(bridges.delete_link, network.bridge)


async def apply_isolation(daemon: Daemon) -> None:
    rules = [BridgeRule(n.bridge, n.internal) for n in daemon.networks.store.networks.values()]
    if rules:
        await asyncio.to_thread(daemon.networks.isolation.apply, rules)
    else:  # no user network: no table
        await asyncio.to_thread(daemon.networks.isolation.remove)


async def restore(daemon: Daemon, containers: list[Container]) -> None:
    """Engine start: networks from disk, their bridges (after a reboot), isolation, endpoints settled."""
    found = daemon.networks.store.load()
    endpoints.restore(daemon, containers)
    for network in found:
        try:
            await bring_up(daemon, network)
        except Exception as exc:  # one broken network must not keep the engine down
            log.error("network.restore_failed", network_id=network.id, error=str(exc))
        daemon.networks.nat_for(network.bridge).recover()
    await apply_isolation(daemon)


async def network_remove(daemon: Daemon, ref: str) -> None:
    name = find_predefined(daemon, ref)
    if name is not None:
        raise Forbidden(f"{name} is a pre-defined network and cannot be removed")
    async with daemon.networks.lock:
        network = daemon.networks.store.get(ref)
        await _remove(daemon, network)


async def _remove(daemon: Daemon, network: Network) -> None:
    if any(e.active for e in network.endpoints.values()):
        raise Conflict(
            f"error while removing network: network {network.name} id {network.id} has active endpoints"
        )
    daemon.networks.store.remove(network)
    await tear_down(daemon, network)
    await apply_isolation(daemon)
    daemon.events.emit("network", "destroy", network.id, {"name": network.name, "type": "bridge"})
    log.info("network.removed", network_id=network.id, name=network.name)


async def network_prune(daemon: Daemon, filters: dict[str, list[str]]) -> dict[str, Any]:
    for key in filters:
        if key not in ("label", "label!", "until"):
            raise InvalidArgument(f"invalid filter '{key}'")
    if filters.get("until"):
        raise InvalidArgument("the 'until' filter is not supported by this engine")
    deleted: list[str] = []
    async with daemon.networks.lock:
        for network in list(daemon.networks.store.networks.values()):
            api = network.to_api(containers=False)
            if not _matches(api, {"label": filters.get("label", [])}):
                continue
            if any(_matches(api, {"label": [item]}) for item in filters.get("label!", [])):
                continue
            if any(e.active for e in network.endpoints.values()):
                continue
            await _remove(daemon, network)
            deleted.append(network.name)
    return {"NetworksDeleted": deleted or None}


__all__ = [
    "NoSuchNetwork",
    "network_create",
    "network_inspect",
    "network_list",
    "network_prune",
    "network_remove",
]
