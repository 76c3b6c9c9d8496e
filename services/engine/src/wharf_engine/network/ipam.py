"""IPAM: one address per container from the bridge's subnet, never handed out twice, persisted."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from wharf_common.errors import Conflict, InvalidArgument, Unavailable

from wharf_engine.fsutil import write_atomic


class AddressPoolExhausted(Unavailable):
    pass


class AddressInUse(Conflict):
    def __init__(self, address: str) -> None:
        super().__init__(f"Address already in use: {address}")


class AddressOutsideSubnet(InvalidArgument):
    def __init__(self, address: str, subnet: str) -> None:
        super().__init__(
            f"no configured subnet or ip-range contain the IP address {address} (subnet {subnet})"
        )


class IPAM:
    """Addresses of ``subnet`` (from ``ip_range`` when given), never the gateway or ``reserved``."""

    def __init__(
        self,
        subnet: ipaddress.IPv4Network,
        state: Path,
        *,
        gateway: ipaddress.IPv4Address | None = None,
        ip_range: ipaddress.IPv4Network | None = None,
        reserved: frozenset[str] = frozenset(),
    ) -> None:
        self.subnet = subnet
        self.gateway = gateway if gateway is not None else next(subnet.hosts())
        self.ip_range = ip_range or subnet
        self.reserved = reserved
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

    def allocate(self, owner: str, wanted: str = "") -> ipaddress.IPv4Address:
        """``owner``'s address: its lease if it has one, else ``wanted`` (a static address) or a free one."""
        for address, holder in self.leases.items():
            if holder == owner:
                return ipaddress.IPv4Address(address)
        if wanted:
            static = self.check_static(wanted)
            self.leases[str(static)] = owner
            self._save()
            return static
        for candidate in self.ip_range.hosts():
            if candidate in self.subnet and self._free(candidate):
                self.leases[str(candidate)] = owner
                self._save()
                return candidate
        raise AddressPoolExhausted(f"no available IPv4 addresses in {self.subnet}")

    def check_static(self, wanted: str) -> ipaddress.IPv4Address:
        """``wanted`` if it may be given out now (in the subnet, not the gateway, not leased)."""
        try:
            address = ipaddress.IPv4Address(wanted)
        except ValueError:
            raise InvalidArgument(f"invalid IPv4 address: {wanted!r}") from None
        hosts = self.subnet.network_address < address < self.subnet.broadcast_address
        if address not in self.subnet or not hosts:
            raise AddressOutsideSubnet(wanted, str(self.subnet))
        if not self._free(address):
            raise AddressInUse(wanted)
        return address

    def _free(self, address: ipaddress.IPv4Address) -> bool:
        text = str(address)
        return address != self.gateway and text not in self.leases and text not in self.reserved

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
