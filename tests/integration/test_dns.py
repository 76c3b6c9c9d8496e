"""Service discovery on user networks: containers find each other by name and alias through the engine's
DNS server, which follows connect, disconnect, rename, restart and removal, and forwards other names to
resolvers of the test's own on loopback (never a real one)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import dns.message
import dns.query
import dns.rcode
import dns.rrset
import pytest
from engines import Engine, make_engine, needs_docker, wait_for
from seed import seed

pytestmark = [pytest.mark.root, needs_docker, pytest.mark.timeout(300)]

SILENT = "127.0.0.78"  # a resolver that never answers, on port 53 (a --dns server has no port)


class FakeResolver:
    """A UDP resolver on loopback that knows ``known.example`` (10.9.9.9) and nothing else; or is silent."""

    def __init__(self, host: str, port: int = 0, *, silent: bool = False) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        self.address = self.sock.getsockname()
        self.silent = silent
        self.queries: list[str] = []
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(data)
            name = query.question[0].name.to_text()
            self.queries.append(name)
            if self.silent:
                continue
            response = dns.message.make_response(query)
            if name == "known.example.":
                if query.question[0].rdtype == 1:
                    response.answer.append(dns.rrset.from_text(name, 60, "IN", "A", "10.9.9.9"))
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), peer)

    def close(self) -> None:
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeResolver]:
    resolver = FakeResolver("127.0.0.1")
    yield resolver
    resolver.close()


@pytest.fixture(scope="module")
def silent() -> Iterator[FakeResolver]:
    resolver = FakeResolver(SILENT, 53, silent=True)
    yield resolver
    resolver.close()


@pytest.fixture(scope="module")
def engine(busybox_tar: object, upstream: FakeResolver) -> Iterator[Engine]:
    """An engine whose DNS forwards to the fake resolver, with a 1 s bound on upstreams."""
    eng = make_engine()
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("WHARF_ENGINE_DNS_UPSTREAMS", f'["127.0.0.1:{upstream.address[1]}"]')
            env.setenv("WHARF_ENGINE_DNS_TIMEOUT", "1")
            eng.start()
        seed(str(eng.socket), busybox_tar)  # type: ignore[arg-type]
        yield eng
    finally:
        eng.cleanup()


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def lookup(engine: Engine, network: str, name: str, *extra: str) -> subprocess.CompletedProcess[bytes]:
    """``nslookup name`` from a fresh container on ``network``."""
    return engine.docker("run", "--rm", "--network", network, *extra, "busybox", "nslookup", name, timeout=60)


def answers(engine: Engine, network: str, name: str) -> list[str]:
    """The addresses ``name`` has for a container on ``network`` ([] when it does not resolve)."""
    result = lookup(engine, network, name)
    out = result.stdout.decode()
    if result.returncode != 0 or "Name:" not in out:
        return []
    after = out.split("Name:", 1)[1]
    return sorted({ln.split()[-1] for ln in after.splitlines() if ln.startswith("Address")})


def ip_on(engine: Engine, container: str, network: str) -> str:
    fmt = f"{{{{(index .NetworkSettings.Networks {network!r}).IPAddress}}}}".replace("'", '"')
    return ok(engine.docker("inspect", "-f", fmt, container)).strip()


@pytest.fixture
def networks(engine: Engine) -> Iterator[tuple[str, str]]:
    """Two user networks for the test; they and everything on them are removed afterwards."""
    names = (f"front{time.monotonic_ns() % 10000}", f"back{time.monotonic_ns() % 10000}")
    for name in names:
        ok(engine.docker("network", "create", name))
    yield names
    for container in engine.json("GET", "/containers/json?all=1"):
        engine.docker("rm", "-f", container["Id"])
    for name in names:
        engine.docker("network", "rm", name)


def gateway(engine: Engine, network: str) -> str:
    return str(engine.json("GET", f"/networks/{network}")["IPAM"]["Config"][0]["Gateway"])


def dns_listeners() -> str:
    return subprocess.run(["ss", "-Hlnu", "sport = :53"], capture_output=True, text=True).stdout


def test_names_and_aliases_resolve_for_containers_on_the_same_network(
    engine: Engine, networks: tuple[str, str]
) -> None:
    front, back = networks
    ok(
        engine.docker(
            "run",
            "-d",
            "--name",
            "web",
            "--network",
            front,
            "--network-alias",
            "www",
            "busybox",
            "sleep",
            "300",
        )
    )
    web_ip = ip_on(engine, "web", front)
    short_id = ok(engine.docker("inspect", "-f", "{{.Id}}", "web"))[:12]
    assert answers(engine, front, "web") == [web_ip]
    assert answers(engine, front, "www") == [web_ip]
    assert answers(engine, front, short_id) == [web_ip]
    assert answers(engine, front, f"web.{front}") == [web_ip]
    ok(engine.docker("run", "--rm", "--network", front, "busybox", "ping", "-c", "1", "-W", "5", "www"))
    resolv = ok(engine.docker("run", "--rm", "--network", front, "busybox", "cat", "/etc/resolv.conf"))
    assert resolv.splitlines()[0] == f"nameserver {gateway(engine, front)}"
    assert [ln for ln in resolv.splitlines() if ln.startswith("nameserver")] == resolv.splitlines()[:1]
    assert answers(engine, back, "web") == []  # another network's names are not seen
    bridge = ok(engine.docker("run", "--rm", "busybox", "cat", "/etc/resolv.conf"))
    assert gateway(engine, front) not in bridge  # the default bridge keeps the host's resolvers


def test_names_follow_connect_disconnect_rename_restart_and_removal(
    engine: Engine, networks: tuple[str, str]
) -> None:
    front, back = networks
    ok(engine.docker("run", "-d", "--name", "api", "--network", front, "busybox", "sleep", "300"))
    ok(engine.docker("network", "connect", "--alias", "service", back, "api"))
    assert answers(engine, back, "api") == [ip_on(engine, "api", back)]
    assert answers(engine, back, "service") == [ip_on(engine, "api", back)]
    ok(engine.docker("network", "disconnect", back, "api"))
    assert answers(engine, back, "api") == answers(engine, back, "service") == []
    assert answers(engine, front, "api") == [ip_on(engine, "api", front)]

    ok(engine.docker("rename", "api", "api2"))
    assert answers(engine, front, "api") == []
    assert answers(engine, front, "api2") == [ip_on(engine, "api2", front)]

    old_ip = ip_on(engine, "api2", front)
    ok(engine.docker("stop", "-t", "0", "api2"))
    assert answers(engine, front, "api2") == []  # stopped: no address to give
    ok(engine.docker("run", "-d", "--name", "squatter", "--network", front, "busybox", "sleep", "300"))
    assert ip_on(engine, "squatter", front) == old_ip  # the freed address went to another container
    ok(engine.docker("start", "api2"))
    new_ip = ip_on(engine, "api2", front)
    assert new_ip != old_ip and answers(engine, front, "api2") == [new_ip]
    ok(engine.docker("restart", "-t", "0", "api2"))
    assert answers(engine, front, "api2") == [ip_on(engine, "api2", front)]

    ok(engine.docker("rm", "-f", "api2"))
    assert answers(engine, front, "api2") == []


def test_a_running_container_sees_names_of_a_network_it_is_connected_to(
    engine: Engine, networks: tuple[str, str]
) -> None:
    front, back = networks
    ok(engine.docker("run", "-d", "--name", "db", "--network", back, "busybox", "sleep", "300"))
    ok(engine.docker("run", "-d", "--name", "client", "--network", front, "busybox", "sleep", "300"))
    assert engine.docker("exec", "client", "nslookup", "db").returncode != 0
    ok(engine.docker("network", "connect", back, "client"))
    out = ok(engine.docker("exec", "client", "nslookup", "db"))
    assert ip_on(engine, "db", back) in out


def test_a_bridge_container_connected_to_a_user_network_gets_the_engines_dns(
    engine: Engine, networks: tuple[str, str]
) -> None:
    front, _ = networks
    ok(engine.docker("run", "-d", "--name", "peer", "--network", front, "busybox", "sleep", "300"))
    ok(engine.docker("run", "-d", "--name", "lone", "busybox", "sleep", "300"))
    before = ok(engine.docker("exec", "lone", "cat", "/etc/resolv.conf"))
    assert gateway(engine, front) not in before
    ok(engine.docker("network", "connect", front, "lone"))
    resolv = ok(engine.docker("exec", "lone", "cat", "/etc/resolv.conf"))
    assert resolv.splitlines()[0] == f"nameserver {gateway(engine, front)}"  # rewritten in place
    assert ip_on(engine, "peer", front) in ok(engine.docker("exec", "lone", "nslookup", "peer"))
    ok(engine.docker("network", "disconnect", front, "lone"))
    assert ok(engine.docker("exec", "lone", "cat", "/etc/resolv.conf")) == before


def test_other_names_are_forwarded_and_unknown_ones_fail_fast(
    engine: Engine, networks: tuple[str, str], upstream: FakeResolver, silent: FakeResolver
) -> None:
    front, _ = networks
    assert answers(engine, front, "known.example") == ["10.9.9.9"]
    assert "known.example." in upstream.queries
    result = lookup(engine, front, "unknown.example")
    assert result.returncode != 0 and b"NXDOMAIN" in result.stdout + result.stderr
    started = time.monotonic()
    single = lookup(engine, front, "nosuchcontainer")
    assert single.returncode != 0 and b"NXDOMAIN" in single.stdout + single.stderr
    assert time.monotonic() - started < 10
    assert "nosuchcontainer." not in upstream.queries  # the engine's own names never leave it
    # a container's --dns servers are its upstreams: one that never answers gives SERVFAIL in bounded time
    started = time.monotonic()
    failed = lookup(engine, front, "known.example", "--dns", SILENT)
    assert failed.returncode != 0 and b"SERVFAIL" in failed.stdout + failed.stderr
    assert time.monotonic() - started < 20
    assert "known.example." in silent.queries


def test_the_host_is_refused_names_and_forwarding(engine: Engine, networks: tuple[str, str]) -> None:
    """Only the engine's containers are answered: no open resolver on the gateways, no name listing."""
    front, _ = networks
    ok(engine.docker("run", "-d", "--name", "private", "--network", front, "busybox", "sleep", "300"))
    for name in ("known.example", "private"):
        reply = dns.query.udp(dns.message.make_query(name, "A"), gateway(engine, front), timeout=5)
        assert reply.rcode() == dns.rcode.REFUSED and reply.answer == []


