"""Published ports by DNAT: the host's own connections to a published port go straight to the container.

One nftables table per bridge, ``wharf_ports_<bridge>``, made with ``flags owner`` on the engine's
own netlink socket (``nftables.py``): the kernel deletes it when the engine exits, crash included,
so no rule outlives the process that serves the ports, and engines side by side never touch each
other's tables. Its chains:

- output: what the host sends to a published address and port (127.0.0.1, the bridge address, or
  any local address for 0.0.0.0) is DNATed to the container's address and port, one map lookup;
- postrouting: of that, what comes from 127.0.0.0/8 and leaves by the bridge to a published
  container address and port is masqueraded to the bridge address. A packet from 127.0.0.1 may
  leave by the bridge (and its replies come back) only with ``route_localnet=1`` on the bridge;
- guard: route_localnet would also let a container reach the host's loopback services by
  forging a 127.0.0.0/8 destination, so whatever arrives on the bridge for 127.0.0.0/8 is dropped
  before routing (replies to our DNAT still carry the bridge address there).

route_localnet is on only while a port that loopback can reach is published. The engine resets
it when the last one goes and at shutdown; a watcher (a shell on a pipe from the engine) resets it
when the engine dies without doing so, since the guard goes with the table. A released UDP port's
conntrack flows are dropped, or a client that keeps sending would keep the old container address.

There is no prerouting DNAT: traffic from other hosts would then depend on ip_forward and the
host's forward policy, and a container's replies to another container on the bridge would go
past the NAT. That traffic, and IPv6 host addresses, stay with the proxy that holds the port.
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import threading
from collections import Counter
from pathlib import Path

import structlog
from pyroute2 import Conntrack
from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple

from .nftables import Nftables, NftablesError

log = structlog.get_logger(__name__)

# reads its stdin until the engine closes it (or dies), then turns route_localnet off
WATCHER = (
    'trap "" HUP INT TERM; while read -r _; do :; done; echo 0 > "/proc/sys/net/ipv4/conf/$1/route_localnet"'
)


def table(bridge: str) -> str:
    return f"wharf_ports_{bridge}"


def ruleset(bridge: str) -> str:
    maps = "".join(
        f"  map {proto}_any {{ type inet_service : ipv4_addr . inet_service; }}\n"
        f"  map {proto}_at {{ type ipv4_addr . inet_service : ipv4_addr . inet_service; }}\n"
        for proto in ("tcp", "udp")
    )
    dnat = "".join(
        f"    dnat ip to ip daddr . {proto} dport map @{proto}_at\n"
        f"    fib daddr type local dnat ip to {proto} dport map @{proto}_any\n"
        for proto in ("tcp", "udp")
    )
    return (
        f"table ip {table(bridge)} {{\n"
        "  flags owner\n"
        f"{maps}"
        "  set loopback { type ipv4_addr . inet_proto . inet_service; }\n"
        "  chain output {\n"
        "    type nat hook output priority -100; policy accept;\n"
        f"{dnat}"
        "  }\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority 100; policy accept;\n"
        f'    oifname "{bridge}" ip saddr 127.0.0.0/8 ct status dnat'
        " ip daddr . meta l4proto . th dport @loopback masquerade\n"
        "  }\n"
        "  chain guard {\n"
        "    type filter hook prerouting priority -300; policy accept;\n"
        f'    iifname "{bridge}" ip daddr 127.0.0.0/8 drop\n'
        "  }\n"
        "}\n"
    )


def routable(proto: str, host_ip: str) -> bool:
    """Whether DNAT can serve this binding: TCP or UDP on an IPv4 address (the rest is the proxy's)."""
    try:
        return proto in ("tcp", "udp") and ipaddress.ip_address(host_ip).version == 4
    except ValueError:
        return False


def from_loopback(host_ip: str) -> bool:
    """Whether the host's loopback reaches a port published on ``host_ip`` (an IPv4 address)."""
    return host_ip == "0.0.0.0" or ipaddress.IPv4Address(host_ip).is_loopback


def elements(proto: str, host_ip: str, host_port: int, target: tuple[str, int]) -> list[str]:
    """The set and map elements (``<set> { <element> }``) that publish one port."""
    ip, port = target
    out = [
        f"{proto}_any {{ {host_port} : {ip} . {port} }}"
        if host_ip == "0.0.0.0"
        else f"{proto}_at {{ {host_ip} . {host_port} : {ip} . {port} }}"
    ]
    if from_loopback(host_ip):
        out.append(f"loopback {{ {ip} . {proto} . {port} }}")
    return out


class PortNat:
    """The bridge's DNAT table, opened at the first published port; blocking: call from a thread.

    ``add`` and ``remove`` may run in several threads at once: one lock keeps the loopback count,
    the table and route_localnet in step.
    """

    def __init__(self, bridge: str) -> None:
        self.bridge = bridge
        self.sysctl = Path(f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet")
        self._nft: Nftables | None = None
        self._unavailable = ""  # why DNAT is off for good: the proxy carries everything
        self._loopback: Counter[tuple[str, str, int]] = Counter()  # (container ip, proto, port)
        self._watcher: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def add(self, proto: str, host_ip: str, host_port: int, target: tuple[str, int]) -> bool:
        """DNAT ``host_ip:host_port`` to ``target``; False when this port is left to the proxy."""
        if not routable(proto, host_ip):
            return False
        with self._lock:
            nft = self._open()
            if nft is None:
                return False
            if from_loopback(host_ip) and not self._loopback:
                self._route_localnet(True)
            try:
                nft.run(
                    "".join(
                        f"add element ip {table(self.bridge)} {e}\n"
                        for e in elements(proto, host_ip, host_port, target)
                    )
                )
            except NftablesError as exc:
                log.warning("ports.dnat_failed", host=f"{host_ip}:{host_port}", error=str(exc))
                if not self._loopback:
                    self._route_localnet(False)
                return False
            if from_loopback(host_ip):
                self._loopback[(target[0], proto, target[1])] += 1
            return True

    def remove(self, proto: str, host_ip: str, host_port: int, target: tuple[str, int]) -> None:
        """Undo ``add``: its map entry, its loopback element when no other port needs it, its flows."""
        with self._lock:
            if self._nft is None:
                return
            found = elements(proto, host_ip, host_port, target)
            key = (target[0], proto, target[1])
            if from_loopback(host_ip):
                self._loopback[key] -= 1
                if self._loopback[key] > 0:
                    found = found[:1]
                else:
                    del self._loopback[key]
            for element in found:  # one by one: a missing element must not keep the others
                try:
                    self._nft.run(f"delete element ip {table(self.bridge)} {element}\n")
                except NftablesError as exc:
                    log.warning("ports.dnat_remove_failed", element=element, error=str(exc))
            if not self._loopback:
                self._route_localnet(False)
        if proto == "udp":
            forget_flows(socket.IPPROTO_UDP, host_port, target)

    def close(self) -> None:
        """Engine shutdown: route_localnet off, and the table goes (closing its socket would do that too)."""
        with self._lock:
            self._loopback.clear()
            self._route_localnet(False)
            if self._nft is not None:
                try:
                    self._nft.run(f"delete table ip {table(self.bridge)}\n")
                except NftablesError as exc:
                    log.warning("ports.dnat_table_delete_failed", error=str(exc))
                self._nft.close()
                self._nft = None

    def recover(self) -> None:
        """Engine start: a watcher killed with the engine may have left route_localnet on."""
        self._write_sysctl(False)

    def _open(self) -> Nftables | None:
        if self._nft is not None or self._unavailable:
            return self._nft
        try:
            nft = Nftables()
        except NftablesError as exc:
            self._unavailable = str(exc)
        else:
            try:
                nft.run(ruleset(self.bridge))
            except NftablesError as exc:
                nft.close()
                self._unavailable = str(exc)
            else:
                self._nft = nft
        if self._unavailable:
            log.warning("ports.dnat_unavailable", bridge=self.bridge, reason=self._unavailable)
        return self._nft

    def _route_localnet(self, on: bool) -> None:
        if on and self._watcher is None:
            self._watcher = subprocess.Popen(
                ["sh", "-c", WATCHER, "wharf-route-localnet", self.bridge],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._write_sysctl(on)
        if not on and self._watcher is not None:
            watcher, self._watcher = self._watcher, None
            if watcher.stdin is not None:
                watcher.stdin.close()
            # it writes 0 and exits at once; waited for, so it cannot undo a later "on"
            # (no timeout: with one, Popen.wait polls and sleeps)
            watcher.wait()

    def _write_sysctl(self, on: bool) -> None:
        try:
            self.sysctl.write_text("1\n" if on else "0\n")
        except FileNotFoundError:  # no bridge (yet, or any more): nothing to turn on or off
            pass


def forget_flows(proto: int, host_port: int, target: tuple[str, int]) -> None:
    """Drop the conntrack entries DNATed to ``target`` from ``host_port``."""
    ip, port = target
    try:
        with Conntrack() as ct:
            wanted = NFCTAttrTuple(proto=proto, dport=host_port)
            stale = [
                e
                for e in ct.dump_entries(tuple_orig=wanted)
                if e.tuple_reply.saddr == ip and e.tuple_reply.sport == port
            ]
            for entry in stale:
                ct.delete(entry)
    except OSError as exc:
        log.warning("ports.conntrack_flush_failed", error=str(exc))
