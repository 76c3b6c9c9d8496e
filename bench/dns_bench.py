"""DNS lookup latency of a container name from inside a container on a user network (target: median < 2 ms).

A busybox container ``dnsbench-web`` sleeps on a fresh user network; a client container of the official
``python`` image on the same network (built from Debian packages by ``deploy/images/rootfs.py python`` and
cached, as ``make run`` does) times, in one process, ``--lookups`` (500) lookups of that name after one
warm-up each:

- ``getaddrinfo``: ``socket.getaddrinfo(name, None, AF_INET)``, what a program does: the C library reads
  /etc/hosts and resolv.conf, asks the engine's DNS server on the network's gateway, parses the answer;
- ``raw query``: one prebuilt A query sent on a connected UDP socket and its answer read: the server's
  round trip with no resolver library around it.

Timing inside one process is the point: ``busybox nslookup`` per query would measure process start-up
(a few ms), not DNS. The times include the veth and the bridge both ways and the engine's asyncio loop.

Run alone it starts an engine of its own (its own bridge and /24 in 10.200-250.x.0, busybox imported);
``bench.py`` calls :func:`measure` with its own engine for its DNS row. Everything it made (containers,
the network, the engine, the bridge, the temp dir) is removed on the way out, SIGTERM included.

Usage: ``.venv/bin/python bench/dns_bench.py [--lookups 500] [--json PATH] [--image TAR]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "images" / "busybox"))
from seed import UnixConnection, seed

TARGET_MS = 2.0
ROOTFS = Path(__file__).resolve().parents[1] / "deploy" / "images" / "rootfs.py"
TARGET = "dnsbench-web"

CLIENT = r"""
import json, socket, statistics, sys, time
name, count = sys.argv[1], int(sys.argv[2])
def timed(fn):
    fn()
    out = []
    for _ in range(count):
        start = time.perf_counter(); fn(); out.append((time.perf_counter() - start) * 1000)
    return out
libc = timed(lambda: socket.getaddrinfo(name, None, socket.AF_INET))
server = next(ln.split()[1] for ln in open("/etc/resolv.conf") if ln.startswith("nameserver"))
query = bytes.fromhex("abcd01000001000000000000")
query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + bytes.fromhex("0000010001")
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(2)
sock.connect((server, 53))
def ask():
    sock.send(query)
    if sock.recv(512)[3] & 0x0F:
        raise SystemExit("the server answered an error")
raw = timed(ask)
address = socket.getaddrinfo(name, None, socket.AF_INET)[0][4][0]
print(json.dumps({"server": server, "address": address, "getaddrinfo": libc, "raw": raw}))
"""


class Skip(Exception):
    """The row cannot be measured; the message says why."""


def _run(argv: Sequence[str], env: dict[str, str], *, check: bool = True) -> str:
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Skip(f"{argv[0]}: {exc}") from exc
    if check and proc.returncode != 0:
        raise Skip(f"{' '.join(argv[1:3])}… exited {proc.returncode}: {(proc.stderr or proc.stdout)[-300:]}")
    return proc.stdout


@dataclass(slots=True)
class DnsResult:
    lookups: int = 0
    server: str = ""
    getaddrinfo_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)
    skipped: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.getaddrinfo_ms) if self.getaddrinfo_ms else None

    def as_json(self) -> dict[str, Any]:
        return {"dns": asdict(self) | {"median_ms": self.median}}

    def line(self) -> str:
        """The bench table's line for the DNS row."""
        if self.median is None:
            return f"dns: skipped: {self.skipped or 'no samples'}"
        raw = statistics.median(self.raw_ms)
        p90 = statistics.quantiles(self.getaddrinfo_ms, n=10)[-1]
        verdict = "met" if self.median < TARGET_MS else "NOT met"
        return (
            f"dns: a container name looked up from inside a container (user network, {self.lookups} lookups "
            f"in one process): getaddrinfo median {self.median:.2f} ms (p90 {p90:.2f}), raw UDP query "
            f"median {raw:.2f} ms; target < {TARGET_MS:.0f} ms: {verdict}"
        )


