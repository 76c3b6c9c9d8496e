"""Subnet pools, subnet parsing, static addresses and the isolation ruleset (no host changes)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from wharf_common.errors import Conflict, InvalidArgument
from wharf_engine.network import isolation, pool
from wharf_engine.network.ipam import IPAM
from wharf_engine.network.model import Endpoint, Network

N = ipaddress.IPv4Network


def test_choose_skips_blocks_that_overlap_anything_used() -> None:
    pools = [pool.AddressPool.parse("10.10.0.0/22", 24), pool.AddressPool.parse("10.20.0.0/16", 24)]
    assert pool.choose(pools, []) == N("10.10.0.0/24")
    assert pool.choose(pools, [N("10.10.0.0/23"), N("10.10.2.128/25")]) == N("10.10.3.0/24")
    assert pool.choose(pools, [N("10.10.0.0/22")]) == N("10.20.0.0/24")
    with pytest.raises(pool.PoolsExhausted):
        pool.choose(pools[:1], [N("10.0.0.0/8")])


def test_default_pools_are_dockers() -> None:
    blocks = [b for base, size in pool.DEFAULT_POOLS for b in pool.AddressPool.parse(base, size).blocks()]
    assert blocks[0] == N("172.17.0.0/16") and N("172.31.0.0/16") in blocks
    assert blocks[15] == N("192.168.0.0/20") and len(blocks) == 15 + 16


@pytest.mark.parametrize("bad", ["10.1.2.3", "10.300.0.0/24", "10.0.0.1/24", "fd00::/64", "x", "10.0.0.0/31"])
def test_parse_subnet_refuses_malformed(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        pool.parse_subnet(bad)


def test_pool_size_must_fit_its_base() -> None:
    with pytest.raises(InvalidArgument):
        pool.AddressPool.parse("10.0.0.0/16", 8)


def test_static_address_checks(tmp_path: Path) -> None:
    ipam = IPAM(
        N("10.5.0.0/24"), tmp_path / "l.json", ip_range=N("10.5.0.128/25"), reserved=frozenset({"10.5.0.9"})
    )
    assert str(ipam.allocate("a")) == "10.5.0.129"  # dynamic addresses come from the range
    assert str(ipam.allocate("b", "10.5.0.7")) == "10.5.0.7"  # a static one may be outside it
    for taken in ("10.5.0.7", "10.5.0.1", "10.5.0.9", "10.5.0.129"):
        with pytest.raises(Conflict):
            ipam.allocate("c", taken)
    for outside in ("10.6.0.1", "10.5.0.0", "10.5.0.255", "nope"):
        with pytest.raises(InvalidArgument):
            ipam.allocate("c", outside)
    assert "c" not in ipam.leases.values()


def test_isolation_ruleset_drops_between_bridges_and_out_of_internal() -> None:
    rules = isolation.ruleset(
        "wh0",
        [
            isolation.BridgeRule("wh0"),
            isolation.BridgeRule("br-a"),
            isolation.BridgeRule("br-b", internal=True),
        ],
    )
    assert 'iifname "br-a" oifname { "wh0", "br-b" } drop' in rules
    assert 'iifname "br-b" oifname != "br-b" drop' in rules
    assert 'oifname "br-b" iifname != "br-b" drop' in rules
    assert (
        "flags owner" not in rules and rules.count("table ip wharf_isolation_wh0") == 3
    )  # outlives the engine


def test_network_record_round_trips_and_shows_dockers_shape() -> None:
    network = Network(
        id="a" * 64,
        name="n",
        created="t",
        bridge="br-aaaa",
        subnet="10.9.0.0/24",
        gateway="10.9.0.1",
        labels={"k": "v"},
    )
    endpoint = Endpoint(
        network_id=network.id,
        container_id="c" * 64,
        name="web",
        aliases=["w"],
        ip="10.9.0.2",
        prefixlen=24,
        mac="02:42:0a:09:00:02",
        endpoint_id="e" * 64,
    )
    network.endpoints[endpoint.container_id] = endpoint
    again = Network.from_json(network.to_json())
    assert again == network
    api = again.to_api(containers=True)
    config = [{"Subnet": "10.9.0.0/24", "Gateway": "10.9.0.1"}]
    assert api["IPAM"] == {"Driver": "default", "Options": {}, "Config": config}
    attached = {
        "Name": "web",
        "EndpointID": "e" * 64,
        "MacAddress": "02:42:0a:09:00:02",
        "IPv4Address": "10.9.0.2/24",
        "IPv6Address": "",
    }
    assert api["Containers"] == {"c" * 64: attached}
    assert endpoint.dns_names == ["web", "w", "c" * 12]
    assert again.to_api(containers=False)["Containers"] == {}
