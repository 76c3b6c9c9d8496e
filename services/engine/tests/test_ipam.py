"""IPAM on a real state file: no address twice, leases kept across engines, a broken file survived."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from wharf_engine.network.ipam import IPAM, AddressPoolExhausted

SUBNET = ipaddress.IPv4Network("10.9.8.0/29")  # gateway .1, then .2-.6


def test_addresses_are_unique_freed_and_kept_across_restarts(tmp_path: Path) -> None:
    ipam = IPAM(SUBNET, tmp_path / "ipam.json")
    a, b = ipam.allocate("a"), ipam.allocate("b")
    assert a != b and ipam.gateway not in (a, b)
    assert ipam.allocate("a") == a  # the same owner keeps its address
    ipam.release("a")
    again = IPAM(SUBNET, tmp_path / "ipam.json")  # the engine restarted
    assert again.leases == {str(b): "b"}
    assert again.allocate("c") == a


def test_the_pool_runs_out_with_a_clear_error(tmp_path: Path) -> None:
    ipam = IPAM(SUBNET, tmp_path / "ipam.json")
    for owner in "abcde":
        ipam.allocate(owner)
    with pytest.raises(AddressPoolExhausted, match="no available IPv4 addresses"):
        ipam.allocate("f")


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]"])
def test_a_state_file_a_host_crash_cut_short_means_no_leases(tmp_path: Path, content: str) -> None:
    (tmp_path / "ipam.json").write_text(content)
    ipam = IPAM(SUBNET, tmp_path / "ipam.json")
    assert ipam.leases == {}
    assert ipam.allocate("a") == ipaddress.IPv4Address("10.9.8.2")
