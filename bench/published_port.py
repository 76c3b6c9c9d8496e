"""The published-port part of ``net_bench.py``: ``busybox httpd`` in a wharf container published on
``127.0.0.1::8000``, fetched from the host through the engine's userland proxy and directly at the
container's address, alternating: time to first byte of a tiny file and MB/s of a 1 MiB file."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import ipaddress
import json
import shlex
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # run as a script, sys.path[0] is bench/; mypy sees bench/ as a namespace package
    from bench import harness as base
    from bench.bridge_engine import Engine
else:
    import harness as base
    from bridge_engine import Engine

HTTPD = "whnet-httpd"
HTTP_PORT, BIG_BYTES = 8000, 1 << 20
HTTPD_SCRIPT = (
    "mkdir -p /www && dd if=/dev/urandom of=/www/big bs=1024 count=1024 2>/dev/null"
    f" && echo ok > /www/tiny && exec httpd -f -p {HTTP_PORT} -h /www"
)
HTTPD_ARGV = [*f"run -d --name {HTTPD} -p 127.0.0.1::{HTTP_PORT} busybox sh -c".split(), HTTPD_SCRIPT]
Samples = dict[str, dict[str, list[float]]]  # published | direct -> ttfb_ms | mb_s -> samples


def start_httpd(engine: Engine) -> tuple[str, int]:
    """The httpd container; (its address on the bridge, its published port on 127.0.0.1)."""
    docker = str(base.DOCKER)
    base.run_checked([docker, *HTTPD_ARGV], env=engine.env)
    fmt = "{{json .NetworkSettings}}"
    settings = json.loads(base.run_checked([docker, "inspect", "-f", fmt, HTTPD], env=engine.env))
    ip = settings.get("IPAddress") or ""
    if not ip or ipaddress.ip_address(ip) not in engine.subnet:
        raise base.Skip(f"container address {ip!r} is not on the bench subnet {engine.subnet}")
    published = (settings.get("Ports") or {}).get(f"{HTTP_PORT}/tcp") or []
    ports = [int(p["HostPort"]) for p in published if p.get("HostIp") == "127.0.0.1"]
    if not ports:
        raise base.Skip(f"no 127.0.0.1 binding for {HTTP_PORT}/tcp in {published!r}")
    return ip, ports[0]


def fetch(host: str, port: int, path: str) -> tuple[float, float, int]:
    """GET on a fresh connection: (seconds to the response headers, seconds to the body's end, bytes)."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        start = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        first = time.perf_counter()
        body = response.read()
        end = time.perf_counter()
    finally:
        conn.close()
    if response.status != 200:
        raise base.Skip(f"GET {host}:{port}{path}: {response.status}")
    return first - start, end - start, len(body)


def wait_ready(targets: dict[str, tuple[str, int]], timeout: float = 20) -> None:
    """Until /big comes whole on every path (which also warms each path up once)."""
    deadline = time.monotonic() + timeout
    for host, port in targets.values():
        while True:
            with contextlib.suppress(OSError, http.client.HTTPException, base.Skip):
                if fetch(host, port, "/big")[2] == BIG_BYTES:
                    break
            if time.monotonic() >= deadline:
                raise base.Skip(f"httpd at {host}:{port} not serving /big within {timeout:.0f}s")
            time.sleep(0.1)


def measure_http(
    targets: dict[str, tuple[str, int]], requests: int, downloads: int, deadline: float
) -> Samples:
    """Alternating between the targets (order flipped each round): TTFB in ms, then MB/s of /big."""
    out: Samples = {k: {"ttfb_ms": [], "mb_s": []} for k in targets}
    keys = list(targets)
    for i in range(requests + downloads):
        if time.monotonic() >= deadline:
            base.log(f"http: --max-seconds reached after {i} rounds")
            break
        for key in keys if i % 2 == 0 else keys[::-1]:
            host, port = targets[key]
            if i < requests:
                out[key]["ttfb_ms"].append(fetch(host, port, "/tiny")[0] * 1000)
                continue
            _, total, size = fetch(host, port, "/big")
            if size != BIG_BYTES:
                raise base.Skip(f"{key}: /big gave {size} bytes, expected {BIG_BYTES}")
            out[key]["mb_s"].append(size / total / 1e6)
    return out


def http_section(
    engine: Engine, args: argparse.Namespace, deadline: float, notes: list[str], commands: dict[str, str]
) -> Samples:
    try:
        ip, port = start_httpd(engine)
        commands["httpd"] = shlex.join([f"DOCKER_HOST=unix://{engine.sock}", "docker", *HTTPD_ARGV])
        paths = {"published": ("127.0.0.1", port), "direct": (ip, HTTP_PORT)}
        notes.append(f"published 127.0.0.1:{port} -> container {ip}:{HTTP_PORT}")
        base.log(f"http: {notes[-1]}")
        wait_ready(paths)
        return measure_http(paths, args.requests, args.downloads, deadline)
    except (base.Skip, OSError, http.client.HTTPException) as exc:
        notes.append(f"published port vs direct failed: {exc}")
        return {}
