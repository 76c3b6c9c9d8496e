"""The engine's rtnetlink requests against the real kernel: a veth into a real network namespace."""

from __future__ import annotations

import errno
import ipaddress
import os
import secrets
import subprocess
from collections.abc import Iterator

import pytest
from pyroute2 import IPRoute
from wharf_engine.network import netlink
from wharf_engine.network.rtnl import Rtnl

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture
def bridge() -> Iterator[str]:
    name = f"wht{secrets.token_hex(3)}"
    netlink.ensure_bridge(name, ipaddress.IPv4Address("10.254.77.1"), 24)
    yield name
    with IPRoute() as ipr:
        ipr.link("del", ifname=name)


def in_netns(pid: int, *argv: str) -> str:
    return subprocess.run(
        ["nsenter", "-t", str(pid), "-n", *argv], capture_output=True, text=True, check=True
    ).stdout


def test_connect_wires_eth0_into_the_namespace(bridge: str) -> None:
    with subprocess.Popen(["unshare", "--net", "sleep", "30"]) as holder:
        try:
            subprocess.run(["sleep", "0.2"], check=True)  # unshare has exec'd sleep in its namespace
            ip = ipaddress.IPv4Address("10.254.77.9")
            endpoint = netlink.connect(holder.pid, bridge, ip, 24, "10.254.77.1")
            addr = in_netns(holder.pid, "ip", "-o", "addr", "show", "eth0")
            assert "inet 10.254.77.9/24" in addr
            link = in_netns(holder.pid, "ip", "-o", "link", "show", "eth0")
            assert "02:42:0a:fe:4d:09" in link and ",UP" in link
            assert "UP" in in_netns(holder.pid, "ip", "-o", "link", "show", "lo").split(">")[0]
            assert in_netns(holder.pid, "ip", "route", "show", "default").startswith(
                "default via 10.254.77.1"
            )
            host = subprocess.run(
                ["ip", "-o", "link", "show", endpoint.host_veth], capture_output=True, text=True
            )
            assert f"master {bridge}" in host.stdout
        finally:
            holder.kill()


def test_refusals_are_oserrors_with_the_kernels_errno() -> None:
    with Rtnl() as rtnl:
        with pytest.raises(OSError) as missing:
            rtnl.link_index(f"nosuch{secrets.token_hex(3)}")
        assert missing.value.errno == errno.ENODEV
        with pytest.raises(OSError) as bad_index:
            rtnl.set_up(2**31 - 1)
        assert bad_index.value.errno == errno.ENODEV
        assert rtnl.link_index("lo") == netlink.LOOPBACK_INDEX  # and the socket still answers
