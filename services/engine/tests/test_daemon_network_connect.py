"""daemon/network_connect.py: ``docker network connect|disconnect`` of a container that is not
running (its endpoint is recorded, and plugged at its next start), on user networks and the default
bridge."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from wharf_common.errors import Conflict, Forbidden, InvalidArgument, NotFound
from wharf_engine.daemon.daemon import Daemon

from .fakes_daemon import create_container, events, import_image, new_daemon, run


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        run(import_image(d, "base"))
        run(d.network_create({"Name": "back", "IPAM": {"Config": [{"Subnet": "10.70.0.0/24"}]}}))
        run(create_container(d, "web", {"Image": "base"}))
        yield d


def networks_of(daemon: Daemon, ref: str) -> list[str]:
    return sorted(daemon.container_inspect(ref)["NetworkSettings"]["Networks"])


def test_connect_records_the_endpoint_with_its_aliases_and_address(daemon: Daemon) -> None:
    run(
        daemon.network_connect(
            "back", "web", {"Aliases": ["www"], "IPAMConfig": {"IPv4Address": "10.70.0.10"}}
        )
    )
    assert networks_of(daemon, "web") == ["back", "bridge"]
    entry = daemon.container_inspect("web")["NetworkSettings"]["Networks"]["back"]
    ipam = entry["IPAMConfig"]
    assert "www" in (entry["Aliases"] or []) and ipam is not None and ipam["IPv4Address"] == "10.70.0.10"
    assert entry["NetworkID"] == daemon.network_inspect("back")["Id"]
    [event] = run(events(daemon, type=["network"], event=["connect"]))
    assert event["Actor"]["Attributes"]["container"] == daemon.container_get("web").id


def test_the_endpoint_survives_an_engine_restart(daemon: Daemon) -> None:
    run(daemon.network_connect("back", "web", None))
    daemon.networks.store.load()
    assert daemon.container_get("web").id in daemon.networks.store.get("back").endpoints


def test_disconnect_drops_the_endpoint(daemon: Daemon) -> None:
    run(daemon.network_connect("back", "web", None))
    run(daemon.network_disconnect("back", "web", force=False))
    assert networks_of(daemon, "web") == ["bridge"]
    assert [e["Action"] for e in run(events(daemon, type=["network"]))] == ["create", "connect", "disconnect"]


def test_connect_twice_is_refused(daemon: Daemon) -> None:
    run(daemon.network_connect("back", "web", None))
    with pytest.raises(Forbidden, match="endpoint with name web already exists in network back"):
        run(daemon.network_connect("back", "web", None))


def test_disconnect_of_a_container_not_on_the_network_is_refused(daemon: Daemon) -> None:
    with pytest.raises(Forbidden, match="is not connected to network back"):
        run(daemon.network_disconnect("back", "web", force=False))


def test_a_static_address_taken_by_another_container_is_a_conflict(daemon: Daemon) -> None:
    run(create_container(daemon, "db", {"Image": "base"}))
    run(daemon.network_connect("back", "db", {"IPAMConfig": {"IPv4Address": "10.70.0.10"}}))
    with pytest.raises(Conflict, match=r"Address already in use: 10\.70\.0\.10"):
        run(daemon.network_connect("back", "web", {"IPAMConfig": {"IPv4Address": "10.70.0.10"}}))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"IPAMConfig": {"IPv4Address": "10.99.0.1"}}, "no configured subnet"),
        ({"IPAMConfig": {"IPv4Address": "nope"}}, "invalid IPv4 address"),
        ({"IPAMConfig": {"IPv6Address": "fd00::1"}}, "IPv6"),
        ({"MacAddress": "zz"}, "invalid MAC address"),
    ],
)
def test_a_bad_endpoint_config_is_refused(daemon: Daemon, config: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        run(daemon.network_connect("back", "web", config))
    assert networks_of(daemon, "web") == ["bridge"]


@pytest.mark.parametrize("network", ["host", "none"])
def test_host_and_none_networks_refuse_connect_and_disconnect(daemon: Daemon, network: str) -> None:
    with pytest.raises(Forbidden, match=f"cannot be connected to the {network} network"):
        run(daemon.network_connect(network, "web", None))
    with pytest.raises(Forbidden, match=f"cannot be disconnected from the {network} network"):
        run(daemon.network_disconnect(network, "web", force=False))


def test_a_container_of_the_host_network_cannot_join_another(daemon: Daemon) -> None:
    run(create_container(daemon, "hosted", {"Image": "base", "HostConfig": {"NetworkMode": "host"}}))
    with pytest.raises(Forbidden, match="cannot be connected to any other network"):
        run(daemon.network_connect("back", "hosted", None))


def test_default_bridge_disconnect_then_connect_again(daemon: Daemon) -> None:
    run(daemon.network_disconnect("bridge", "web", force=False))
    assert networks_of(daemon, "web") == []
    with pytest.raises(Forbidden, match="is not connected to network bridge"):
        run(daemon.network_disconnect("bridge", "web", force=False))
    run(daemon.network_connect("bridge", "web", None))
    assert networks_of(daemon, "web") == ["bridge"]
    with pytest.raises(Forbidden, match="endpoint with name web already exists in network bridge"):
        run(daemon.network_connect("bridge", "web", None))


def test_the_default_bridge_refuses_aliases(daemon: Daemon) -> None:
    run(daemon.network_disconnect("bridge", "web", force=False))
    with pytest.raises(InvalidArgument, match="only on user defined networks"):
        run(daemon.network_connect("bridge", "web", {"Aliases": ["www"]}))


def test_unknown_network_or_container_is_not_found(daemon: Daemon) -> None:
    with pytest.raises(NotFound, match="network ghost not found"):
        run(daemon.network_connect("ghost", "web", None))
    with pytest.raises(NotFound, match="No such container: ghost"):
        run(daemon.network_connect("back", "ghost", None))
    with pytest.raises(NotFound, match="No such container: ghost"):
        run(daemon.network_disconnect("bridge", "ghost", force=False))
