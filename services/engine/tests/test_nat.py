"""The DNAT table of published ports: rule text, and (as root) its life on a bridge of the test's own."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_engine.network.nat import PortNat, elements, from_loopback, routable, ruleset, table


def nft_list(bridge: str) -> str:
    out = subprocess.run(["nft", "list", "table", "ip", table(bridge)], capture_output=True, text=True)
    return out.stdout


def test_ruleset_is_valid_nftables_syntax() -> None:
    check = subprocess.run(
        ["nft", "--check", "-f", "-"], input=ruleset("whx0"), capture_output=True, text=True
    )
    if check.returncode != 0 and "Operation not permitted" in check.stderr:
        pytest.skip("nft --check needs CAP_NET_ADMIN")
    assert check.returncode == 0, check.stderr


def test_ruleset_is_owned_scoped_to_the_bridge_and_guards_loopback() -> None:
    rules = ruleset("whx0")
    assert "table ip wharf_ports_whx0" in rules and "flags owner" in rules
    assert 'oifname "whx0" ip saddr 127.0.0.0/8 ct status dnat' in rules
    assert 'iifname "whx0" ip daddr 127.0.0.0/8 drop' in rules
    assert "hook prerouting priority -300" in rules  # before conntrack and routing


def test_elements_by_host_address() -> None:
    target = ("10.9.9.2", 80)
    assert elements("tcp", "0.0.0.0", 8080, target) == [
        "tcp_any { 8080 : 10.9.9.2 . 80 }",
        "loopback { 10.9.9.2 . tcp . 80 }",
    ]
    assert elements("udp", "127.0.0.1", 53, ("10.9.9.2", 53)) == [
        "udp_at { 127.0.0.1 . 53 : 10.9.9.2 . 53 }",
        "loopback { 10.9.9.2 . udp . 53 }",
    ]
    assert elements("tcp", "10.9.9.1", 8080, target) == ["tcp_at { 10.9.9.1 . 8080 : 10.9.9.2 . 80 }"]


@pytest.mark.parametrize(
    ("proto", "host_ip", "expected"),
    [
        ("tcp", "0.0.0.0", True),
        ("udp", "127.0.0.1", True),
        ("tcp", "::1", False),
        ("tcp", "::", False),
        ("tcp", "localhost", False),
        ("sctp", "0.0.0.0", False),
    ],
)
def test_only_ipv4_tcp_and_udp_are_routable(proto: str, host_ip: str, expected: bool) -> None:
    assert routable(proto, host_ip) is expected


def test_from_loopback() -> None:
    assert from_loopback("0.0.0.0") and from_loopback("127.0.0.1") and from_loopback("127.0.0.53")
    assert not from_loopback("10.9.9.1")


@pytest.fixture
def bridge() -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    name = "wht" + secrets.token_hex(4)
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


def route_localnet(bridge: str) -> str:
    return Path(f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet").read_text().strip()


def test_port_nat_adds_and_removes_with_route_localnet_while_loopback_needs_it(bridge: str) -> None:
    nat = PortNat(bridge)
    try:
        assert nat.add("tcp", "10.9.9.1", 8080, ("10.9.9.2", 80))
        assert route_localnet(bridge) == "0"  # the bridge address alone needs no route_localnet
        assert nat.add("tcp", "127.0.0.1", 8081, ("10.9.9.2", 80))
        assert nat.add("tcp", "0.0.0.0", 8082, ("10.9.9.2", 80))
        assert not nat.add("tcp", "::1", 8083, ("10.9.9.2", 80))
        listed = nft_list(bridge)
        assert "10.9.9.1 . 8080 : 10.9.9.2 . 80" in listed and "8082 : 10.9.9.2 . 80" in listed
        assert route_localnet(bridge) == "1"
        nat.remove("tcp", "127.0.0.1", 8081, ("10.9.9.2", 80))
        assert "10.9.9.2 . tcp . 80" in nft_list(bridge)  # 8082 still needs it
        assert route_localnet(bridge) == "1"
        nat.remove("tcp", "0.0.0.0", 8082, ("10.9.9.2", 80))
        listed = nft_list(bridge)
        assert "10.9.9.2 . tcp . 80" not in listed and "8082" not in listed
        assert route_localnet(bridge) == "0"
    finally:
        nat.close()
    assert nft_list(bridge) == "" and route_localnet(bridge) == "0"


HOLDER = """
import sys, time
from wharf_engine.network.nat import PortNat
nat = PortNat(sys.argv[1])
assert nat.add("tcp", "127.0.0.1", 8081, ("10.9.9.2", 80))
print("ready", flush=True)
time.sleep(30)
"""


def test_killed_owner_leaves_no_table_and_route_localnet_off(bridge: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, bridge], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"ready\n"
        assert nft_list(bridge) and route_localnet(bridge) == "1"
    finally:
        holder.kill()
        holder.wait()
    assert nft_list(bridge) == ""  # the kernel removed the table with its owner's socket
    for _ in range(100):  # the watcher notices its pipe closing
        if route_localnet(bridge) == "0":
            break
        time.sleep(0.02)
    assert route_localnet(bridge) == "0"
