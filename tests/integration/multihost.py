"""Two "hosts" on one machine, and the TLS front before them, for the multi-host test.

:func:`host_network` makes a bridge on the host with a /24 that no host route covers and two
network namespaces, each joined to the bridge by a veth pair: the bridge's address (``.1``)
is where the front (nginx) listens, and each namespace (``.2``, ``.3``) stands in for a
machine that reaches the front over the network. :class:`NetnsEngine` runs an engine inside
one of them (only its network: its mounts stay in the host's mount namespace, so the usual
cleanup finds them). :class:`Nginx` runs Debian's nginx as a test process with its own
prefix, pid and logs, and its ``http`` block is ``deploy/nginx/wharf.conf.template``, the
operators' file, with the test's addresses filled in. Also: moto's S3 server, the keys every
hub host shares, ports free on the front's address. Everything is removed on the way out,
whatever happened.
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
from engines import REPO, Engine, make_engine, wait_for
from wharf_common.bearer import load_or_create_signing_key
from wharf_common.tokens import load_or_create_private_key, public_key_pem
from wharf_engine import certs
from wharf_registry.testing import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TEMPLATE = REPO / "deploy" / "nginx" / "wharf.conf.template"
MOTO = Path(sys.executable).parent / "moto_server"
PLACEHOLDER = re.compile(r"\$\{(WHARF_[A-Z_]+)\}")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=check)


def free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.0.0.0/8 that overlaps no route of the host's (other tests' bridges included)."""
    taken = []
    for route in json.loads(ip("-j", "-4", "route", "show", "table", "all").stdout or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default":
            with suppress(ValueError):
                taken.append(ipaddress.ip_network(dst, strict=False))
    for _ in range(200):
        subnet = ipaddress.IPv4Network(f"10.{secrets.choice(range(100, 200))}.{secrets.randbelow(256)}.0/24")
        if not any(subnet.overlaps(other) for other in taken if other.prefixlen > 0):
            return subnet
    raise RuntimeError("no free /24 in 10.100.0.0-10.199.255.0")


@dataclass(frozen=True)
class HostNetwork:
    bridge: str
    front: str  # the bridge's address: where nginx listens
    namespaces: tuple[str, ...]
    addresses: tuple[str, ...]  # each namespace's address


@contextmanager
def host_network(count: int = 2) -> Iterator[HostNetwork]:
    """A bridge and ``count`` namespaces on it; deleted (with their veths) even on failure."""
    tag = secrets.token_hex(3)
    subnet = free_subnet()
    hosts = list(subnet.hosts())
    bridge = f"whtm{tag}"  # "wht…": the names the host-is-clean test looks for
    namespaces = tuple(f"wharf-mh-{tag}-{i}" for i in range(count))
    try:
        ip("link", "add", bridge, "type", "bridge")
        ip("addr", "add", f"{hosts[0]}/24", "dev", bridge)
        ip("link", "set", bridge, "up")
        for i, ns in enumerate(namespaces):
            outside, inside = f"whtm{tag}h{i}", f"whtm{tag}n{i}"
            ip("netns", "add", ns)
            ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            ip("link", "set", outside, "master", bridge, "up")
            ip("link", "set", inside, "netns", ns)
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "addr", "add", f"{hosts[i + 1]}/24", "dev", inside)
            ip("-n", ns, "link", "set", inside, "up")
        yield HostNetwork(bridge, str(hosts[0]), namespaces, tuple(str(h) for h in hosts[1 : count + 1]))
    finally:
        for i, ns in enumerate(namespaces):
            ip("link", "del", f"whtm{tag}h{i}", check=False)  # takes its peer with it
            ip("netns", "del", ns, check=False)
        ip("link", "del", bridge, check=False)


@dataclass
class NetnsEngine(Engine):
    """An engine whose network is a namespace's: its registry traffic leaves through the veth."""

    netns: str = ""
    start_timeout: float = 90

    def command(self) -> list[str]:
        return ["nsenter", f"--net=/run/netns/{self.netns}", "--", *super().command()]


def netns_engine(netns: str) -> NetnsEngine:
    base = make_engine()
    return NetnsEngine(
        root=base.root,
        socket=base.socket,
        pidfile=base.pidfile,
        log=base.log,
        bridge=base.bridge,
        subnet=base.subnet,
        netns=netns,
    )


