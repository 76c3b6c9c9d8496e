"""Isolation between an engine's networks: one nftables table, rebuilt whenever a network comes or goes.

Forwarded traffic from one of the engine's bridges to another of them is dropped (containers on
different networks cannot reach each other), and an ``Internal`` network's bridge forwards
nothing in or out. Unlike the port table, it outlives the engine (containers keep running while
it restarts, and must stay apart): the engine replaces it at start and whenever its networks
change, in one transaction, and deletes it when its last user network goes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from .nftables import Nftables, NftablesError

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class BridgeRule:
    name: str
    internal: bool = False


def table(default_bridge: str) -> str:
    return f"wharf_isolation_{default_bridge}"


def ruleset(default_bridge: str, bridges: Sequence[BridgeRule]) -> str:
    rules = []
    names = [b.name for b in bridges]
    for bridge in bridges:
        if bridge.internal:
            rules.append(f'    iifname "{bridge.name}" oifname != "{bridge.name}" drop\n')
            rules.append(f'    oifname "{bridge.name}" iifname != "{bridge.name}" drop\n')
        others = [n for n in names if n != bridge.name]
        if others:
            listed = ", ".join(f'"{n}"' for n in others)
            rules.append(f'    iifname "{bridge.name}" oifname {{ {listed} }} drop\n')
    name = table(default_bridge)
    return (
        f"table ip {name}\n"  # so that the delete below always finds it
        f"delete table ip {name}\n"
        f"table ip {name} {{\n"
        "  chain forward {\n"
        "    type filter hook forward priority -10; policy accept;\n"
        f"{''.join(rules)}"
        "  }\n"
        "}\n"
    )


class Isolation:
    """The engine's isolation table; ``apply`` is serialized and blocking (call from a thread)."""

    def __init__(self, default_bridge: str) -> None:
        self.default_bridge = default_bridge
        self._nft: Nftables | None = None
        self._lock = threading.Lock()

    def apply(self, bridges: Sequence[BridgeRule]) -> None:
        with self._lock:
            if self._nft is None:
                self._nft = Nftables()
            rules = [BridgeRule(self.default_bridge), *sorted(bridges, key=lambda b: b.name)]  # stable text
            try:
                self._nft.run(ruleset(self.default_bridge, rules))
            except NftablesError:
                log.error("network.isolation_failed", bridges=[b.name for b in rules])
                raise

    def remove(self) -> None:
        """No user network any more: no table (gone already is fine)."""
        with self._lock:
            nft = self._nft if self._nft is not None else Nftables()
            try:
                nft.run(
                    f"table ip {table(self.default_bridge)}\ndelete table ip {table(self.default_bridge)}\n"
                )
            finally:
                if nft is not self._nft:
                    nft.close()

    def close(self) -> None:
        """Engine shutdown: the socket goes, the table stays for the containers that run on."""
        with self._lock:
            if self._nft is not None:
                self._nft.close()
                self._nft = None
