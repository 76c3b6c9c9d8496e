"""``docker network connect bridge`` and ``disconnect bridge`` after create, as Docker allows them.

A container of a user network connected to the default bridge gets a second address there (hot
plugged when it runs, at its next start when it does not); a container disconnected from the bridge
loses its address there (at once when it runs, at its next start when it does not).
"""

from __future__ import annotations

import ipaddress
import json
import urllib.request

import pytest
from engines import Engine, needs_docker
from netchecks import fails, leases, networks, ok, reaches

pytestmark = [pytest.mark.root, needs_docker, pytest.mark.timeout(180)]


def sleeper(engine: Engine, name: str, *flags: str, start: bool = True) -> str:
    verb = ("run", "-d") if start else ("create",)
    return ok(engine.docker(*verb, "--name", name, *flags, "busybox", "sleep", "300")).strip()


def attached(engine: Engine, name: str) -> dict[str, dict[str, str]]:
    out = ok(engine.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", name))
    return dict(json.loads(out))


def on_bridge(engine: Engine) -> set[str]:
    containers = json.loads(ok(engine.docker("network", "inspect", "-f", "{{json .Containers}}", "bridge")))
    return {c["Name"] for c in containers.values()}


def test_a_user_network_container_joins_and_leaves_the_default_bridge(engine: Engine) -> None:
    with networks(engine, "solo"):
        ok(engine.docker("network", "create", "solo"))
        sleeper(engine, "roamer", "--network", "solo")
        sleeper(engine, "plain")
        plain = attached(engine, "plain")["bridge"]["IPAddress"]
        assert not reaches(engine, "roamer", plain)

        ok(engine.docker("network", "connect", "bridge", "roamer"))
        settings = attached(engine, "roamer")
        assert set(settings) == {"solo", "bridge"}
        address = settings["bridge"]["IPAddress"]
        assert ipaddress.ip_address(address) in ipaddress.ip_network(engine.subnet)
        assert f"inet {address}/" in ok(engine.docker("exec", "roamer", "ip", "-4", "addr", "show", "eth1"))
        assert reaches(engine, "roamer", plain) and reaches(engine, "plain", address)
        assert on_bridge(engine) == {"plain", "roamer"}
        fails(engine.docker("network", "connect", "bridge", "roamer"), "already exists in network bridge")

        ok(engine.docker("network", "disconnect", "bridge", "roamer"))
        assert "eth1" not in ok(engine.docker("exec", "roamer", "ip", "-o", "link"))
        assert set(attached(engine, "roamer")) == {"solo"}
        assert not reaches(engine, "roamer", plain)
        assert on_bridge(engine) == {"plain"}
        fails(
            engine.docker("network", "disconnect", "bridge", "roamer"), "is not connected to network bridge"
        )
        assert address not in json.dumps(leases(engine))


def test_connect_to_the_bridge_before_start_and_across_a_restart(engine: Engine) -> None:
    with networks(engine, "later"):
        ok(engine.docker("network", "create", "later"))
        sleeper(engine, "waiting", "--network", "later", start=False)
        ok(engine.docker("network", "connect", "bridge", "waiting"))
        assert set(attached(engine, "waiting")) == {"later", "bridge"}
        ok(engine.docker("start", "waiting"))
        sleeper(engine, "plain")
        for _ in range(2):
            address = attached(engine, "waiting")["bridge"]["IPAddress"]
            assert ipaddress.ip_address(address) in ipaddress.ip_network(engine.subnet)
            assert reaches(engine, "plain", address)
            # its user network stays its primary one: the default route goes there
            route = ok(engine.docker("exec", "waiting", "ip", "route", "show", "default"))
            assert attached(engine, "waiting")["later"]["Gateway"] in route
            ok(engine.docker("restart", "-t", "0", "waiting"))


def test_a_bridge_container_disconnected_from_the_bridge(engine: Engine) -> None:
    with networks(engine):
        sleeper(engine, "plain")
        sleeper(engine, "leaver")
        address = attached(engine, "leaver")["bridge"]["IPAddress"]
        assert reaches(engine, "plain", address)
        ok(engine.docker("network", "disconnect", "bridge", "leaver"))
        assert attached(engine, "leaver") == {}
        assert "eth0" not in ok(engine.docker("exec", "leaver", "ip", "-o", "link"))
        assert not reaches(engine, "plain", address)
        assert on_bridge(engine) == {"plain"}
        ok(engine.docker("network", "connect", "bridge", "leaver"))  # and back again
        again = attached(engine, "leaver")["bridge"]["IPAddress"]
        assert again and reaches(engine, "plain", again)

        sleeper(engine, "offline", start=False)  # before start: it starts with loopback only
        ok(engine.docker("network", "disconnect", "bridge", "offline"))
        ok(engine.docker("start", "offline"))
        assert attached(engine, "offline") == {}
        links = ok(engine.docker("exec", "offline", "ip", "-o", "link")).splitlines()
        assert len(links) == 1 and ": lo:" in links[0], links


def test_a_bridge_container_connected_back_gets_its_address_route_and_ports(engine: Engine) -> None:
    """As Docker: the top-level IPAddress, the default route and the published ports come back with the
    bridge (they stayed away until a restart before)."""
    with networks(engine, "later"):
        ok(
            engine.docker(
                "run", "-d", "--name", "server", "-p", "127.0.0.1::80", "busybox", "httpd", "-f", "-p", "80"
            )
        )
        ok(engine.docker("exec", "server", "sh", "-c", "echo served > /index.html"))
        ok(engine.docker("network", "disconnect", "bridge", "server"))
        assert ok(engine.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "server")).strip() == ""
        ok(engine.docker("network", "connect", "bridge", "server"))
        top = ok(engine.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "server")).strip()
        assert top and top == attached(engine, "server")["bridge"]["IPAddress"]
        assert "default via" in ok(engine.docker("exec", "server", "ip", "route"))
        port = ok(engine.docker("port", "server", "80/tcp")).split(":")[-1].strip()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
            assert answer.read() == b"served\n"
        ok(engine.docker("network", "create", "later"))
        ok(engine.docker("network", "connect", "later", "server"))  # the next free name, not the bridge's
        names = ok(engine.docker("exec", "server", "ip", "-o", "link")).split()
        assert sum(1 for n in names if n.startswith("eth")) == 2


def test_bridge_connect_refuses_aliases_and_static_addresses(engine: Engine) -> None:
    with networks(engine, "solo2"):
        ok(engine.docker("network", "create", "solo2"))
        sleeper(engine, "picky", "--network", "solo2")
        fails(engine.docker("network", "connect", "--alias", "x", "bridge", "picky"), "user defined networks")
        fails(engine.docker("network", "connect", "host", "picky"), "cannot be connected to the host")
        assert set(attached(engine, "picky")) == {"solo2"}


def test_attachable_is_kept_and_check_duplicate_refuses_the_name_again(engine: Engine) -> None:
    with networks(engine, "joinable"):
        ok(engine.docker("network", "create", "--attachable", "joinable"))
        assert ok(engine.docker("network", "inspect", "-f", "{{.Attachable}}", "joinable")).strip() == "true"
        status, body = engine.request(
            "POST", "/networks/create", {"Name": "joinable", "CheckDuplicate": True, "Attachable": True}
        )
        assert status == 409 and b"joinable" in body, body
        assert engine.json("GET", "/networks/bridge")["Attachable"] is False