def test_removing_a_network_closes_its_dns_listener(engine: Engine) -> None:
    ok(engine.docker("network", "create", "shortlived"))
    address = gateway(engine, "shortlived")
    try:
        wait_for(lambda: f"{address}:53" in dns_listeners(), timeout=5)
    finally:
        ok(engine.docker("network", "rm", "shortlived"))
    wait_for(lambda: f"{address}:53" not in dns_listeners(), timeout=5)


def test_link_aliases_answer_on_user_networks(engine: Engine, networks: tuple[str, str]) -> None:
    front, _ = networks
    ok(engine.docker("run", "-d", "--name", "store", "--network", front, "busybox", "sleep", "300"))
    linked = lookup(engine, front, "backing", "--link", "store:backing")  # DNS, not /etc/hosts
    assert ip_on(engine, "store", front) in linked.stdout.decode(), linked.stderr
    assert answers(engine, front, "backing") == []  # the alias is the linking container's own


def test_names_resolve_on_an_internal_network(engine: Engine) -> None:
    ok(engine.docker("network", "create", "--internal", "sealed"))
    try:
        ok(engine.docker("run", "-d", "--name", "vault", "--network", "sealed", "busybox", "sleep", "300"))
        assert answers(engine, "sealed", "vault") == [ip_on(engine, "vault", "sealed")]
    finally:
        engine.docker("rm", "-f", "vault")
        engine.docker("network", "rm", "sealed")


def test_names_are_answered_after_an_engine_restart(engine: Engine, upstream: FakeResolver) -> None:
    """Last in the module: the engine restarts; its running containers and networks carry on."""
    ok(engine.docker("network", "create", "kept"))
    try:
        ok(engine.docker("run", "-d", "--name", "survivor", "--network", "kept", "busybox", "sleep", "300"))
        engine.stop()
        with pytest.MonkeyPatch.context() as env:
            env.setenv("WHARF_ENGINE_DNS_UPSTREAMS", f'["127.0.0.1:{upstream.address[1]}"]')
            engine.start()
        assert answers(engine, "kept", "survivor") == [ip_on(engine, "survivor", "kept")]
        assert answers(engine, "kept", "known.example") == ["10.9.9.9"]
    finally:
        engine.docker("rm", "-f", "survivor")
        engine.docker("network", "rm", "kept")
