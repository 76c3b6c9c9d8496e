"""User networks through docker-py (as docker-compose drives them) and the wharf CLI, and across an
engine restart."""

from __future__ import annotations

import ipaddress
import json
import signal
from collections.abc import Iterator

import docker
import pytest
from engines import Engine, needs_docker
from netchecks import footprint, host_bridges, ip_on, isolation_table, networks, ok, reaches

pytestmark = [pytest.mark.root, needs_docker]


@pytest.fixture
def client(engine: Engine) -> Iterator[docker.DockerClient]:
    c = docker.DockerClient(base_url=engine.host, version="auto")
    try:
        yield c
    finally:
        c.close()


def test_docker_py_as_compose_uses_networks(engine: Engine, client: docker.DockerClient) -> None:
    labels = {"com.docker.compose.network": "default", "com.docker.compose.project": "shop"}
    with networks(engine, "shop_default"):
        net = client.networks.create("shop_default", driver="bridge", labels=labels, check_duplicate=True)
        found = client.networks.list(filters={"label": ["com.docker.compose.project=shop"]})
        assert [n.name for n in found] == ["shop_default"]
        assert client.networks.list(filters={"label": ["com.docker.compose.project=other"]}) == []
        api = client.api
        host_config = api.create_host_config(network_mode="shop_default")
        networking = api.create_networking_config(
            {"shop_default": api.create_endpoint_config(aliases=["db", "shop_db_1"])}
        )
        created = api.create_container(
            "busybox",
            ["httpd", "-f", "-p", "80", "-h", "/etc"],
            name="shop_db_1",
            host_config=host_config,
            networking_config=networking,
        )
        api.start(created["Id"])
        web = client.containers.run(
            "busybox", ["sleep", "300"], name="shop_web_1", detach=True, network="shop_default"
        )
        net.reload()
        assert {c.name for c in net.containers} == {"shop_db_1", "shop_web_1"}
        settings = api.inspect_container("shop_db_1")["NetworkSettings"]["Networks"]["shop_default"]
        assert settings["Aliases"] == ["db", "shop_db_1"] and settings["NetworkID"] == net.id
        assert reaches(engine, "shop_web_1", settings["IPAddress"])
        net.disconnect(web)
        assert not reaches(engine, "shop_web_1", settings["IPAddress"])
        net.connect(web, aliases=["front"])
        assert api.inspect_container("shop_web_1")["NetworkSettings"]["Networks"]["shop_default"][
            "Aliases"
        ] == ["front"]
        with pytest.raises(docker.errors.APIError) as refused:
            net.remove()
        assert refused.value.status_code == 409
        for name in ("shop_db_1", "shop_web_1"):
            client.containers.get(name).remove(force=True)
        net.remove()
        assert client.networks.list(names=["shop_default"]) == []


def test_wharf_cli_network_commands(engine: Engine) -> None:
    with networks(engine, "wnet"):
        subnet = str(list(ipaddress.ip_network(engine.pool).subnets(new_prefix=26))[-2])
        net_id = ok(engine.wharf("network", "create", "--subnet", subnet, "--label", "a=b", "wnet")).strip()
        listing = ok(engine.wharf("network", "ls"))
        assert listing.splitlines()[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
        assert f"{net_id[:12]}   wnet" in listing
        assert ok(engine.wharf("network", "ls", "-q", "--filter", "label=a=b")).split() == [net_id[:12]]
        assert ok(engine.wharf("network", "inspect", "-f", "{{.Name}}", net_id[:12])).strip() == "wnet"
        ip = str(ipaddress.ip_network(subnet)[7])
        flags = ["--network", "wnet", "--network-alias", "uno", "--ip", ip]
        ok(engine.wharf("run", "-d", "--name", "wone", *flags, "busybox", "sleep", "300"))
        ok(engine.wharf("run", "-d", "--name", "wtwo", "busybox", "sleep", "300"))
        assert ip_on(engine, "wone", "wnet") == ip
        ok(engine.wharf("network", "connect", "--alias", "dos", "wnet", "wtwo"))
        assert reaches(engine, "wtwo", ip)
        fmt = "{{json .NetworkSettings.Networks.wnet.Aliases}}"
        aliases = json.loads(ok(engine.docker("inspect", "-f", fmt, "wtwo")))
        assert aliases == ["dos"]
        ok(engine.wharf("network", "disconnect", "wnet", "wtwo"))
        assert not reaches(engine, "wtwo", ip)
        assert engine.wharf("network", "rm", "wnet").returncode != 0  # in use
        ok(engine.docker("rm", "-f", "wone", "wtwo"))
        assert ok(engine.wharf("network", "prune", "-f")).split() == ["Deleted", "Networks:", "wnet"]


def test_networks_and_attachments_survive_an_engine_restart(fresh_engine: Engine) -> None:
    engine = fresh_engine
    ok(engine.docker("network", "create", "--label", "keep=1", "lasting"))
    ok(engine.docker("network", "create", "--internal", "walled"))
    ok(engine.docker("run", "-d", "--name", "first", "--network", "lasting", "busybox", "sleep", "300"))
    ok(engine.docker("run", "-d", "--name", "second", "--network", "lasting", "busybox", "sleep", "300"))
    ok(engine.docker("run", "-d", "--name", "stopped", "--network", "lasting", "busybox", "true"))
    ok(engine.docker("run", "-d", "--name", "inside", "--network", "walled", "busybox", "sleep", "300"))
    first = ip_on(engine, "first", "lasting")
    before = footprint(engine)
    for how in (signal.SIGKILL, signal.SIGTERM):
        engine.stop(how)
        assert isolation_table(engine) == before[2]  # the networks stay apart while the engine is down
        engine.start()
        assert footprint(engine)[:3] == before[:3]  # bridges, veths and isolation rules as they were
        inspected = json.loads(ok(engine.docker("network", "inspect", "lasting")))[0]
        assert inspected["Labels"] == {"keep": "1"}
        assert {c["Name"] for c in inspected["Containers"].values()} == {"first", "second"}
        assert reaches(engine, "second", first)
        assert not reaches(engine, "inside", first)
    ok(engine.docker("run", "-d", "--name", "third", "--network", "lasting", "busybox", "sleep", "300"))
    assert ip_on(engine, "third", "lasting") not in (first, ip_on(engine, "second", "lasting"))
    assert reaches(engine, "third", first)
    ok(engine.docker("start", "stopped"))
    ok(engine.docker("network", "disconnect", "lasting", "second"))  # a veth plugged by the engine before
    assert not reaches(engine, "second", first)
    ok(engine.docker("rm", "-f", "first", "second", "third", "stopped", "inside"))
    bridges = engine.network_bridges()
    ok(engine.docker("network", "rm", "lasting", "walled"))
    assert not set(bridges) & host_bridges()
    assert isolation_table(engine) == ""
