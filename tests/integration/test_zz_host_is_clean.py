"""Runs last: after the whole suite the host keeps no bridge, veth, mount, netns or state of ours.

Every module's engine fixture has cleaned up by now; anything left is a leak in the engine or in
a test's teardown.
"""

from __future__ import annotations

import ipaddress
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.root]

TEST_PREFIXES = ("wht", "whmk", "whb")  # engines.py, test_make_run.py, the benches


def test_no_bridges_or_veths_left() -> None:
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in links.splitlines()]
    assert [n for n in names if n.startswith(TEST_PREFIXES)] == []
    veths = subprocess.run(["ip", "-o", "link", "show", "type", "veth"], capture_output=True, text=True)
    masters = veths.stdout
    assert not any(f"master {p}" in masters for p in TEST_PREFIXES)


def in_test_pools(address: str) -> bool:
    """engines.py gives the test engines' user networks subnets of 10.100.0.0-10.199.255.255."""
    ip = ipaddress.ip_interface(address).ip
    return ip.version == 4 and ip.packed[0] == 10 and 100 <= ip.packed[1] <= 199


def test_no_user_network_bridges_left() -> None:
    """User networks' bridges (``br-<id>``) are known by their addresses, from the test engines' pools."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True)
    left = [line.split()[1] for line in out.stdout.splitlines() if in_test_pools(line.split()[3])]
    assert left == []


def test_no_mounts_left_under_test_roots() -> None:
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    assert [m for m in mounts if m.startswith(("/tmp/wh", "/tmp/pytest-of-root"))] == []


def test_no_engine_roots_or_named_netns_left() -> None:
    assert [p for p in Path("/tmp").glob("wh*") if (p / "data").exists()] == []
    netns = Path("/run/netns")
    assert not netns.exists() or [p.name for p in netns.iterdir() if p.name.startswith("wharf")] == []


def test_no_nftables_tables_of_test_bridges_left() -> None:
    """Port DNAT (``wharf_ports_<bridge>``) and masquerade tables die with their engines."""
    listed = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=False).stdout
    tables = [line.split()[-1] for line in listed.splitlines() if line.startswith("table")]
    assert [t for t in tables if t.startswith("wharf") and any(p in t for p in TEST_PREFIXES)] == []


def orphan_shim_servers() -> list[tuple[str, str]]:
    orphans = []
    for proc in Path("/proc").iterdir():
        try:
            comm = (proc / "comm").read_text().strip()
            ppid = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
            parent = Path(f"/proc/{ppid}/cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if comm == "wharf-shim-srv" and b"wharf-engine" not in parent:
            orphans.append((proc.name, ppid))
    return orphans


def test_no_shim_server_outlives_its_engine() -> None:
    """A shim server (named ``wharf-shim-srv``) reads end of file when its engine goes, and exits."""
    deadline = time.monotonic() + 5  # an engine stopped a moment ago: its server is on its way out
    while (orphans := orphan_shim_servers()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert orphans == []