def front_certificate(directory: Path, address: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and the front's certificate for ``address``: (CA, certificate, key)."""
    certs.make_ca(directory)
    certs.make_leaf(directory, "wharf front", server=True, sans=[f"IP:{address}"])
    return directory / certs.CA_CERT, directory / certs.SERVER_CERT, directory / certs.SERVER_KEY


def render(template: str, values: dict[str, str]) -> str:
    """``${WHARF_…}`` placeholders filled in (as ``envsubst`` with a variable list would); nginx's
    own ``$variables`` are left alone. A placeholder without a value is an error."""
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


class Nginx:
    """Debian's nginx in the foreground, with the operators' ``http`` block as its only content."""

    def __init__(self, prefix: Path, values: dict[str, str]) -> None:
        self.prefix = prefix
        self.values = values
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def error_log(self) -> Path:
        return self.prefix / "error.log"

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    def upstreams(self) -> list[list[str]]:
        """For each request so far (in order), the backends nginx tried: more than one when it
        skipped a dead one."""
        if not self.access_log.exists():
            return []
        found = []
        for line in self.access_log.read_text(errors="replace").splitlines():
            tried = line.rpartition("upstream=")[2]
            found.append([a.strip() for a in tried.replace(" : ", ", ").split(",") if a.strip()])
        return found

    def write_config(self) -> Path:
        self.prefix.mkdir(parents=True, exist_ok=True)
        (self.prefix / "wharf.conf").write_text(render(TEMPLATE.read_text(), self.values))
        temp = self.prefix / "temp"
        temp.mkdir(exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(
            f"""
daemon off;
master_process on;
worker_processes 1;
user root;
pid {self.prefix}/nginx.pid;
error_log {self.error_log} info;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$server_port "$request" $status upstream=$upstream_addr';
    access_log {self.access_log} upstreams;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {self.prefix}/wharf.conf;
}}
"""
        )
        return conf

    def start(self, *addresses: tuple[str, int], timeout: float = 20) -> None:
        conf = self.write_config()
        test = subprocess.run(
            [NGINX, "-t", "-p", str(self.prefix), "-e", str(self.error_log), "-c", str(conf)],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t: {test.stderr}")
        with (self.prefix / "nginx.out").open("ab") as out:
            self.proc = subprocess.Popen(
                [NGINX, "-p", str(self.prefix), "-e", str(self.error_log), "-c", str(conf)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        pending = list(addresses)
        while pending:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx does not listen on {pending}")
            with suppress(OSError), socket.create_connection(pending[0], timeout=1):
                pending.pop(0)
                continue
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # fast shutdown: the master stops its workers
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def moto_server(stack: ExitStack, log: Path) -> str:
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([str(MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    stack.callback(stop)
    endpoint = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(endpoint + "/", timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    wait_for(up, 30)
    return endpoint


def free_ports_on(address: str, count: int) -> list[int]:
    """``count`` distinct ports free on ``address`` a moment ago (held together while chosen)."""
    with ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind((address, 0))
        return [int(s.getsockname()[1]) for s in sockets]


def shared_hub_keys(directory: Path) -> Path:
    """The hubs' token-signing (and v2 bearer) keys, made once for every hub host, and the public
    half the registries trust."""
    signing = load_or_create_private_key(directory / "token-signing.pem")
    (directory / "token-signing.pub.pem").write_bytes(public_key_pem(signing.public_key()))
    load_or_create_signing_key(directory / "bearer-signing.pem")
    return directory


def bytes_received(port: int) -> int:
    """What the connections to a loopback port have received (``ss``'s TCP info)."""
    listed = subprocess.run(
        ["ss", "-Htin", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout
    return sum(int(m) for m in re.findall(r"bytes_received:(\d+)", listed))


def verified_context(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


__all__ = [
    "HostNetwork",
    "NetnsEngine",
    "Nginx",
    "bytes_received",
    "free_ports_on",
    "front_certificate",
    "host_network",
    "moto_server",
    "netns_engine",
    "render",
    "shared_hub_keys",
    "verified_context",
]
