"""Networking: published ports, container to container, links, --net modes, nothing left behind."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from engines import Engine, needs_docker, wait_for
from pyroute2 import Conntrack
from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple

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


def nat_rules(engine: Engine) -> str:
    """The engine's DNAT table for published ports ("" when there is none)."""
    table = f"wharf_ports_{engine.bridge}"
    out = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True)
    return out.stdout


def route_localnet(engine: Engine) -> str:
    return Path(f"/proc/sys/net/ipv4/conf/{engine.bridge}/route_localnet").read_text().strip()


def refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return True
    return False


def httpd(engine: Engine, name: str, *publish: str) -> tuple[str, str]:
    """A busybox httpd serving /etc on 8000 with ``-p`` ``publish``; (its address, the bridge's)."""
    flags = [arg for p in publish for arg in ("-p", p)]
    ok(
        engine.docker(
            "run", "-d", "--name", name, *flags, "busybox", "httpd", "-f", "-p", "8000", "-h", "/etc"
        )
    )
    fmt = "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}}"
    ip, gateway = ok(engine.docker("inspect", "-f", fmt, name)).split()
    return ip, gateway


def test_publish_all_exposed_ports_answers_on_loopback(engine: Engine) -> None:
    ok(
        engine.docker(
            "run",
            "-d",
            "--name",
            "web",
            "-P",
            "--expose",
            "8000",
            "busybox",
            "httpd",
            "-f",
            "-p",
            "8000",
            "-h",
            "/etc",
        )
    )
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
    ok(
        engine.docker(
            "run",
            "-d",
            "--name",
            "mapped",
            "-p",
            f"{port}:8000",
            "busybox",
            "httpd",
            "-f",
            "-p",
            "8000",
            "-h",
            "/etc",
        )
    )
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
    ok(
        engine.docker(
            "run",
            "-d",
            "--name",
            "db",
            "-e",
            "SECRET=s3",
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
    try:
        ip = ok(engine.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "db")).strip()
        out = ok(engine.docker("run", "--rm", "busybox", "wget", "-qO-", f"http://{ip}:6379/hostname"))
        assert out.strip() == ok(engine.docker("inspect", "-f", "{{.Config.Hostname}}", "db")).strip()
        env = ok(engine.docker("run", "--rm", "--name", "webapp", "--link", "db:cache", "busybox", "env"))
        assert f"CACHE_PORT=tcp://{ip}:6379" in env
        assert f"CACHE_PORT_6379_TCP_ADDR={ip}" in env and "CACHE_PORT_6379_TCP_PROTO=tcp" in env
        assert "CACHE_NAME=/webapp/cache" in env and "CACHE_ENV_SECRET=s3" in env
        via_alias = ok(
            engine.docker(
                "run", "--rm", "--link", "db:cache", "busybox", "wget", "-qO-", "http://cache:6379/hostname"
            )
        )
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
        ok(
            engine.docker(
                "run",
                "-d",
                "--name",
                "lonely",
                "-p",
                "127.0.0.1::8000",
                "busybox",
                "httpd",
                "-f",
                "-p",
                "8000",
                "-h",
                "/etc",
            )
        )
        ip = ok(engine.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "lonely")).strip()
        blocked = engine.docker(
            "run", "--rm", "busybox", "wget", "-T", "2", "-qO-", f"http://{ip}:8000/hostname"
        )
        assert blocked.returncode != 0
        port = ok(engine.docker("port", "lonely", "8000")).strip().rsplit(":", 1)[1]
        assert fetch(f"http://127.0.0.1:{port}/hostname")  # the host still reaches it
    finally:
        engine.cleanup()


def test_published_port_answers_on_loopback_and_bridge_address_by_dnat(engine: Engine) -> None:
    port = free_port()
    ip, gateway = httpd(engine, "both", f"{port}:8000")
    try:
        assert f"{port} : {ip} . 8000" in nat_rules(engine)  # the host's own traffic skips the proxy
        assert route_localnet(engine) == "1"
        for host in ("127.0.0.1", gateway):
            assert fetch(f"http://{host}:{port}/passwd").startswith(b"root:")
        from_container = ok(
            engine.docker("run", "--rm", "busybox", "wget", "-qO-", f"http://{gateway}:{port}/passwd")
        )
        assert from_container.startswith("root:")  # containers reach it through the proxy
    finally:
        ok(engine.docker("rm", "-f", "both"))
    assert f"{ip} . 8000" not in nat_rules(engine)
    assert route_localnet(engine) == "0"
    assert refused("127.0.0.1", port) and refused(gateway, port)


