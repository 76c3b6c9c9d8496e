"""A bounded HTTP load on one URL from its own process: keep-alive connections, one thread each.

``--concurrency`` threads each hold one ``http.client`` connection and send the same request
back to back until ``--duration`` seconds have passed or ``--max-requests`` have been sent in
all, whichever comes first (``--warmup`` seconds of untimed requests go before, once every
thread has connected). With ``--new-connection`` each request says ``Connection: close`` and the
next one connects afresh (the connect is timed). Any status outside 2xx, and any transport
failure, is an error. One JSON line goes to stdout::

    {"requests": 812, "errors": 0, "seconds": 2.0, "rps": 406.0, "p50_ms": 2.4, "p99_ms": 5.1,
     "concurrency": 1, "statuses": {"200": 812}, "error_sample": null, "client_cpu_s": 1.1}

``requests`` counts the responses (and failures) in the timed window, ``rps`` only the good
ones per second, latencies only the good ones. ``client_cpu_s`` is this process's CPU time in
the window: near ``seconds`` means the load generator, not the server, was the limit. Only
loopback addresses are accepted. Stdlib only, so it starts in a few tens of milliseconds.

Usage: ``python bench/hub_load.py URL [-X GET] [-H 'Name: value']... [-c 1] [-d 2] [-n 100000]
[--warmup 0] [--new-connection]``
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import itertools
import json
import statistics
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(slots=True)
class Tally:
    """One thread's results in the timed window."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    error_sample: str | None = None


@dataclass(frozen=True, slots=True)
class Request:
    host: str
    port: int
    method: str
    target: str
    headers: dict[str, str]
    body: bytes | None
    timeout: float


def loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def parse_request(args: argparse.Namespace) -> Request:
    url = urllib.parse.urlsplit(args.url)
    if url.scheme != "http" or not url.hostname:
        raise SystemExit(f"hub_load: only http:// URLs, not {args.url!r}")
    if not loopback(url.hostname):
        raise SystemExit(f"hub_load: only loopback hosts, not {url.hostname!r}")
    headers: dict[str, str] = {}
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            raise SystemExit(f"hub_load: a header is 'Name: value', not {header!r}")
        headers[name.strip()] = value.strip()
    if args.new_connection:
        headers["Connection"] = "close"  # http.client then closes; the next request reconnects
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    body = args.data.encode() if args.data is not None else None
    return Request(url.hostname, url.port or 80, args.method, target, headers, body, args.timeout)


def once(conn: http.client.HTTPConnection, req: Request) -> int:
    """Send the request and read the whole response (so the connection can be reused)."""
    conn.request(req.method, req.target, body=req.body, headers=req.headers)
    response = conn.getresponse()
    response.read()
    return response.status


class Load:
    def __init__(self, req: Request, concurrency: int, max_requests: int) -> None:
        self.req = req
        self.tickets = itertools.count()  # next() on it is atomic: the shared request budget
        self.max_requests = max_requests
        self.tallies = [Tally() for _ in range(concurrency)]
        self.ready = threading.Barrier(concurrency + 1)
        self.go = threading.Event()
        self.warm_until = 0.0
        self.until = 0.0

    def worker(self, tally: Tally) -> None:
        conn = http.client.HTTPConnection(self.req.host, self.req.port, timeout=self.req.timeout)
        try:
            try:
                conn.connect()  # sets TCP_NODELAY
            except OSError as exc:
                tally.error_sample = f"connect: {exc}"
            self.ready.wait()
            self.go.wait()
            while time.perf_counter() < self.warm_until:
                self.send(conn, None)
            while time.perf_counter() < self.until and next(self.tickets) < self.max_requests:
                self.send(conn, tally)
        finally:
            conn.close()

    def send(self, conn: http.client.HTTPConnection, tally: Tally | None) -> None:
        start = time.perf_counter()
        try:
            status = once(conn, self.req)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()  # the next request reconnects
            if tally is not None:
                tally.statuses[type(exc).__name__] += 1
                tally.error_sample = tally.error_sample or f"{type(exc).__name__}: {exc}"
            return
        if tally is None:
            return
        tally.statuses[str(status)] += 1
        if 200 <= status < 300:
            tally.latencies.append(time.perf_counter() - start)
        elif tally.error_sample is None:
            tally.error_sample = f"HTTP {status}"

    def run(self, duration: float, warmup: float) -> dict[str, object]:
        threads = [
            threading.Thread(target=self.worker, args=(t,), name=f"load-{i}", daemon=True)
            for i, t in enumerate(self.tallies)
        ]
        for t in threads:
            t.start()
        self.ready.wait()
        self.warm_until = time.perf_counter() + warmup
        self.until = self.warm_until + duration
        self.go.set()
        time.sleep(max(self.warm_until - time.perf_counter(), 0.0))
        cpu = time.process_time()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - self.warm_until
        return self.summary(seconds, time.process_time() - cpu)

    def summary(self, seconds: float, cpu: float) -> dict[str, object]:
        statuses: Counter[str] = Counter()
        latencies: list[float] = []
        for t in self.tallies:
            statuses.update(t.statuses)
            latencies += t.latencies
        requests = sum(statuses.values())
        good = len(latencies)
        cuts = statistics.quantiles(latencies, n=100, method="inclusive") if good > 1 else latencies * 99
        return {
            "requests": requests,
            "errors": requests - good,
            "seconds": round(seconds, 4),
            "rps": round(good / seconds, 1) if seconds > 0 else 0.0,
            "p50_ms": round(cuts[49] * 1000, 3) if cuts else None,
            "p99_ms": round(cuts[98] * 1000, 3) if cuts else None,
            "concurrency": len(self.tallies),
            "statuses": dict(sorted(statuses.items())),
            "error_sample": next((t.error_sample for t in self.tallies if t.error_sample), None),
            "client_cpu_s": round(cpu, 3),
        }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("url", help="http://127.0.0.1:PORT/path?query")
    parser.add_argument("-X", "--method", default="GET")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value' (repeatable)")
    parser.add_argument("--data", help="request body")
    parser.add_argument("--new-connection", action="store_true", help="no keep-alive: connect per request")
    parser.add_argument("-c", "--concurrency", type=int, default=1, help="connections (default: 1)")
    parser.add_argument("-d", "--duration", type=float, default=2.0, help="timed seconds (default: 2)")
    parser.add_argument("-n", "--max-requests", type=int, default=100_000, help="timed requests at most")
    parser.add_argument("--warmup", type=float, default=0.0, help="untimed seconds first (default: 0)")
    parser.add_argument("--timeout", type=float, default=10.0, help="per request (default: 10)")
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 256 or not 0 < args.duration <= 600 or args.max_requests < 1:
        raise SystemExit("hub_load: concurrency 1-256, duration 0-600 s, max requests >= 1")
    load = Load(parse_request(args), args.concurrency, args.max_requests)
    print(json.dumps(load.run(args.duration, max(args.warmup, 0.0))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
