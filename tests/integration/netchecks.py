"""Helpers for the user-network tests: what an engine's networks left on the host."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from engines import Engine


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def fails(result: subprocess.CompletedProcess[bytes], message: str) -> str:
    assert result.returncode != 0, result.stdout
    assert message in result.stderr.decode(), result.stderr
    return result.stderr.decode()


def host_bridges() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show", "type", "bridge"], capture_output=True, text=True)
    return {line.split(":")[1].strip() for line in out.stdout.splitlines()}


def bridges_in(*subnets: str) -> set[str]:
    """The host's interfaces (bridges, in practice) with an IPv4 address in one of ``subnets``."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True)
    nets = [ipaddress.ip_network(s) for s in subnets]
    found = set()
    for line in out.stdout.splitlines():
        fields = line.split()
        if any(ipaddress.ip_interface(fields[3]).ip in net for net in nets):
            found.add(fields[1])
    return found


def ports_of(bridge: str) -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show", "master", bridge], capture_output=True, text=True)
    return [line.split(":")[1].strip().split("@")[0] for line in out.stdout.splitlines()]


def leases(engine: Engine) -> dict[str, dict[str, str]]:
    """Every user network's address leases, as the engine keeps them on disk."""
    found = {}
    for path in (engine.root / "data" / "networks").glob("*.ipam.json"):
        found[path.name] = json.loads(path.read_text())
    return {name: value for name, value in found.items() if value}


def isolation_table(engine: Engine) -> str:
    out = subprocess.run(
        ["nft", "list", "table", "ip", f"wharf_isolation_{engine.bridge}"], capture_output=True, text=True
    )
    return out.stdout


def footprint(engine: Engine) -> tuple[set[str], list[str], str, dict[str, dict[str, str]]]:
    """The engine's bridges (found by address) with their ports, its isolation rules, its leases."""
    bridges = sorted(bridges_in(engine.pool, engine.subnet))
    return set(bridges), [f"{b}:{ports_of(b)}" for b in bridges], isolation_table(engine), leases(engine)


def bridge_of(engine: Engine, network: str) -> str:
    return str(
        engine.json("GET", f"/networks/{network}")["Options"].get("com.docker.network.bridge.name")
        or "br-" + engine.json("GET", f"/networks/{network}")["Id"][:12]
    )


def ip_on(engine: Engine, container: str, network: str) -> str:
    fmt = f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}'
    return ok(engine.docker("inspect", "-f", fmt, container)).strip()


def reaches(engine: Engine, container: str, address: str) -> bool:
    return engine.docker("exec", container, "ping", "-c", "1", "-W", "1", address, timeout=20).returncode == 0


@contextmanager
def networks(engine: Engine, *names: str) -> Iterator[None]:
    """Whatever the test made with these names goes at the end (containers first), even when it fails."""
    try:
        yield
    finally:
        for network in names:
            found = engine.request("GET", f"/networks/{network}")
            if found[0] == 200:
                for cid in json.loads(found[1])["Containers"]:
                    engine.docker("rm", "-f", cid)
        for container in engine.json("GET", "/containers/json?all=1"):
            engine.docker("rm", "-f", container["Id"])
        for network in names:
            engine.docker("network", "rm", network)
