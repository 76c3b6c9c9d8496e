"""``--dns``, ``--dns-search``, ``--dns-option`` and ``--add-host``: the container's resolv.conf and hosts."""

from __future__ import annotations

import subprocess

import docker
import pytest
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]

FLAGS = (
    "--dns",
    "10.0.0.53",
    "--dns",
    "10.0.0.54",
    "--dns-search",
    "corp.example",
    "--dns-option",
    "ndots:2",
    "--add-host",
    "db:10.0.0.7",
    "--add-host",
    "gw:host-gateway",
)


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def gateway(engine: Engine) -> str:
    return engine.subnet.rsplit(".", 1)[0] + ".1"


def check(engine: Engine, resolv: str, hosts: str) -> None:
    assert resolv == "nameserver 10.0.0.53\nnameserver 10.0.0.54\nsearch corp.example\noptions ndots:2\n"
    lines = hosts.splitlines()
    assert lines[0] == "127.0.0.1\tlocalhost"
    # the extra hosts come after Docker's header and before the container's own name
    assert lines[6:8] == ["10.0.0.7\tdb", f"{gateway(engine)}\tgw"]
    assert lines[8].startswith(engine.subnet.rsplit(".", 1)[0])


@needs_docker
def test_docker_run_dns_flags_and_add_host(engine: Engine) -> None:
    out = ok(
        engine.docker(
            "run", "--rm", *FLAGS, "busybox", "sh", "-c", "cat /etc/resolv.conf; echo ==; cat /etc/hosts"
        )
    )
    resolv, hosts = out.split("==\n")
    check(engine, resolv, hosts)
    host_config = engine.json("GET", "/containers/json?all=1")  # removed with --rm: nothing left
    assert host_config == []


def test_wharf_run_dns_flags_and_add_host(engine: Engine) -> None:
    ok(engine.wharf("run", "--name", "dnsflags", *FLAGS, "busybox", "true"))
    try:
        info = engine.json("GET", "/containers/dnsflags/json")
        assert info["HostConfig"]["Dns"] == ["10.0.0.53", "10.0.0.54"]
        assert info["HostConfig"]["ExtraHosts"] == ["db:10.0.0.7", "gw:host-gateway"]
        with open(info["ResolvConfPath"]) as resolv, open(info["HostsPath"]) as hosts:
            check(engine, resolv.read(), hosts.read())
    finally:
        engine.wharf("rm", "-f", "dnsflags")


def test_add_host_with_host_network_is_appended_to_the_hosts_file(engine: Engine) -> None:
    out = ok(
        engine.wharf(
            "run", "--rm", "--network", "host", "--add-host", "db:10.0.0.7", "busybox", "cat", "/etc/hosts"
        )
    )
    assert out.splitlines()[-1] == "10.0.0.7\tdb"


@pytest.mark.parametrize(
    ("host_config", "message"),
    [
        ({"ExtraHosts": ["db"]}, "bad format for add-host"),
        ({"ExtraHosts": ["db:999.1.1.1"]}, "invalid IP address in add-host"),
        ({"Dns": ["not-an-ip"]}, "invalid IP address in dns"),
        ({"DnsSearch": ["two words"]}, "invalid dns search domain"),
    ],
)
def test_bad_dns_settings_are_400_and_create_nothing(
    engine: Engine, host_config: dict[str, list[str]], message: str
) -> None:
    before = engine.json("GET", "/containers/json?all=1")
    status, body = engine.request(
        "POST",
        "/containers/create?name=baddns",
        {"Image": "busybox", "Cmd": ["true"], "HostConfig": host_config},
    )
    assert status == 400 and message in body.decode(), body
    assert engine.json("GET", "/containers/json?all=1") == before
    assert engine.request("GET", "/containers/baddns/json")[0] == 404


def test_inspect_shows_empty_dns_settings_when_none_were_given(engine: Engine) -> None:
    status, body = engine.request(
        "POST", "/containers/create?name=plaindns", {"Image": "busybox", "Cmd": ["true"]}
    )
    assert status == 201, body
    try:
        host = engine.json("GET", "/containers/plaindns/json")["HostConfig"]
        assert (host["Dns"], host["DnsOptions"], host["DnsSearch"], host["ExtraHosts"]) == ([], [], [], None)
    finally:
        engine.request("DELETE", "/containers/plaindns?force=1")


def test_docker_py_dns_settings_and_extra_hosts(engine: Engine) -> None:
    client = docker.DockerClient(base_url=engine.host, version="1.45")
    try:
        out = client.containers.run(
            "busybox",
            ["sh", "-c", "cat /etc/resolv.conf; echo ==; cat /etc/hosts"],
            remove=True,
            dns=["10.0.0.53", "10.0.0.54"],
            dns_search=["corp.example"],
            dns_opt=["ndots:2"],
            extra_hosts={"db": "10.0.0.7", "gw": "host-gateway"},
        )
        resolv, hosts = out.decode().split("==\n")
        check(engine, resolv, hosts)
        with pytest.raises(docker.errors.APIError, match="invalid IP address in add-host"):
            client.containers.create("busybox", "true", extra_hosts={"db": "nowhere"})
    finally:
        client.close()
