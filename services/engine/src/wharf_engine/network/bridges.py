"""Links of user networks (blocking, pyroute2: call from a thread): bridges, and veths plugged into
running containers, hot (``network connect``) or at start, each as the next ``ethN``."""

from __future__ import annotations

import errno
import ipaddress
import secrets

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError
from wharf_common.errors import Conflict, InvalidArgument

from .netlink import LOOPBACK_INDEX, _in_netns, ensure_bridge
from .rtnl import Rtnl

IFNAME_MAX = 15


class BridgeNameInUse(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"bridge name {name} is already in use on this host")


def check_ifname(name: str) -> None:
    if not name or len(name) > IFNAME_MAX or "/" in name or any(c.isspace() for c in name):
        raise InvalidArgument(f"invalid bridge name {name!r} (com.docker.network.bridge.name)")


def exists(name: str) -> bool:
    with IPRoute() as ipr:
        return bool(ipr.link_lookup(ifname=name))


def create_bridge(name: str, gateway: str, prefixlen: int, mtu: int | None = None) -> None:
    """The bridge up with the gateway's address (again after a host reboot; a no-op when it is there)."""
    ensure_bridge(name, ipaddress.IPv4Address(gateway), prefixlen)
    if mtu:
        with IPRoute() as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname=name)[0], mtu=mtu)


def delete_link(name: str) -> None:
    """Remove ``name`` (a bridge, or a veth's host end: its peer goes with it); gone already is fine."""
    with IPRoute() as ipr:
        try:
            ipr.link("del", ifname=name)
        except NetlinkError as exc:
            if exc.code not in (errno.ENODEV, errno.EINVAL):
                raise


def plug(
    pid: int,
    bridge: str,
    ifname: str,
    address: tuple[str, int],
    mac: str,
    *,
    gateway: str | None,
    isolated: bool = False,
    link_local: tuple[str, ...] = (),
) -> str:
    """A veth from ``bridge`` into the netns of ``pid`` as ``ifname``; returns the host end's name.

    ``gateway``: also the container's default route through it. Nothing stays if a step fails.
    """
    host_name = "veth" + secrets.token_hex(4)
    with Rtnl() as host:
        host.add_veth(host_name, host.link_index(bridge), ifname, pid, mac)
    try:
        if isolated:  # enable_icc=false: isolated bridge ports reach only the host
            with IPRoute() as ipr:
                ipr.brport("set", index=ipr.link("get", ifname=host_name)[0]["index"], isolated=1)
        with _in_netns(pid) as ns:
            index = ns.link_index(ifname)
            ns.add_address(index, address[0], address[1])
            for extra in link_local:  # IPAMConfig.LinkLocalIPs: 169.254.0.0/16 (IPv6 ones are refused)
                ns.add_address(index, extra, 16)
            ns.set_up(index)
            ns.set_up(LOOPBACK_INDEX)
            if gateway:
                try:
                    ns.add_default_route(gateway)
                except FileExistsError:  # another network gives the route already
                    pass
    except BaseException:
        delete_link(host_name)
        raise
    return host_name