def test_port_published_on_one_address_answers_only_there(engine: Engine) -> None:
    port = free_port()
    ip, gateway = httpd(engine, "local", f"127.0.0.1:{port}:8000")
    try:
        assert f"127.0.0.1 . {port} : {ip} . 8000" in nat_rules(engine)
        assert fetch(f"http://127.0.0.1:{port}/passwd").startswith(b"root:")
        assert refused(gateway, port)
        ok(engine.docker("stop", "-t", "1", "local"))  # released on stop, not only on removal
        assert f"{ip} . 8000" not in nat_rules(engine)
        assert refused("127.0.0.1", port)
    finally:
        ok(engine.docker("rm", "-f", "local"))


UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9000))
print("ready", flush=True)
s.settimeout(20)
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data.upper(), peer)
"""


def udp_flows(port: int, ip: str) -> list[object]:
    with Conntrack() as ct:
        flows = ct.dump_entries(tuple_orig=NFCTAttrTuple(proto=socket.IPPROTO_UDP, dport=port))
        return [f for f in flows if f.tuple_reply.saddr == ip]


def test_published_udp_port_reaches_the_container(engine: Engine) -> None:
    port = free_port()
    ok(
        engine.docker(
            "run", "-d", "--name", "udp", "-p", f"127.0.0.1:{port}:9000/udp", "busybox", "sleep", "60"
        )
    )
    try:
        pid = ok(engine.docker("inspect", "-f", "{{.State.Pid}}", "udp")).strip()
        ip = ok(engine.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "udp")).strip()
        assert f"127.0.0.1 . {port} : {ip} . 9000" in nat_rules(engine)
        echo = subprocess.Popen(
            ["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c", UDP_ECHO], stdout=subprocess.PIPE
        )
        try:
            assert echo.stdout is not None and echo.stdout.readline() == b"ready\n"
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.settimeout(2)
                client.sendto(b"ping", ("127.0.0.1", port))
                assert client.recvfrom(2048)[0] == b"PING"
            assert udp_flows(port, ip)  # by DNAT: conntrack holds the flow
        finally:
            echo.kill()
            echo.wait()
    finally:
        ok(engine.docker("rm", "-f", "udp"))
    assert f"{ip} . 9000" not in nat_rules(engine)
    assert udp_flows(port, ip) == []  # forgotten: a client still sending would meet the new rules


def test_port_taken_by_another_process_fails_with_nothing_configured(engine: Engine) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = engine.docker(
            "run", "-d", "--name", "taken", "-p", f"127.0.0.1:{port}:8000", "busybox", "sleep", "30"
        )
        try:
            assert result.returncode != 0 and b"port is already allocated" in result.stderr
            assert f". {port} :" not in nat_rules(engine)
            assert route_localnet(engine) == "0"
        finally:
            engine.docker("rm", "-f", "taken")


def test_ports_come_back_after_engine_crash_and_go_with_it(fresh_engine: Engine) -> None:
    engine = fresh_engine
    port = free_port()
    ip, _ = httpd(engine, "survivor", f"{port}:8000")
    assert nat_rules(engine) and route_localnet(engine) == "1"
    engine.stop(signal.SIGKILL)
    assert nat_rules(engine) == ""  # the table is owned by the engine's netlink socket
    wait_for(lambda: route_localnet(engine) == "0", timeout=5)  # reset by the engine's watcher
    engine.start()
    assert f"{port} : {ip} . 8000" in nat_rules(engine)
    assert fetch(f"http://127.0.0.1:{port}/passwd").startswith(b"root:")
    assert route_localnet(engine) == "1"
    ok(engine.docker("rm", "-f", "survivor"))
    released = route_localnet(engine) == "0" and f"{ip} . 8000" not in nat_rules(engine)
    assert released, engine.log.read_text()[-3000:]
    httpd(engine, "left-running", f"{port}:8000")
    engine.stop()  # a clean shutdown takes the rules too; the container runs on
    assert nat_rules(engine) == "" and route_localnet(engine) == "0"


def test_a_host_port_is_free_the_moment_rm_f_returns(engine: Engine) -> None:
    """Scripts reuse a port right after ``docker rm -f``: the exit's clean-up is over by then."""
    port = free_port()
    for round_no in range(5):
        name = f"reuse{round_no}"
        ip, _ = httpd(engine, name, f"127.0.0.1:{port}:8000")
        assert fetch(f"http://127.0.0.1:{port}/passwd").startswith(b"root:")
        ok(engine.docker("rm", "-f", name))
        with socket.socket() as probe:  # the proxy's listener is closed
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
        assert f"{ip} . 8000" not in nat_rules(engine)
