"""Netlink work with pyroute2: the bridge on the host, a veth per container configured in its netns.

A container's network namespace is the one runc creates; we configure it from a worker thread
that enters it with setns(2) (a netlink socket opened there belongs to it), so nothing is
named in /var/run/netns and the namespace, its veth end included, goes with the container.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import secrets
from dataclasses import dataclass

from pyroute2 import IPRoute
from wharf_common.errors import SystemFault

from .rtnl import Rtnl

CLONE_NEWNET = 0x40000000
LOOPBACK_INDEX = 1  # lo is interface 1 in every network namespace
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True, slots=True)
class Endpoint:
    ip: str
    prefixlen: int
    gateway: str
    mac: str
    host_veth: str


def ensure_bridge(name: str, gateway: ipaddress.IPv4Address, prefixlen: int) -> None:
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            # a MAC of its own, set: a bridge whose MAC was never set takes its lowest port's, so it
            # changes as containers come and go, and a running container's ARP entry for its gateway
            # then names a MAC nobody answers for (its connections out stall in SYN_SENT)
            ipr.link("add", ifname=name, kind="bridge", address=mac_for(gateway))
            found = ipr.link_lookup(ifname=name)
        else:  # an earlier engine's bridge: its MAC kept as it is now, but set, so it stays
            current = ipr.get_links(found[0])[0].get_attr("IFLA_ADDRESS")
            ipr.link("set", index=found[0], address=current)
        index = found[0]
        addresses = {a.get("address") for a in ipr.get_addr(index=index)}
        if str(gateway) not in addresses:
            ipr.addr("add", index=index, address=str(gateway), prefixlen=prefixlen)
        ipr.link("set", index=index, state="up")


def mac_for(ip: ipaddress.IPv4Address) -> str:
    """Docker's scheme: 02:42 then the four address bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ip.packed)


def connect(
    pid: int,
    bridge: str,
    ip: ipaddress.IPv4Address,
    prefixlen: int,
    gateway: str,
    *,
    isolated: bool = False,
    mac: str | None = None,
) -> Endpoint:
    """A veth from ``bridge`` into the netns of process ``pid`` as eth0 (blocking: run in a thread)."""
    host_name = "veth" + secrets.token_hex(4)
    mac = mac or mac_for(ip)
    with Rtnl() as host:
        # one request: the peer is born inside the container's namespace with its MAC (moving a
        # device there afterwards is slow: the kernel re-registers it), the host end on the bridge and up
        host.add_veth(host_name, host.link_index(bridge), "eth0", pid, mac)
    if isolated:  # --icc=false: isolated bridge ports cannot reach each other, only the host
        with IPRoute() as ipr:
            try:
                ipr.brport("set", index=ipr.link("get", ifname=host_name)[0]["index"], isolated=1)
            except BaseException:
                ipr.link("del", ifname=host_name)
                raise
    with _in_netns(pid) as ns:
        index = ns.link_index("eth0")
        ns.add_address(index, str(ip), prefixlen)
        ns.set_up(index)
        ns.set_up(LOOPBACK_INDEX)
        ns.add_default_route(gateway)
    return Endpoint(ip=str(ip), prefixlen=prefixlen, gateway=gateway, mac=mac, host_veth=host_name)


def loopback_up(pid: int) -> None:
    with _in_netns(pid) as ns:
        ns.set_up(LOOPBACK_INDEX)


def _in_netns(pid: int) -> Rtnl:
    """An rtnetlink socket opened inside the network namespace of ``pid`` (this thread goes back at once)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise SystemFault(f"setns into the network of {pid}: {os.strerror(ctypes.get_errno())}")
        try:
            return Rtnl()
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:  # a thread left in the container would be a disaster
                os._exit(70)
    finally:
        os.close(own)
        os.close(target)
