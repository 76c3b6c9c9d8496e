"""daemon/networks.py: ``docker network create|ls|inspect|rm|prune`` with the host's bridges,
isolation table and DNS listeners faked (``FakeHost``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest
from wharf_common.errors import Conflict, Forbidden, InvalidArgument, NotFound
from wharf_engine.daemon import endpoints
from wharf_engine.daemon.daemon import Daemon

from .fakes_daemon import FakeHost, create_container, events, import_image, new_daemon, run


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        yield d


@pytest.fixture
def host(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> FakeHost:
    return FakeHost().install(monkeypatch)


def create(daemon: Daemon, name: str, **body: Any) -> str:
    return str(run(daemon.network_create({"Name": name, **body}))["Id"])


def names(daemon: Daemon, **filters: list[str]) -> list[str]:
    return sorted(n["Name"] for n in daemon.network_list(dict(filters)))


def test_create_makes_a_bridge_with_a_free_subnet_and_a_dns_listener(daemon: Daemon, host: FakeHost) -> None:
    network_id = create(daemon, "back", Labels={"tier": "db"})
    shown = daemon.network_inspect("back")
    [ipam] = shown["IPAM"]["Config"]
    subnet = ipaddress.IPv4Network(ipam["Subnet"])
    assert shown["Id"] == network_id and shown["Driver"] == "bridge" and shown["Labels"] == {"tier": "db"}
    assert ipam["Gateway"] == str(next(subnet.hosts()))
    assert not subnet.overlaps(daemon.networks.subnet)
    assert host.bridges == {f"br-{network_id[:12]}": f"{ipam['Gateway']}/{subnet.prefixlen}"}
    assert host.isolated == [f"br-{network_id[:12]}"] and host.dns == {ipam["Gateway"]}
    [event] = run(events(daemon, type=["network"]))
    assert (event["Action"], event["Actor"]["ID"]) == ("create", network_id)


def test_two_networks_get_different_subnets(daemon: Daemon, host: FakeHost) -> None:
    create(daemon, "one")
    create(daemon, "two")
    subnets = [
        ipaddress.IPv4Network(daemon.network_inspect(n)["IPAM"]["Config"][0]["Subnet"])
        for n in ("one", "two")
    ]
    assert not subnets[0].overlaps(subnets[1]) and len(host.bridges) == 2


def test_create_with_a_subnet_gateway_range_and_options(daemon: Daemon, host: FakeHost) -> None:
    create(
        daemon,
        "fixed",
        IPAM={"Config": [{"Subnet": "10.50.0.0/24", "Gateway": "10.50.0.254", "IPRange": "10.50.0.128/25"}]},
        Options={"com.docker.network.bridge.name": "fixedbr", "com.docker.network.driver.mtu": "1400"},
        Internal=True,
    )
    shown = daemon.network_inspect("fixed")
    assert shown["IPAM"]["Config"] == [
        {"Subnet": "10.50.0.0/24", "Gateway": "10.50.0.254", "IPRange": "10.50.0.128/25"}
    ]
    assert shown["Internal"] is True and host.bridges == {"fixedbr": "10.50.0.254/24"}


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        ({"Name": ""}, InvalidArgument, "invalid network name"),
        ({"Name": "-x"}, InvalidArgument, "invalid network name"),
        ({"Driver": "overlay"}, NotFound, 'plugin "overlay" not found'),
        ({"Driver": "host"}, Forbidden, 'only one instance of "host" network'),
        ({"EnableIPv6": True}, InvalidArgument, "IPv6"),
        ({"Ingress": True}, InvalidArgument, "swarm networks"),
        ({"Options": {"com.example.x": "1"}}, InvalidArgument, "com.example.x is not supported"),
        ({"Options": {"com.docker.network.driver.mtu": "9"}}, InvalidArgument, "invalid MTU"),
        ({"Options": {"com.docker.network.bridge.enable_icc": "maybe"}}, InvalidArgument, "true or false"),
        (
            {"Options": {"com.docker.network.bridge.name": "has space"}},
            InvalidArgument,
            "invalid bridge name",
        ),
        ({"IPAM": {"Driver": "dhcp"}}, NotFound, 'plugin "dhcp" not found'),
        (
            {"IPAM": {"Config": [{"Subnet": "10.1.0.0/24"}, {"Subnet": "10.2.0.0/24"}]}},
            InvalidArgument,
            "one IPv4 subnet",
        ),
        ({"IPAM": {"Config": [{"Subnet": "10.1.0.0/33"}]}}, InvalidArgument, ""),
        ({"IPAM": {"Config": [{"Gateway": "10.1.0.1"}]}}, InvalidArgument, "need a Subnet"),
        (
            {"IPAM": {"Config": [{"Subnet": "10.1.0.0/24", "Gateway": "10.9.0.1"}]}},
            InvalidArgument,
            "not in subnet",
        ),
        (
            {"IPAM": {"Config": [{"Subnet": "10.1.0.0/24", "Gateway": "x"}]}},
            InvalidArgument,
            "not an IPv4 address",
        ),
        (
            {"IPAM": {"Config": [{"Subnet": "10.1.0.0/24", "IPRange": "10.2.0.0/25"}]}},
            InvalidArgument,
            "not within subnet",
        ),
        ({"IPAM": {"Config": [{"Subnet": "172.30.1.0/24"}]}}, Forbidden, "Pool overlaps"),
    ],
)
def test_create_refuses_bad_input_and_makes_nothing(
    daemon: Daemon, host: FakeHost, body: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message or None):
        run(daemon.network_create({"Name": "net", **body}))
    assert names(daemon) == ["bridge", "host", "none"] and host.bridges == {}


def test_create_of_a_name_in_use_is_a_conflict(daemon: Daemon, host: FakeHost) -> None:
    create(daemon, "back", IPAM={"Config": [{"Subnet": "10.60.0.0/24"}]})
    for name in ("back", "bridge", "host"):
        with pytest.raises(Conflict, match=f"network with name {name} already exists"):
            create(daemon, name)
    with pytest.raises(Forbidden, match="Pool overlaps"):
        create(daemon, "again", IPAM={"Config": [{"Subnet": "10.60.0.128/25"}]})
    with pytest.raises(Conflict, match=r"bridge name .* is already in use"):
        create(daemon, "samebridge", Options={"com.docker.network.bridge.name": daemon.networks.bridge})


def test_inspect_by_name_id_and_prefix_and_the_predefined_ones(daemon: Daemon, host: FakeHost) -> None:
    network_id = create(daemon, "back")
    assert daemon.network_inspect(network_id[:12])["Name"] == "back"
    bridge = daemon.network_inspect("bridge")
    assert bridge["Driver"] == "bridge" and bridge["IPAM"]["Config"][0]["Subnet"] == "172.30.0.0/16"
    assert daemon.network_inspect(bridge["Id"][:12])["Name"] == "bridge"
    assert daemon.network_inspect("none")["Driver"] == "null"
    with pytest.raises(NotFound, match="network ghost not found"):
        daemon.network_inspect("ghost")


def test_list_filters(daemon: Daemon, host: FakeHost) -> None:
    create(daemon, "front", Labels={"tier": "web"})
    create(daemon, "back", Labels={"tier": "db"})
    assert names(daemon) == ["back", "bridge", "front", "host", "none"]
    assert names(daemon, type=["custom"]) == ["back", "front"]
    assert names(daemon, type=["builtin"]) == ["bridge", "host", "none"]
    assert names(daemon, name=["ont"]) == ["front"]
    assert names(daemon, label=["tier=db"]) == ["back"]
    assert names(daemon, driver=["null"]) == ["none"]
    assert names(daemon, dangling=["true"]) == ["back", "front"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"colour": ["red"]}, "invalid filter 'colour'"),
        ({"type": ["odd"]}, "'type'='odd'"),
        ({"dangling": ["maybe"]}, "dangling"),
    ],
)
def test_list_refuses_unknown_filters(daemon: Daemon, filters: dict[str, list[str]], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        daemon.network_list(filters)


def test_remove_takes_the_bridge_down(daemon: Daemon, host: FakeHost) -> None:
    network_id = create(daemon, "back")
    run(daemon.network_remove("back"))
    assert names(daemon) == ["bridge", "host", "none"]
    assert host.bridges == {} and host.isolated == [] and host.dns == set()
    assert [e["Action"] for e in run(events(daemon, type=["network"]))] == ["create", "destroy"]
    with pytest.raises(NotFound, match=f"network {network_id} not found"):
        run(daemon.network_remove(network_id))


@pytest.mark.parametrize("name", ["bridge", "host", "none", "default"])
def test_predefined_networks_cannot_be_removed(daemon: Daemon, name: str) -> None:
    with pytest.raises(Forbidden, match="pre-defined network and cannot be removed"):
        run(daemon.network_remove(name))


def test_a_network_with_a_running_container_cannot_be_removed(daemon: Daemon, host: FakeHost) -> None:
    create(daemon, "back")
    run(import_image(daemon, "base"))
    run(create_container(daemon, "db", {"Image": "base", "HostConfig": {"NetworkMode": "back"}}))
    network = daemon.networks.store.get("back")
    endpoints.lease(daemon, network, network.endpoints[daemon.container_get("db").id])  # as its start does
    assert list(daemon.network_inspect("back")["Containers"]) == [daemon.container_get("db").id]
    with pytest.raises(Conflict, match="has active endpoints"):
        run(daemon.network_remove("back"))
    assert "back" in names(daemon)


def test_prune_removes_unused_networks_by_label(daemon: Daemon, host: FakeHost) -> None:
    create(daemon, "keep", Labels={"keep": "yes"})
    create(daemon, "drop")
    assert run(daemon.network_prune({"label!": ["keep=yes"]})) == {"NetworksDeleted": ["drop"]}
    assert run(daemon.network_prune({"label": ["nothing"]})) == {"NetworksDeleted": None}
    assert run(daemon.network_prune({})) == {"NetworksDeleted": ["keep"]}
    assert host.bridges == {}


@pytest.mark.parametrize(
    ("filters", "message"),
    [({"until": ["1h"]}, "'until' filter is not supported"), ({"name": ["x"]}, "invalid filter 'name'")],
)
def test_prune_refuses_unsupported_filters(
    daemon: Daemon, filters: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        run(daemon.network_prune(filters))
