"""NetworkConnect and NetworkDisconnect: an endpoint recorded or dropped, hot-plugged into a running
container."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import structlog
from wharf_common.errors import Forbidden, InvalidArgument

from wharf_engine.containers.container import Container
from wharf_engine.network import bridges

from . import endpoints
from . import network as default_bridge
from .networks import find_predefined

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)


def _predefined(daemon: Daemon, ref: str, verb: str) -> bool:
    """Whether ``ref`` is the default bridge (connect and disconnect work there); host and none refuse."""
    name = find_predefined(daemon, ref)
    if name in ("host", "none"):
        raise Forbidden(f"container cannot be {verb} the {name} network")
    return name == "bridge"


def _check_mode(container: Container) -> None:
    mode = default_bridge.mode(container)
    if not endpoints.is_user_mode(mode) and mode != "bridge":
        raise Forbidden(
            f"container sharing network namespace with another container or host ({mode}) "
            "cannot be connected to any other network"
        )


async def _bridge_connect(daemon: Daemon, container: Container, config: dict[str, Any] | None) -> None:
    """The default bridge after create: a second address there for a container of a user network, or
    its address back for one that was disconnected from it."""
    config = config or {}
    if not isinstance(config, dict):
        raise InvalidArgument("EndpointConfig must be an object")
    if config.get("Aliases") or (config.get("IPAMConfig") or {}).get("IPv4Address"):
        raise InvalidArgument(
            "network-scoped aliases and user specified IP addresses are supported "
            "only on user defined networks"
        )
    async with container.lock:
        if default_bridge.on_bridge(container):
            raise Forbidden(f"endpoint with name {container.name} already exists in network bridge")
        if container.state.running and container.state.pid:
            await default_bridge.connect_bridge(daemon, container, container.state.pid)
        container.bridge_connected = True
        container.save()


async def _bridge_disconnect(daemon: Daemon, container: Container) -> None:
    async with container.lock:
        if not default_bridge.on_bridge(container):
            raise Forbidden(f"container {container.id} is not connected to network bridge")
        if container.state.running:
            second = container.network.pop("DefaultBridge", None)
            veth = (second or container.network).get("EndpointID")
            if veth:
                await asyncio.to_thread(bridges.delete_link, veth)
            if second is None:  # its primary endpoint: ports and address go
                await default_bridge.detach_primary(daemon, container)
            daemon.networks.ipam.release(container.id)
            if container.network.get("Routed") == "bridge":
                container.network.pop("Routed", None)
        container.bridge_connected = False
        container.save()


def _emit(daemon: Daemon, action: str, network_id: str, name: str, container: Container) -> None:
    daemon.events.emit(
        "network", action, network_id, {"name": name, "type": "bridge", "container": container.id}
    )
    event = "network.connected" if action == "connect" else "network.disconnected"
    log.info(event, network_id=network_id, container_id=container.id)


async def network_connect(
    daemon: Daemon, ref: str, container_ref: str, config: dict[str, Any] | None
) -> None:
    if _predefined(daemon, ref, "connected to"):
        container = daemon.containers.get(container_ref)
        _check_mode(container)
        await _bridge_connect(daemon, container, config)
        _emit(daemon, "connect", default_bridge.predefined_id(daemon, "bridge"), "bridge", container)
        return
    network = daemon.networks.store.get(ref)
    container = daemon.containers.get(container_ref)
    _check_mode(container)
    async with container.lock:
        if container.id in network.endpoints:
            raise Forbidden(f"endpoint with name {container.name} already exists in network {network.name}")
        endpoint = endpoints.endpoint_from(network, container.id, container.name, config)
        if container.state.running and container.state.pid:
            endpoints.lease(daemon, network, endpoint)
            network.endpoints[container.id] = endpoint
            try:
                await endpoints.plug(daemon, container, network, endpoint, container.state.pid)
            except BaseException:
                network.endpoints.pop(container.id, None)
                endpoints.release(daemon, network, endpoint)
                raise
            container.save()
        network.endpoints[container.id] = endpoint
        daemon.networks.store.save(network)
    daemon.networks.store.changed(network.id, container.id)
    daemon.events.emit(
        "network", "connect", network.id, {"name": network.name, "type": "bridge", "container": container.id}
    )
    log.info("network.connected", network_id=network.id, container_id=container.id, ip=endpoint.ip)


async def network_disconnect(daemon: Daemon, ref: str, container_ref: str, *, force: bool) -> None:
    if _predefined(daemon, ref, "disconnected from"):
        container = daemon.containers.get(container_ref)
        await _bridge_disconnect(daemon, container)
        _emit(daemon, "disconnect", default_bridge.predefined_id(daemon, "bridge"), "bridge", container)
        return
    network = daemon.networks.store.get(ref)
    container = daemon.containers.get(container_ref)
    async with container.lock:
        endpoint = network.endpoints.get(container.id)
        if endpoint is None:
            raise Forbidden(f"container {container.id} is not connected to network {network.name}")
        if endpoint.host_veth:
            await asyncio.to_thread(bridges.delete_link, endpoint.host_veth)
        endpoints.release(daemon, network, endpoint)
        del network.endpoints[container.id]
        daemon.networks.store.save(network)
        if container.network.get("NetworkID") == network.id:  # its primary network: ports and address go
            await default_bridge.detach_primary(daemon, container)
        if container.network.get("Routed") == network.id:
            container.network.pop("Routed", None)
        container.save()
    daemon.networks.store.changed(network.id, container.id)
    daemon.events.emit(
        "network",
        "disconnect",
        network.id,
        {"name": network.name, "type": "bridge", "container": container.id},
    )
    log.info("network.disconnected", network_id=network.id, container_id=container.id, force=force)
