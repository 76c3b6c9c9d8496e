"""Subnets for new networks: the first of the configured pools' blocks that nothing on the host uses.

A block is skipped when it overlaps a route or an interface address of the host (other engines'
bridges included, whoever made them) or a subnet the engine already uses, as dockerd does with
its ``default-address-pools``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pyroute2 import IPRoute
from wharf_common.errors import Forbidden, InvalidArgument

DEFAULT_POOLS = (
    ("172.17.0.0/16", 16),
    ("172.18.0.0/15", 16),
    ("172.20.0.0/14", 16),
    ("172.24.0.0/14", 16),
    ("172.28.0.0/14", 16),
    ("192.168.0.0/16", 20),
)
"""Docker's default address pools: 172.17-31.x.x/16, then 192.168.x.x/20."""


class PoolOverlap(Forbidden):
    def __init__(self, subnet: str) -> None:
        super().__init__(f"Pool overlaps with other one on this address space ({subnet})")


class PoolsExhausted(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "could not find an available, non-overlapping IPv4 address pool among the defaults "
            "to assign to the network"
        )


@dataclass(frozen=True, slots=True)
class AddressPool:
    base: ipaddress.IPv4Network
    size: int

    @classmethod
    def parse(cls, base: str, size: int) -> AddressPool:
        try:
            network = ipaddress.IPv4Network(base)
        except ValueError as exc:
            raise InvalidArgument(f"invalid address pool {base!r}: {exc}") from None
        if not network.prefixlen <= size <= 30:
            raise InvalidArgument(
                f"invalid address pool {base!r}: size {size} must be /{network.prefixlen}-/30"
            )
        return cls(network, size)

    def blocks(self) -> Iterator[ipaddress.IPv4Network]:
        return self.base.subnets(new_prefix=self.size)


def parse_subnet(value: str) -> ipaddress.IPv4Network:
    """A subnet as given in ``IPAM.Config``; 400 when malformed, IPv6, or with host bits set."""
    if "/" not in value:
        raise InvalidArgument(f"invalid subnet {value!r}: not an IPv4 CIDR")
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid subnet {value!r}: not an IPv4 CIDR") from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise InvalidArgument(f"invalid subnet {value!r}: IPv6 is not supported by this engine (EnableIPv6)")
    if ipaddress.ip_interface(value).ip != network.network_address:
        raise InvalidArgument(f"invalid subnet {value!r}: host bits are set (the network is {network})")
    if network.prefixlen > 30:
        raise InvalidArgument(f"invalid subnet {value!r}: too small for containers (at most /30)")
    return network


def host_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 route's destination and every interface address's network on the host (not 0/0)."""
    found: list[ipaddress.IPv4Network] = []
    with IPRoute() as ipr:
        for addr in ipr.get_addr(family=2):
            found.append(
                ipaddress.IPv4Network(f"{addr.get('IFA_ADDRESS')}/{addr['prefixlen']}", strict=False)
            )
        for route in ipr.get_routes(family=2, table=254):
            dst = route.get("RTA_DST")
            if dst and route["dst_len"] > 0:
                found.append(ipaddress.IPv4Network(f"{dst}/{route['dst_len']}", strict=False))
    return [n for n in found if not n.is_loopback]


def overlaps(subnet: ipaddress.IPv4Network, used: Iterable[ipaddress.IPv4Network]) -> bool:
    return any(subnet.overlaps(other) for other in used)


def choose(pools: Iterable[AddressPool], used: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """The first block of the first pool that overlaps nothing in ``used``."""
    for pool in pools:
        for block in pool.blocks():
            if not overlaps(block, used):
                return block
    raise PoolsExhausted()
