"""The engine's name table over a real NetworkStore: scoping by asker, aliases, links, PTR, upstreams."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from pydantic import ValidationError
from wharf_engine.containers.errors import NoSuchContainer
from wharf_engine.daemon.discovery import ContainerNames, HostResolvers
from wharf_engine.network.dns import Upstream
from wharf_engine.network.model import Endpoint, Network
from wharf_engine.network.store import NetworkStore
from wharf_engine.settings import Settings

ENGINE_UPSTREAM = Upstream("10.255.0.53")


class Containers:
    def __init__(self, host_configs: dict[str, dict[str, Any]]) -> None:
        self.host_configs = host_configs

    def get(self, ref: str) -> Any:
        if ref not in self.host_configs:
            raise NoSuchContainer(ref)
        return SimpleNamespace(host_config=self.host_configs[ref])


def network(store: NetworkStore, name: str, subnet: str, *endpoints: Endpoint) -> Network:
    net = Network(
        id=name * 4,
        name=name,
        created="",
        bridge=f"br-{name}",
        subnet=subnet,
        gateway=subnet.replace("0/24", "1"),
    )
    net.endpoints = {e.container_id: e for e in endpoints}
    for endpoint in endpoints:
        endpoint.network_id = net.id
    store.add(net)
    return net


def endpoint(
    cid: str, name: str, ip: str, *aliases: str, links: tuple[str, ...] = (), order: int = 0
) -> Endpoint:
    return Endpoint(
        network_id="",
        container_id=cid,
        name=name,
        aliases=list(aliases),
        links=list(links),
        ip=ip,
        prefixlen=24,
        order=order,
    )


@pytest.fixture
def names(tmp_path: Path) -> ContainerNames:
    store = NetworkStore(tmp_path)
    web = "a" * 64
    network(
        store,
        "front",
        "10.1.0.0/24",
        endpoint(web, "Web", "10.1.0.2", "www", order=1),
        endpoint("b" * 64, "client", "10.1.0.3", links=("/Web:/client/site",), order=2),
        endpoint("c" * 64, "stopped", "", order=3),
    )
    network(
        store, "back", "10.2.0.0/24", endpoint("d" * 64, "db", "10.2.0.2"), endpoint(web, "Web", "10.2.0.3")
    )
    containers = Containers({web: {}, "b" * 64: {"Dns": ["10.9.9.9"]}, "d" * 64: {"Links": ["db:self"]}})
    daemon = SimpleNamespace(networks=SimpleNamespace(store=store), containers=containers)
    return ContainerNames(cast(Any, daemon), lambda: [ENGINE_UPSTREAM])


def test_names_aliases_and_short_ids_for_containers_that_share_a_network(names: ContainerNames) -> None:
    client, web = "10.1.0.3", "10.1.0.2"
    assert names.resolve(client, "web") == ["10.1.0.2"]  # asked in lower case, as the server does
    assert names.resolve(client, "www") == names.resolve(client, "a" * 12) == ["10.1.0.2"]
    assert names.resolve(client, "web.front") == ["10.1.0.2"]
    assert names.resolve(client, "db") == []  # on another network: not seen, NXDOMAIN
    assert names.resolve(client, "stopped") == []  # no address while stopped
    assert names.resolve(client, "db.example") is None  # dotted and unknown: forwarded
    assert sorted(names.resolve(web, "db") or []) == ["10.2.0.2"]  # web is on both networks
    assert names.resolve("10.2.0.3", "www") == ["10.1.0.2"]  # asking from its other address


def test_links_are_the_linking_containers_own_aliases(names: ContainerNames) -> None:
    assert names.resolve("10.1.0.3", "site") == ["10.1.0.2"]  # EndpointsConfig Links
    assert names.resolve("10.1.0.2", "site") == []
    assert names.resolve("10.2.0.2", "self") == ["10.2.0.2"]  # HostConfig.Links


def test_ptr_upstreams_and_strangers(names: ContainerNames) -> None:
    assert names.reverse("10.1.0.3", "10.1.0.2") == "Web.front"
    assert names.reverse("10.1.0.3", "10.2.0.2") is None
    assert names.forwarders("10.1.0.3") == [Upstream("10.9.9.9")]  # its --dns
    assert names.forwarders("10.1.0.2") == [ENGINE_UPSTREAM]
    for stranger in ("10.1.0.99", "192.0.2.1", "not-an-address"):
        assert names.resolve(stranger, "web") is None and names.forwarders(stranger) is None


def test_host_resolvers_follow_the_file(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    read = HostResolvers(conf)
    assert read() == []
    conf.write_text("nameserver 10.0.0.2\n")
    assert read() == [Upstream("10.0.0.2")]
    conf.write_text("nameserver 10.0.0.3\nnameserver 10.0.0.4\n")
    os.utime(conf, ns=(1, 1))  # a new stamp even within the clock's resolution
    assert read() == [Upstream("10.0.0.3"), Upstream("10.0.0.4")]
    conf.unlink()
    assert read() == [Upstream("10.0.0.3"), Upstream("10.0.0.4")]  # replaced: the last ones meanwhile


def test_dns_settings_are_checked_at_start() -> None:
    assert Settings(dns_upstreams=["10.0.0.2", "127.0.0.1:5353"]).dns_timeout == 2.0
    for bad in ({"dns_upstreams": ["dns.example"]}, {"dns_timeout": 0}, {"dns_max_inflight": 0}):
        with pytest.raises(ValidationError):
            Settings(**bad)
