"""User-defined networks with the real docker CLI: create, ls, inspect, connect, disconnect, rm, prune;
reachability on a network, isolation across networks, internal networks; bad input leaves nothing."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import urllib.request
from urllib.parse import quote

import pytest
from engines import Engine, needs_docker
from netchecks import (
    bridge_of,
    fails,
    footprint,
    host_bridges,
    ip_on,
    leases,
    networks,
    ok,
    ports_of,
    reaches,
)

pytestmark = [pytest.mark.root, needs_docker]


def spare_subnet(engine: Engine, index: int = -1) -> str:
    """A /26 of the engine's own pool that automatic allocation reaches last."""
    return str(list(ipaddress.ip_network(engine.pool).subnets(new_prefix=26))[index])


def sleeper(engine: Engine, name: str, *flags: str) -> str:
    return ok(engine.docker("run", "-d", "--name", name, *flags, "busybox", "sleep", "300")).strip()


def test_create_ls_inspect_rm_with_docker_cli(engine: Engine) -> None:
    with networks(engine, "front"):
        subnet = spare_subnet(engine)
        gateway = str(ipaddress.ip_network(subnet)[1])
        flags = ["--subnet", subnet, "--label", "tier=web", "-o", "com.docker.network.bridge.name=whtfront"]
        net_id = ok(engine.docker("network", "create", *flags, "front")).strip()
        assert len(net_id) == 64
        listing = ok(engine.docker("network", "ls"))
        assert listing.splitlines()[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
        rows = {line.split()[1]: line.split()[2] for line in listing.splitlines()[1:]}
        assert rows == {"bridge": "bridge", "front": "bridge", "host": "host", "none": "null"}

        def names(*filters: str) -> list[str]:
            return ok(engine.docker("network", "ls", "--format", "{{.Name}}", *filters)).split()

        assert names("--filter", "label=tier=web") == ["front"]
        assert names("--filter", "type=custom") == ["front"]
        assert sorted(names("--filter", "type=builtin")) == ["bridge", "host", "none"]
        assert names("--filter", "driver=null") == ["none"]
        assert names("--filter", f"id={net_id[:10]}") == ["front"]
        assert names("--filter", "dangling=true") == ["front"]
        [inspected] = json.loads(ok(engine.docker("network", "inspect", "front")))
        assert inspected["Id"] == net_id and inspected["Driver"] == "bridge" and inspected["Scope"] == "local"
        assert inspected["IPAM"]["Config"] == [{"Subnet": subnet, "Gateway": gateway}]
        assert inspected["Labels"] == {"tier": "web"} and inspected["Containers"] == {}
        assert "whtfront" in host_bridges()
        addr = subprocess.run(["ip", "-4", "-o", "addr", "show", "whtfront"], capture_output=True, text=True)
        assert f"{gateway}/26" in addr.stdout
        assert ok(engine.docker("network", "inspect", "-f", "{{.Name}}", net_id[:12])).strip() == "front"
        [bridge] = json.loads(ok(engine.docker("network", "inspect", "bridge")))
        assert bridge["Options"]["com.docker.network.bridge.name"] == engine.bridge
        assert ok(engine.docker("network", "rm", "front")).strip() == "front"
        assert "whtfront" not in host_bridges()
        fails(engine.docker("network", "inspect", "front"), "network front not found")


def test_same_network_reaches_other_networks_do_not(engine: Engine) -> None:
    with networks(engine, "blue", "green"):
        ok(engine.docker("network", "create", "blue"))
        ok(engine.docker("network", "create", "green"))
        sleeper(engine, "blue1", "--network", "blue")
        sleeper(engine, "blue2", "--network", "blue")
        sleeper(engine, "green1", "--network", "green")
        sleeper(engine, "default1")
        blue1 = ip_on(engine, "blue1", "blue")
        assert reaches(engine, "blue2", blue1)
        assert not reaches(engine, "green1", blue1)
        assert not reaches(engine, "default1", blue1)
        assert not reaches(engine, "blue1", ip_on(engine, "green1", "green"))
        [blue] = json.loads(ok(engine.docker("network", "inspect", "blue")))
        assert {c["Name"] for c in blue["Containers"].values()} == {"blue1", "blue2"}
        listed = ok(engine.docker("ps", "--filter", "network=blue", "--format", "{{.Names}}")).split()
        assert sorted(listed) == ["blue1", "blue2"]
        assert ok(engine.docker("ps", "--filter", "network=bridge", "--format", "{{.Names}}")).split() == [
            "default1"
        ]


def test_internal_network_has_no_route_out(engine: Engine) -> None:
    with networks(engine, "vault", "lobby"):
        ok(engine.docker("network", "create", "--internal", "vault"))
        ok(engine.docker("network", "create", "lobby"))
        sleeper(engine, "safe1", "--network", "vault")
        sleeper(engine, "safe2", "--network", "vault")
        sleeper(engine, "visitor", "--network", "lobby")
        assert "default" not in ok(engine.docker("exec", "safe1", "ip", "route"))
        assert reaches(engine, "safe2", ip_on(engine, "safe1", "vault"))
        assert not reaches(engine, "safe1", ip_on(engine, "visitor", "lobby"))
        assert not reaches(engine, "visitor", ip_on(engine, "safe1", "vault"))
        assert (
            json.loads(ok(engine.docker("network", "inspect", "-f", "{{json .Internal}}", "vault"))) is True
        )


def test_connect_and_disconnect_hot_plug_a_running_container(engine: Engine) -> None:
    with networks(engine, "one", "two"):
        ok(engine.docker("network", "create", "one"))
        subnet = spare_subnet(engine)
        wanted = str(ipaddress.ip_network(subnet)[20])
        ok(engine.docker("network", "create", "--subnet", subnet, "two"))
        sleeper(engine, "roamer", "--network", "one")
        sleeper(engine, "peer", "--network", "two")
        peer = ip_on(engine, "peer", "two")
        assert not reaches(engine, "roamer", peer)
        two_bridge = bridge_of(engine, "two")
        ok(engine.docker("network", "connect", "--alias", "wanderer", "--ip", wanted, "two", "roamer"))
        assert f"inet {wanted}/26" in ok(engine.docker("exec", "roamer", "ip", "-4", "addr", "show", "eth1"))
        assert reaches(engine, "roamer", peer) and reaches(engine, "peer", wanted)
        settings = json.loads(
            ok(engine.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", "roamer"))
        )
        assert set(settings) == {"one", "two"}
        assert settings["two"]["IPAddress"] == wanted and settings["two"]["Aliases"] == ["wanderer"]
        assert settings["two"]["IPAMConfig"]["IPv4Address"] == wanted
        assert len(ports_of(two_bridge)) == 2
        ok(engine.docker("network", "disconnect", "two", "roamer"))
        assert "eth1" not in ok(engine.docker("exec", "roamer", "ip", "-o", "link"))
        assert len(ports_of(two_bridge)) == 1
        assert not reaches(engine, "roamer", peer)
        assert set(
            json.loads(ok(engine.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", "roamer")))
        ) == {"one"}
        containers = json.loads(ok(engine.docker("network", "inspect", "-f", "{{json .Containers}}", "two")))
        assert [c["Name"] for c in containers.values()] == ["peer"]


def test_static_ip_mac_and_aliases_at_create_are_echoed(engine: Engine) -> None:
    with networks(engine, "fixed"):
        subnet = spare_subnet(engine)
        ip = str(ipaddress.ip_network(subnet)[9])
        ok(engine.docker("network", "create", "--subnet", subnet, "fixed"))
        mac = ["--mac-address", "02:42:de:ad:be:ef"]
        cid = sleeper(
            engine,
            "pinned",
            "--network",
            "fixed",
            "--ip",
            ip,
            *mac,
            "--network-alias",
            "pin",
            "--network-alias",
            "p2",
        )
        fmt = '{{json (index .NetworkSettings.Networks "fixed")}}'
        ep = json.loads(ok(engine.docker("inspect", "-f", fmt, "pinned")))
        net_id = ok(engine.docker("network", "inspect", "-f", "{{.Id}}", "fixed")).strip()
        assert ep["IPAddress"] == ip and ep["IPPrefixLen"] == 26 and ep["MacAddress"] == "02:42:de:ad:be:ef"
        assert ep["Gateway"] == str(ipaddress.ip_network(subnet)[1]) and ep["NetworkID"] == net_id
        assert ep["Aliases"] == ["pin", "p2"] and ep["IPAMConfig"] == {"IPv4Address": ip}
        assert len(ep["EndpointID"]) == 64 and ep["DNSNames"] == ["pinned", "pin", "p2", cid[:12]]
        link = ok(engine.docker("exec", "pinned", "ip", "-o", "link", "show", "eth0"))
        assert "02:42:de:ad:be:ef" in link
        assert ok(engine.docker("inspect", "-f", "{{.HostConfig.NetworkMode}}", "pinned")).strip() == "fixed"
        assert ok(engine.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "pinned")).strip() == ""
        ok(engine.docker("stop", "-t", "0", "pinned"))
        ok(engine.docker("start", "pinned"))  # the static address comes back
        assert ip_on(engine, "pinned", "fixed") == ip


def test_links_work_on_a_user_network(engine: Engine) -> None:
    with networks(engine, "linked"):
        ok(engine.docker("network", "create", "linked"))
        ok(
            engine.docker(
                "run",
                "-d",
                "--name",
                "store",
                "--network",
                "linked",
                "--expose",
                "6379",
                "busybox",
                "httpd",
                "-f",
                "-p",
                "6379",
                "-h",
                "/etc",
            )
        )
        ip = ip_on(engine, "store", "linked")
        out = ok(
            engine.docker(
                "run",
                "--rm",
                "--network",
                "linked",
                "--link",
                "store:cache",
                "busybox",
                "sh",
                "-c",
                "env; cat /etc/hosts; wget -qO- http://cache:6379/hostname",
            )
        )
        assert f"CACHE_PORT=tcp://{ip}:6379" in out and "CACHE_NAME=" in out
        assert f"{ip}\tcache" in out


def test_create_without_host_config_gets_the_default_bridge(engine: Engine) -> None:
    body = {"Image": "busybox", "Cmd": ["sleep", "300"], "ExposedPorts": {"7000/tcp": {}}}
    mac = {"MacAddress": "02:42:11:22:33:44"}  # Config.MacAddress (before API 1.44), then HostConfig's
    for extra in ({}, {"HostConfig": None}, mac, {"HostConfig": mac}):
        cid = engine.json("POST", "/containers/create", {**body, **extra})["Id"]
        try:
            engine.json("POST", f"/containers/{cid}/start")
            info = engine.json("GET", f"/containers/{cid}/json")
            assert info["HostConfig"]["NetworkMode"] == "default"
            assert info["NetworkSettings"]["IPAddress"].startswith(engine.subnet.rsplit(".", 1)[0])
            assert set(info["NetworkSettings"]["Networks"]) == {"bridge"}
            assert info["NetworkSettings"]["Ports"] == {"7000/tcp": None}
            if "MacAddress" in extra or extra.get("HostConfig"):
                assert info["NetworkSettings"]["MacAddress"] == "02:42:11:22:33:44"
                assert info["Config"]["MacAddress"] == "02:42:11:22:33:44"
        finally:
            engine.docker("rm", "-f", cid)


def test_prune_removes_only_unused_networks(engine: Engine) -> None:
    with networks(engine, "busy", "idle", "kept"):
        for name in ("busy", "idle"):
            ok(engine.docker("network", "create", name))
        ok(engine.docker("network", "create", "--label", "keep=yes", "kept"))
        sleeper(engine, "worker", "--network", "busy")
        out = ok(engine.docker("network", "prune", "-f", "--filter", "label!=keep=yes"))
        assert "idle" in out and "busy" not in out and "kept" not in out
        names = ok(engine.docker("network", "ls", "--format", "{{.Name}}")).split()
        assert "idle" not in names and "busy" in names and "kept" in names


def test_bad_input_is_refused_and_leaves_nothing_behind(engine: Engine) -> None:
    with networks(engine, "taken", "other"):
        subnet = spare_subnet(engine)
        ok(engine.docker("network", "create", "--subnet", subnet, "taken"))
        ok(engine.docker("network", "create", "other"))
        sleeper(engine, "member", "--network", "taken", "--ip", str(ipaddress.ip_network(subnet)[5]))
        sleeper(engine, "outsider", "--network", "other")
        before = footprint(engine)
        assert engine.request("POST", "/networks/create", {"Name": "taken"})[0] == 409
        fails(engine.docker("network", "create", "taken"), "already exists")
        status, body = engine.request(
            "POST", "/networks/create", {"Name": "x2", "IPAM": {"Config": [{"Subnet": subnet}]}}
        )
        assert status == 403 and b"overlaps" in body
        default_subnet = {"Name": "x3", "IPAM": {"Config": [{"Subnet": engine.subnet}]}}
        assert engine.request("POST", "/networks/create", default_subnet)[0] == 403
        for bad in ("10.1.2.3", "10.300.0.0/24", "10.100.0.1/24", "fd00::/64", "banana"):
            status, body = engine.request(
                "POST", "/networks/create", {"Name": "x4", "IPAM": {"Config": [{"Subnet": bad}]}}
            )
            assert status == 400, (bad, body)
        fails(engine.docker("network", "create", "-d", "overlay", "x5"), "not found")
        fails(
            engine.docker("network", "create", "-o", "com.docker.network.bridge.name=lo", "x7"),
            "already in use",
        )
        fails(
            engine.docker("network", "create", "-o", "com.docker.network.bridge.name=" + "b" * 16, "x8"),
            "invalid",
        )
        fails(
            engine.docker("network", "create", "-o", "com.docker.network.driver.mtu=big", "x9"), "invalid MTU"
        )
        fails(engine.docker("network", "create", "-o", "colour=red", "x10"), "colour is not supported")
        fails(engine.docker("network", "create", "--ipv6", "x6"), "EnableIPv6")
        fails(
            engine.docker("run", "-d", "--network", "taken", "--ip", "192.0.2.77", "busybox", "true"),
            "no configured subnet",
        )
        fails(
            engine.docker(
                "run",
                "-d",
                "--network",
                "taken",
                "--ip",
                str(ipaddress.ip_network(subnet)[5]),
                "busybox",
                "true",
            ),
            "Address already in use",
        )
        fails(
            engine.docker("run", "-d", "--network", "nowhere", "busybox", "true"), "network nowhere not found"
        )
        fails(engine.docker("network", "connect", "taken", "member"), "already exists in network taken")
        fails(
            engine.docker("network", "disconnect", "taken", "outsider"), "is not connected to network taken"
        )
        fails(
            engine.docker("network", "connect", "--ip", "192.0.2.9", "taken", "outsider"),
            "no configured subnet",
        )
        fails(engine.docker("network", "rm", "taken"), "has active endpoints")
        assert engine.request("DELETE", "/networks/taken")[0] == 409
        assert engine.request("DELETE", "/networks/bridge")[0] == 403
        assert engine.request("POST", "/networks/create", {"Name": "host", "Driver": "host"})[0] == 403
        assert engine.request("GET", "/networks?filters=" + quote(json.dumps({"colour": ["red"]})))[0] == 400
        assert footprint(engine) == before
        assert [c["Names"] for c in engine.json("GET", "/containers/json?all=1")] == [
            ["/outsider"],
            ["/member"],
        ]
    assert leases(engine) == {}


def test_ports_link_local_addresses_and_endpoint_links_on_a_user_network(engine: Engine) -> None:
    with networks(engine, "svc", "svc2"):
        ok(engine.docker("network", "create", "svc"))
        ok(engine.docker("network", "create", "svc2"))
        flags = ["--network", "svc", "-p", "127.0.0.1::8000", "--link-local-ip", "169.254.7.7"]
        ok(
            engine.docker(
                "run", "-d", "--name", "api", *flags, "busybox", "httpd", "-f", "-p", "8000", "-h", "/etc"
            )
        )
        port = ok(engine.docker("port", "api", "8000")).split(":")[-1].strip()
        assert (
            urllib.request.urlopen(f"http://127.0.0.1:{port}/passwd", timeout=5).read().startswith(b"root:")
        )
        assert "inet 169.254.7.7/16" in ok(engine.docker("exec", "api", "ip", "-4", "addr", "show", "eth0"))
        ipam = ok(engine.docker("inspect", "-f", "{{json .NetworkSettings.Networks.svc.IPAMConfig}}", "api"))
        assert json.loads(ipam) == {"LinkLocalIPs": ["169.254.7.7"]}  # the CLI drops the empty IPv4Address
        # compose's links on a user network: EndpointsConfig.<net>.Links
        endpoint = {"Links": ["api:backend"], "Aliases": ["web"]}
        body = {
            "Image": "busybox",
            "Cmd": ["sh", "-c", "env; cat /etc/hosts"],
            "HostConfig": {"NetworkMode": "svc"},
            "NetworkingConfig": {"EndpointsConfig": {"svc": endpoint, "svc2": endpoint}},
        }
        cid = engine.json("POST", "/containers/create?name=linker", body)["Id"]
        engine.json("POST", f"/containers/{cid}/start")
        engine.json("POST", f"/containers/{cid}/wait")
        logs = ok(engine.docker("logs", cid))
        ip = ip_on(engine, "api", "svc")
        assert (
            logs.count(f"{ip}\tbackend") == 1 and "BACKEND_NAME=/linker/backend" in logs
        )  # once, not per network
        mac = ok(
            engine.docker("run", "--rm", "--mac-address", "02:42:ab:cd:ef:01", "busybox", "ip", "-o", "link")
        )
        assert "02:42:ab:cd:ef:01" in mac  # on the default bridge too


def test_ip_range_gateway_and_aux_addresses_shape_the_leases(engine: Engine) -> None:
    with networks(engine, "ranged"):
        subnet = ipaddress.ip_network(spare_subnet(engine, -3))
        ip_range, gateway, aux = str(list(subnet.subnets(new_prefix=28))[1]), str(subnet[62]), str(subnet[17])
        ok(
            engine.docker(
                "network",
                "create",
                "--subnet",
                str(subnet),
                "--ip-range",
                ip_range,
                "--gateway",
                gateway,
                "--aux-address",
                f"router={aux}",
                "ranged",
            )
        )
        config = json.loads(ok(engine.docker("network", "inspect", "-f", "{{json .IPAM.Config}}", "ranged")))
        assert config == [
            {
                "Subnet": str(subnet),
                "IPRange": ip_range,
                "Gateway": gateway,
                "AuxiliaryAddresses": {"router": aux},
            }
        ]
        sleeper(engine, "ranged1", "--network", "ranged")
        first = ipaddress.ip_address(ip_on(engine, "ranged1", "ranged"))
        assert (
            first in ipaddress.ip_network(ip_range) and str(first) != aux
        )  # .16 is the range's network address
        assert ok(engine.docker("exec", "ranged1", "ip", "route")).startswith(f"default via {gateway}")


def test_automatic_subnets_skip_networks_and_host_addresses(engine: Engine) -> None:
    blocks = [str(b) for b in ipaddress.ip_network(engine.pool).subnets(new_prefix=26)]
    dummy = "whtd" + blocks[1].split(".")[2]  # another engine's bridge, as the host shows it
    with networks(engine, "manual", "auto"):
        subprocess.run(["ip", "link", "add", dummy, "type", "bridge"], check=True)
        try:
            address = f"{ipaddress.ip_network(blocks[1])[1]}/26"
            subprocess.run(["ip", "addr", "add", address, "dev", dummy], check=True)
            ok(engine.docker("network", "create", "--subnet", blocks[0], "manual"))
            ok(engine.docker("network", "create", "auto"))
            fmt = "{{(index .IPAM.Config 0).Subnet}}"
            assert ok(engine.docker("network", "inspect", "-f", fmt, "auto")).strip() == blocks[2]
        finally:
            subprocess.run(["ip", "link", "del", dummy], capture_output=True)
