"""NetworkConnect and NetworkDisconnect: an endpoint recorded or dropped, hot-plugged into a running
container."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import structlog
from wharf_common.errors import Forbidden, InvalidArgument

from wharf_engine.network import bridges

from . import endpoints
from . import network as default_bridge
from .networks import find_predefined

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)


def _refuse_predefined(daemon: Daemon, ref: str, verb: str) -> None:
    name = find_predefined(daemon, ref)
    if name is None:
        return
    if name in ("host", "none"):
        raise Forbidden(f"container cannot be {verb} the {name} network")
    raise InvalidArgument(f"this engine cannot {verb.split()[0]} a container to or from the default bridge "
                          "after create: use --network bridge at create")  # fmt: skip


async def network_connect(
    daemon: Daemon, ref: str, container_ref: str, config: dict[str, Any] | None
) -> None:
    _refuse_predefined(daemon, ref, "connected to")
    network = daemon.networks.store.get(ref)
    container = daemon.containers.get(container_ref)
    mode = default_bridge.mode(container)
    if not endpoints.is_user_mode(mode) and mode != "bridge":
        raise Forbidden(f"container sharing network namespace with another container or host ({mode}) "
                        "cannot be connected to any other network")  # fmt: skip
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
    daemon.events.emit("network", "connect", network.id,
                       {"name": network.name, "type": "bridge", "container": container.id})  # fmt: skip
    log.info("network.connected", network_id=network.id, container_id=container.id, ip=endpoint.ip)


async def network_disconnect(daemon: Daemon, ref: str, container_ref: str, *, force: bool) -> None:
    _refuse_predefined(daemon, ref, "disconnected from")
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
    daemon.events.emit("network", "disconnect", network.id,
                       {"name": network.name, "type": "bridge", "container": container.id})  # fmt: skip
    log.info("network.disconnected", network_id=network.id, container_id=container.id, force=force)
