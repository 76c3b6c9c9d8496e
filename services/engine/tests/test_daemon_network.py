"""daemon/network.py: a container's NetworkSettings in each mode, its ports in ``docker ps``, the
``network=`` filter, and its /etc/hosts and links at start (on ``FakeRuntime``, network ``none``:
a bridge endpoint needs a veth, so root)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.daemon.daemon import Daemon

from .fakes_daemon import create_container, import_image, new_daemon, run, start


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        run(import_image(d, "base", changes=['CMD ["/bin/sh"]', "EXPOSE 80 53/udp"]))
        run(d.network_create({"Name": "back", "IPAM": {"Config": [{"Subnet": "10.80.0.0/24"}]}}))
        yield d


def create(daemon: Daemon, name: str, mode: str = "", **config: object) -> None:
    host_config = {"NetworkMode": mode} if mode else {}
    run(create_container(daemon, name, {"Image": "base", "HostConfig": host_config, **config}))


def test_each_mode_shows_its_network_and_ids_stay_the_same(daemon: Daemon) -> None:
    for name, mode in (("default", ""), ("hosted", "host"), ("isolated", "none"), ("user", "back")):
        create(daemon, name, mode)
    shown = {
        name: daemon.container_inspect(name)["NetworkSettings"]["Networks"]
        for name in ("default", "hosted", "isolated", "user")
    }
    assert {name: sorted(networks) for name, networks in shown.items()} == {
        "default": ["bridge"],
        "hosted": ["host"],
        "isolated": ["none"],
        "user": ["back"],
    }
    assert shown["default"]["bridge"]["NetworkID"] == daemon.network_inspect("bridge")["Id"]
    assert shown["hosted"]["host"]["NetworkID"] == daemon.network_inspect("host")["Id"]
    assert shown["user"]["back"]["NetworkID"] == daemon.network_inspect("back")["Id"]
    assert shown["default"]["bridge"]["IPAddress"] == ""  # an address only while it runs


def test_ps_network_filter_by_name_and_id(daemon: Daemon) -> None:
    create(daemon, "default")
    create(daemon, "user", "back")
    create(daemon, "isolated", "none")

    def names(*refs: str) -> list[str]:
        listed = daemon.container_list(all=True, limit=0, size=False, filters={"network": list(refs)})
        return sorted(c["Names"][0] for c in listed)

    assert names("bridge") == ["/default"]
    assert names("back") == ["/user"] == names(daemon.network_inspect("back")["Id"][:12])
    assert names("none", "back") == ["/isolated", "/user"]
    assert names("nowhere") == []


def test_ps_lists_exposed_ports_and_a_running_container_shows_them_unpublished(daemon: Daemon) -> None:
    run(start(daemon, "web"))
    [web] = daemon.container_list(all=False, limit=0, size=False, filters={})
    assert web["Ports"] == [{"PrivatePort": 53, "Type": "udp"}, {"PrivatePort": 80, "Type": "tcp"}]
    ports = daemon.container_inspect("web")["NetworkSettings"]["Ports"]
    assert ports == {"80/tcp": None, "53/udp": None}


def test_hosts_file_at_start_has_localhost_and_extra_hosts(daemon: Daemon) -> None:
    run(start(daemon, "web", HostConfig={"ExtraHosts": ["db.local:10.1.2.3"]}))
    hosts = Path(daemon.container_inspect("web")["HostsPath"]).read_text()
    assert hosts.startswith("127.0.0.1\tlocalhost\n") and "10.1.2.3\tdb.local\n" in hosts
    hostname = Path(daemon.container_inspect("web")["HostnamePath"]).read_text()
    assert hostname == daemon.container_get("web").id[:12] + "\n"


def test_a_link_to_a_container_that_is_not_running_fails_the_start(daemon: Daemon) -> None:
    create(daemon, "db", "none")
    create(daemon, "web", HostConfig={"NetworkMode": "none", "Links": ["db:database"]})
    with pytest.raises(InvalidArgument, match="Cannot link to a non running container: /db AS /web/database"):
        run(daemon.container_start("web"))
    assert daemon.container_inspect("web")["State"]["Running"] is False
