"""NetworkStore: user networks on disk (one JSON file each, written atomically), their address
leases, and the read-only queries other parts of the engine (the embedded DNS) ask of them.

Observers registered with ``on_change`` are called (``callback(network_id, container_id)``) after
every change of a network's endpoints: connect, disconnect, a container's start, stop, rename or
removal, and a network's removal (``container_id`` empty then).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from pathlib import Path

import structlog
from wharf_common.errors import InvalidArgument, NotFound

from wharf_engine.fsutil import write_atomic

from .ipam import IPAM
from .model import Endpoint, Network

log = structlog.get_logger(__name__)

Observer = Callable[[str, str], None]


class NoSuchNetwork(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"network {ref} not found")


class AmbiguousNetwork(InvalidArgument):
    def __init__(self, ref: str) -> None:
        super().__init__(f"network {ref} is ambiguous")


class NetworkStore:
    def __init__(self, root: Path) -> None:
        self.dir = root / "networks"
        self.networks: dict[str, Network] = {}
        self.ipams: dict[str, IPAM] = {}
        self._observers: list[Observer] = []

    def load(self) -> list[Network]:
        self.dir.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.dir.glob("*.json")):
            if path.name.endswith(".ipam.json"):
                continue
            try:
                network = Network.from_json(json.loads(path.read_text()))
            except (OSError, ValueError, TypeError) as exc:
                log.error("network.unreadable", path=str(path), error=str(exc))
                continue
            self._index(network)
        return list(self.networks.values())

    def _index(self, network: Network) -> None:
        self.networks[network.id] = network
        reserved = frozenset(network.aux_addresses.values())
        self.ipams[network.id] = IPAM(
            network.network,
            self.dir / f"{network.id}.ipam.json",
            gateway=ipaddress.IPv4Address(network.gateway),
            ip_range=ipaddress.IPv4Network(network.ip_range) if network.ip_range else None,
            reserved=reserved,
        )

    def add(self, network: Network) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._index(network)
        self.save(network)

    def save(self, network: Network) -> None:
        write_atomic(self.dir / f"{network.id}.json", json.dumps(network.to_json()).encode())

    def remove(self, network: Network) -> None:
        self.networks.pop(network.id, None)
        self.ipams.pop(network.id, None)
        (self.dir / f"{network.id}.json").unlink(missing_ok=True)
        (self.dir / f"{network.id}.ipam.json").unlink(missing_ok=True)
        self.changed(network.id, "")

    def find(self, ref: str) -> Network | None:
        """By full id, then exact name, then unique id prefix (as Docker resolves network references)."""
        if ref in self.networks:
            return self.networks[ref]
        for network in self.networks.values():
            if network.name == ref:
                return network
        found = [n for n in self.networks.values() if n.id.startswith(ref)] if ref else []
        if len(found) > 1:
            raise AmbiguousNetwork(ref)
        return found[0] if found else None

    def get(self, ref: str) -> Network:
        network = self.find(ref)
        if network is None:
            raise NoSuchNetwork(ref)
        return network

    def ipam(self, network: Network) -> IPAM:
        return self.ipams[network.id]

    # -- queries for the rest of the engine ---------------------------------------
    def endpoints_of(self, network_id: str, *, active_only: bool = True) -> list[Endpoint]:
        """The network's endpoints (by default those of running containers), in attach order."""
        network = self.networks.get(network_id)
        if network is None:
            return []
        found = sorted(network.endpoints.values(), key=lambda e: e.order)
        return [e for e in found if e.active or not active_only]

    def networks_of(self, container_id: str) -> list[Network]:
        """The user networks ``container_id`` is attached to (running or not), in attach order."""
        found = [n for n in self.networks.values() if container_id in n.endpoints]
        return sorted(found, key=lambda n: n.endpoints[container_id].order)

    def on_change(self, callback: Observer) -> None:
        self._observers.append(callback)

    def changed(self, network_id: str, container_id: str) -> None:
        for callback in list(self._observers):
            try:
                callback(network_id, container_id)
            except Exception as exc:  # an observer's bug must not break a connect or a stop
                log.error("network.observer_failed", network_id=network_id, error=str(exc))
