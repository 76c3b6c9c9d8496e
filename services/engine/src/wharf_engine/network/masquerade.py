"""Outbound NAT for the bridge (``--masquerade``, off by default and in tests): one nftables table.

The table is named after the bridge, so engines side by side never touch each other's rules,
and it is deleted when the engine stops.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from wharf_common.errors import SystemFault


def table(bridge: str) -> str:
    return f"wharf_{bridge}"


def ruleset(bridge: str, subnet: str) -> str:
    """Traffic from the bridge's subnet that leaves by another interface is masqueraded."""
    return (
        f"table ip {table(bridge)} {{\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        f'    ip saddr {subnet} oifname != "{bridge}" masquerade\n'
        "  }\n"
        "}\n"
    )


def enable(bridge: str, subnet: str) -> None:
    disable(bridge)
    result = subprocess.run(["nft", "-f", "-"], input=ruleset(bridge, subnet), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemFault(f"nft: {result.stderr.strip()}")
    Path("/proc/sys/net/ipv4/ip_forward").write_text("1\n")


def disable(bridge: str) -> None:
    subprocess.run(["nft", "delete", "table", "ip", table(bridge)], capture_output=True)
