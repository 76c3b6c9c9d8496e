"""IPAM: one address per container from the bridge's subnet, never handed out twice, persisted."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from wharf_common.errors import Unavailable

from wharf_engine.images.store import write_atomic


class AddressPoolExhausted(Unavailable):
    pass


class IPAM:
    def __init__(self, subnet: ipaddress.IPv4Network, state: Path) -> None:
        self.subnet = subnet
        self.gateway = next(subnet.hosts())
        self.state = state
        self.leases: dict[str, str] = {}  # address -> container id
        try:
            loaded = json.loads(state.read_text())
        except (OSError, ValueError):  # none yet, or cut short by a host crash: nothing runs then
            loaded = {}
        if isinstance(loaded, dict):
            self.leases = {str(k): str(v) for k, v in loaded.items()}

    def _save(self) -> None:
        # no fsync: leases matter only while their containers run, which a host crash ends
        # (and the engine's restore keeps only the running containers' leases)
        write_atomic(self.state, json.dumps(self.leases).encode(), durable=False)

    def allocate(self, owner: str) -> ipaddress.IPv4Address:
        for address, holder in self.leases.items():
            if holder == owner:
                return ipaddress.IPv4Address(address)
        for candidate in self.subnet.hosts():
            if candidate != self.gateway and str(candidate) not in self.leases:
                self.leases[str(candidate)] = owner
                self._save()
                return candidate
        raise AddressPoolExhausted(f"no available IPv4 addresses in {self.subnet}")

    def release(self, owner: str) -> None:
        gone = [a for a, holder in self.leases.items() if holder == owner]
        for address in gone:
            del self.leases[address]
        if gone:
            self._save()

    def keep_only(self, owners: set[str]) -> None:
        """At start-up: drop leases of containers that are not running any more."""
        stale = [a for a, holder in self.leases.items() if holder not in owners]
        for address in stale:
            del self.leases[address]
        if stale:
            self._save()
