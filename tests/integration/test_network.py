"""Networking: published ports, container to container, links, --net modes, nothing left behind."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from engines import Engine, needs_docker, wait_for

pytestmark = [pytest.mark.root, needs_docker]


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def veths(engine: Engine) -> list[str]:
    out = subprocess.run(
        ["ip", "-o", "link", "show", "master", engine.bridge], capture_output=True, text=True
    )
    return [line.split(":")[1].strip().split("@")[0] for line in out.stdout.splitlines()]


def fetch(url: str) -> bytes:
    def attempt() -> bytes | None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bytes(response.read())
        except OSError:
            return None

    return bytes(wait_for(attempt, timeout=10, interval=0.1))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_publish_all_exposed_ports_answers_on_loopback(engine: Engine) -> None:
    ok(engine.docker("run", "-d", "--name", "web", "-P", "--expose", "8000", "busybox",
                     "httpd", "-f", "-p", "8000", "-h", "/etc"))  # fmt: skip
    try:
        port = ok(engine.docker("port", "web", "8000")).splitlines()[0].rsplit(":", 1)[1]
        assert (
            fetch(f"http://127.0.0.1:{port}/hostname").strip()
            == ok(engine.docker("inspect", "-f", "{{.Config.Hostname}}", "web")).strip().encode()
        )
        ip = ok(engine.docker("inspect", "--format", "{{ .NetworkSettings.IPAddress }}", "web")).strip()
        assert ip.startswith(engine.subnet.rsplit(".", 1)[0])
        assert f"0.0.0.0:{port}->8000/tcp" in ok(engine.docker("ps", "--filter", "name=web"))
        wharf_port = engine.wharf("port", "web", "8000")
        if wharf_port.returncode == 0:
            assert port in wharf_port.stdout.decode()
    finally:
        ok(engine.docker("rm", "-f", "web"))
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(port)), timeout=1)  # released with the container


def test_explicit_port_mapping_and_port_in_use(engine: Engine) -> None:
    port = free_port()
    ok(engine.docker("run", "-d", "--name", "mapped", "-p", f"{port}:8000", "busybox",
                     "httpd", "-f", "-p", "8000", "-h", "/etc"))  # fmt: skip
    try:
        assert fetch(f"http://127.0.0.1:{port}/passwd").startswith(b"root:")
        before = (engine.json("GET", "/containers/json?all=1"), veths(engine))
        clash = engine.docker("run", "-d", "--name", "clash", "-p", f"{port}:8000", "busybox", "sleep", "30")
        assert clash.returncode != 0 and b"port is already allocated" in clash.stderr
        assert veths(engine) == before[1]
        state = engine.json("GET", "/containers/clash/json")["State"]
        assert not state["Running"]
    finally:
        engine.docker("rm", "-f", "mapped", "clash")


def test_containers_reach_each_other_by_ip_and_by_link(engine: Engine) -> None:
    ok(engine.docker("run", "-d", "--name", "db", "-e", "SECRET=s3", "--expose", "6379", "busybox",
                     "httpd", "-f", "-p", "6379", "-h", "/etc"))  # fmt: skip
    try:
        ip = ok(engine.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "db")).strip()
        out = ok(engine.docker("run", "--rm", "busybox", "wget", "-qO-", f"http://{ip}:6379/hostname"))
        assert out.strip() == ok(engine.docker("inspect", "-f", "{{.Config.Hostname}}", "db")).strip()
        env = ok(engine.docker("run", "--rm", "--name", "webapp", "--link", "db:cache", "busybox", "env"))
        assert f"CACHE_PORT=tcp://{ip}:6379" in env
        assert f"CACHE_PORT_6379_TCP_ADDR={ip}" in env and "CACHE_PORT_6379_TCP_PROTO=tcp" in env
        assert "CACHE_NAME=/webapp/cache" in env and "CACHE_ENV_SECRET=s3" in env
        via_alias = ok(engine.docker("run", "--rm", "--link", "db:cache", "busybox", "wget", "-qO-",
                                     "http://cache:6379/hostname"))  # fmt: skip
        assert via_alias.strip()
        missing = engine.docker("run", "--rm", "--link", "ghost:g", "busybox", "true")
        assert missing.returncode != 0 and b"No such container: ghost" in missing.stderr
    finally:
        engine.docker("rm", "-f", "db")


def test_link_to_stopped_container_is_refused(engine: Engine) -> None:
    ok(engine.docker("create", "--name", "sleeper", "busybox", "true"))
    try:
        result = engine.docker("run", "--rm", "--link", "sleeper:s", "busybox", "true")
        assert result.returncode != 0 and b"non running container" in result.stderr
    finally:
        engine.docker("rm", "-f", "sleeper")


def test_net_modes_none_host_container(engine: Engine) -> None:
    links = ok(engine.docker("run", "--rm", "--net", "none", "busybox", "ip", "-o", "link"))
    assert "lo:" in links and "eth0" not in links
    host_name = socket.gethostname()
    assert ok(engine.docker("run", "--rm", "--net", "host", "busybox", "hostname")).strip() == host_name
    ok(engine.docker("run", "-d", "--name", "netowner", "busybox", "sleep", "60"))
    try:
        ip = ok(engine.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "netowner")).strip()
        shared = ok(
            engine.docker("run", "--rm", "--net", "container:netowner", "busybox", "ip", "-4", "-o", "addr")
        )
        assert ip in shared
        ok(engine.docker("stop", "-t", "0", "netowner"))
        stopped = engine.docker("run", "--rm", "--net", "container:netowner", "busybox", "true")
        assert stopped.returncode != 0 and b"is not running" in stopped.stderr
    finally:
        engine.docker("rm", "-f", "netowner")


def test_addresses_are_freed_and_veths_removed(engine: Engine) -> None:
    first = ok(engine.docker("run", "-d", "busybox", "sleep", "60")).strip()
    ip = ok(engine.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", first)).strip()
    second = ok(engine.docker("run", "-d", "busybox", "sleep", "60")).strip()
    assert ok(engine.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", second)).strip() != ip
    assert len(veths(engine)) == 2
    ok(engine.docker("rm", "-f", first, second))
    wait_for(lambda: veths(engine) == [], timeout=10)
    third = ok(engine.docker("run", "-d", "busybox", "sleep", "60")).strip()
    assert ok(engine.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", third)).strip() == ip
    ok(engine.docker("rm", "-f", third))
    time.sleep(0.1)


@pytest.mark.parametrize("spec", ["abc", "70000:80", "80:abc", "80/sctp"])
def test_bad_port_specs_are_400(engine: Engine, spec: str) -> None:
    port, _, host = spec.partition(":")
    container_port = host or port
    key = container_port if "/" in container_port else f"{container_port}/tcp"
    bindings = {key: [{"HostPort": port if host else ""}]}
    body = {"Image": "busybox", "HostConfig": {"PortBindings": bindings}}
    status, _ = engine.request("POST", "/containers/create", body)
    assert status == 400


def test_icc_false_isolates_containers_but_not_published_ports(busybox_tar: Path) -> None:
    from engines import make_engine
    from seed import seed

    engine = make_engine()
    engine.extra = ("--icc", "false")
    try:
        engine.start()
        seed(str(engine.socket), busybox_tar)
        ok(engine.docker("run", "-d", "--name", "lonely", "-p", "127.0.0.1::8000", "busybox",
                         "httpd", "-f", "-p", "8000", "-h", "/etc"))  # fmt: skip
        ip = ok(engine.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "lonely")).strip()
        blocked = engine.docker(
            "run", "--rm", "busybox", "wget", "-T", "2", "-qO-", f"http://{ip}:8000/hostname"
        )
        assert blocked.returncode != 0
        port = ok(engine.docker("port", "lonely", "8000")).strip().rsplit(":", 1)[1]
        assert fetch(f"http://127.0.0.1:{port}/hostname")  # the host still reaches it
    finally:
        engine.cleanup()
