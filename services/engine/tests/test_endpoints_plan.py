"""What a container create's ``NetworkingConfig`` becomes: the endpoints recorded, or a clear 4xx."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from wharf_common.errors import Conflict, InvalidArgument
from wharf_engine.daemon import endpoints
from wharf_engine.network.model import Endpoint, Network
from wharf_engine.network.store import NetworkStore
from wharf_engine.shapes import ContainerConfig, HostConfig


def daemon_with(tmp_path: Path, *, subnet_given: bool = True) -> Any:
    store = NetworkStore(tmp_path)
    store.add(
        Network(
            id="a" * 64,
            name="back",
            created="t",
            bridge="br-a",
            subnet="10.7.0.0/24",
            gateway="10.7.0.1",
            subnet_given=subnet_given,
        )
    )
    return SimpleNamespace(networks=SimpleNamespace(store=store))


def plan(daemon: Any, mode: str, endpoints_config: Any, config: ContainerConfig | None = None) -> list[Any]:
    host_config: HostConfig = {"NetworkMode": mode}
    return endpoints.plan(
        daemon, "c" * 64, "web", host_config, config or {}, {"EndpointsConfig": endpoints_config}
    )


def test_primary_network_gets_its_endpoint_with_compose_aliases(tmp_path: Path) -> None:
    daemon = daemon_with(tmp_path)
    [(network, endpoint)] = plan(daemon, "back", {"back": {"Aliases": ["db", "db"], "Links": ["x:y"]}})
    assert network.name == "back" and endpoint.aliases == ["db"] and endpoint.links == ["x:y"]
    [(_, by_id)] = plan(daemon, "a" * 12, {})  # NetworkMode by id prefix, no EndpointsConfig
    assert by_id.aliases == []


def test_mac_address_goes_to_the_primary_endpoint_and_config(tmp_path: Path) -> None:
    daemon = daemon_with(tmp_path)
    config: ContainerConfig = {"MacAddress": "02:42:AA:bb:cc:dd"}
    [(_, endpoint)] = plan(daemon, "back", {}, config)
    assert endpoint.mac_config == "02:42:aa:bb:cc:dd" and config["MacAddress"] == "02:42:aa:bb:cc:dd"
    assert plan(daemon, "default", {"default": {"MacAddress": "02:00:00:00:00:01"}}, config) == []
    assert config["MacAddress"] == "02:00:00:00:00:01"


@pytest.mark.parametrize(
    ("mode", "wanted"),
    [
        ("back", {"back": {"IPAMConfig": {"IPv4Address": "10.8.0.5"}}}),  # outside the subnet
        ("back", {"back": {"IPAMConfig": {"IPv4Address": "nope"}}}),
        ("back", {"back": {"IPAMConfig": {"IPv6Address": "fd00::5"}}}),
        ("back", {"back": {"IPAMConfig": {"LinkLocalIPs": ["10.0.0.1"]}}}),
        ("back", {"back": {"MacAddress": "01:00:5e:00:00:01"}}),  # multicast
        ("default", {"default": {"Aliases": ["x"]}}),  # aliases need a user network
        ("host", {"back": {}}),
        ("back", {"bridge": {}}),
        ("ghost", {}),
    ],
)
def test_bad_endpoint_config_is_400(tmp_path: Path, mode: str, wanted: Any) -> None:
    with pytest.raises(InvalidArgument):
        plan(daemon_with(tmp_path), mode, wanted)


def test_static_address_taken_by_another_container_is_409(tmp_path: Path) -> None:
    daemon = daemon_with(tmp_path)
    network = daemon.networks.store.get("back")
    network.endpoints["o" * 64] = Endpoint(
        network_id=network.id, container_id="o" * 64, name="o", static_ip="10.7.0.9"
    )
    with pytest.raises(Conflict):
        plan(daemon, "back", {"back": {"IPAMConfig": {"IPv4Address": "10.7.0.9"}}})
    with pytest.raises(Conflict):
        plan(daemon, "back", {"back": {"IPAMConfig": {"IPv4Address": "10.7.0.1"}}})  # the gateway


def test_static_address_needs_a_configured_subnet(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="user configured subnets"):
        plan(
            daemon_with(tmp_path, subnet_given=False),
            "back",
            {"back": {"IPAMConfig": {"IPv4Address": "10.7.0.9"}}},
        )