def _api(sock: Path, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    conn = UnixConnection(str(sock))
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw.strip().startswith((b"{", b"[")) else raw
    finally:
        conn.close()


def python_image(sock: Path) -> None:
    """``python:latest`` in the engine, from the official-image cache (built there if missing)."""
    if _api(sock, "GET", "/images/python:latest/json")[0] == 200:
        return
    built = subprocess.run(
        [sys.executable, str(ROOTFS), "python", "--if-missing", "--quiet"],
        stdout=subprocess.PIPE,
        text=True,
        timeout=1200,
        check=False,
    )
    if built.returncode != 0:
        raise Skip(f"the python image could not be built (exit {built.returncode})")
    seed(str(sock), Path(built.stdout.strip().splitlines()[-1]), "python:latest")


def measure(stack: contextlib.ExitStack, sock: Path, lookups: int = 500) -> DnsResult:
    """The DNS row against the engine at ``sock``: a network, a target, a timing client; all removed after."""
    result = DnsResult(lookups=lookups)
    wharf = str(Path(sys.executable).parent / "wharf")
    env = {**os.environ, "WHARF_HOST": f"unix://{sock}"}
    try:
        python_image(sock)
        network = f"dnsbench-{secrets.token_hex(3)}"
        status, body = _api(sock, "POST", "/networks/create", {"Name": network})
        if status != 201:
            raise Skip(f"network create failed ({status}): {body!r:.200}")
        stack.callback(_api, sock, "DELETE", f"/networks/{network}")
        stack.callback(_run, [wharf, "rm", "-f", TARGET], env, check=False)
        _run([wharf, "run", "-d", "--name", TARGET, "--network", network, "busybox", "sleep", "600"], env)
        client = ["--network", network, "python", "python3", "-c", CLIENT, TARGET, str(lookups)]
        data = json.loads(_run([wharf, "run", "--rm", *client], env).strip().splitlines()[-1])
        result.server, result.getaddrinfo_ms, result.raw_ms = data["server"], data["getaddrinfo"], data["raw"]
    except (Skip, ValueError, KeyError, OSError) as exc:
        result.skipped = str(exc)
    return result


def dns_row(stack: contextlib.ExitStack, sock: Path, deadline: float) -> DnsResult:
    """``bench.py``'s DNS row, on its engine (whose socket is ``sock``) while it still runs."""
    if not sock.exists():
        return DnsResult(skipped="no engine")
    if time.monotonic() >= deadline:
        return DnsResult(skipped="--max-seconds reached")
    return measure(stack, sock)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--lookups", type=int, default=500, help="timed lookups of each kind (default: 500)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--image", type=Path, help="busybox rootfs tar (default: bench.py's)")
    args = parser.parse_args(argv)
    if TYPE_CHECKING:
        from bench import bench as base
        from bench.bridge_engine import start_engine
    else:  # here, not at the top: bench.py imports this module
        from bridge_engine import start_engine

        import bench as base
    signal.signal(signal.SIGTERM, base._terminate)
    result = DnsResult(lookups=max(args.lookups, 10))
    with (
        tempfile.TemporaryDirectory(prefix="wharf-dns-bench-", ignore_cleanup_errors=True) as tmp_name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp_name)
        stack.callback(base.unmount_under, tmp)  # runs last: after the engine has stopped
        try:
            image = base.prepare_image((args.image or base.DEFAULT_IMAGE).resolve())
            sock = start_engine(stack, tmp, image).sock
            started = time.monotonic()
            result = measure(stack, sock, result.lookups)
            base.log(f"dns row measured in {time.monotonic() - started:.1f} s")
        except base.Skip as exc:
            result.skipped = str(exc)
    print(result.line())
    if args.json is not None:
        args.json.write_text(json.dumps(result.as_json(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
