"""A bounded HTTP load on one URL from its own process: keep-alive connections, wrk or threads.

``--concurrency`` connections each send the same request back to back until ``--duration``
seconds have passed or ``--max-requests`` have been sent in all, whichever comes first
(``--warmup`` seconds of untimed requests go before). With ``--new-connection`` each request says
``Connection: close`` and the next one connects afresh. Any status outside 2xx, and any transport
failure, is an error. One JSON line goes to stdout::

    {"requests": 812, "errors": 0, "seconds": 2.0, "rps": 406.0, "p50_ms": 2.4, "p99_ms": 5.1,
     "concurrency": 1, "statuses": {"200": 812}, "error_sample": null, "client_cpu_s": 0.02,
     "generator": "wrk", "threads": 1}

``requests`` counts the responses (and failures) in the timed window, ``rps`` only the good
ones per second. ``client_cpu_s`` is the generator's CPU time in the window: near ``seconds``
means the load generator, not the server, was the limit. Only loopback addresses are accepted.

Two generators make the load; ``--generator`` picks one (default ``auto``: wrk when it is on
``PATH``), and ``generator`` in the JSON names the one that ran.

- ``wrk`` (Debian's ``wrk`` 4.1, C and epoll; ``make bench`` installs it): ``--threads`` (1) of
  it drive every connection; a Lua script written here sets the request, counts the statuses and
  stops at ``--max-requests``; it is interrupted (SIGINT) after ``--warmup`` (a separate,
  untimed run) and after ``--duration`` (wrk takes whole seconds only). Its latencies are its
  own: request written to response read, every response, no connect time.
- ``threads``: one Python thread per connection with ``http.client`` (stdlib only); the timed
  window starts once every thread has connected, a new connection's connect is timed, and the
  latencies are of good responses only. It costs 90-180 us of CPU per request where wrk costs
  15-60 (``bench/hub_load_cost.py``; ``docs/performance.md``, "Load generation for the hub
  benches"): on two cores, CPU the server under test does not get.

Usage: ``python bench/hub_load.py URL [-X GET] [-H 'Name: value']... [-c 1] [-d 2] [-n 100000]
[--warmup 0] [--new-connection] [--generator auto|wrk|threads]``
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import itertools
import json
import math
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
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
        if not sep or not name.strip() or any(c in header for c in "\r\n\0"):
            raise SystemExit(f"hub_load: a header is 'Name: value' on one line, not {header!r}")
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
            "generator": "threads",
        }


# --- wrk ------------------------------------------------------------------------------------------
WRK_MARK = "hub_load-wrk "  # the line the script's done() prints, before its JSON
WRK_SCRIPT = """\
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long s; long ns; } hub_load_ts; int clock_gettime(int, hub_load_ts *); ]]
local ts = ffi.new("hub_load_ts")
local function now() ffi.C.clock_gettime(1, ts); return tonumber(ts.s) + tonumber(ts.ns) * 1e-9 end
wrk.method = %(method)s
wrk.body = %(body)s
%(headers)s
local budget = %(budget)d
threads, started = {}, 0
function setup(thread) table.insert(threads, thread); started = now() end
count, statuses, stopped = 0, {}, false
function response(status)
  count = count + 1
  statuses[status] = (statuses[status] or 0) + 1
  if count >= budget and not stopped then stopped = now(); wrk.thread:stop() end
end
function done(summary, latency)
  local codes, last, all_stopped = {}, 0, true
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do
      table.insert(codes, string.format('"%%d": %%d', code, n))
    end
    local at = t:get("stopped")
    if at then last = math.max(last, at) else all_stopped = false end
  end
  local e = summary.errors
  io.write(string.format('%(mark)s{"duration_us": %%d, "budget_s": %%s, "statuses": {%%s}, '
    .. '"socket_errors": {"connect": %%d, "read": %%d, "write": %%d, "timeout": %%d}, '
    .. '"p50_us": %%d, "p99_us": %%d}\\n', summary.duration,
    all_stopped and string.format("%%.6f", last - started) or "null", table.concat(codes, ", "),
    e.connect, e.read, e.write, e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def lua_string(text: str | bytes | None) -> str:
    """A Lua string literal of ``text``: every byte outside ASCII letters and digits as ``\\ddd``."""
    if text is None:
        return "nil"
    raw = text.encode() if isinstance(text, str) else text
    return '"' + "".join(chr(b) if b < 128 and chr(b).isalnum() else f"\\{b:03d}" for b in raw) + '"'


def wrk_script(req: Request, budget: int) -> str:
    headers = "\n".join(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in req.headers.items())
    fields = {"method": lua_string(req.method), "body": lua_string(req.body), "headers": headers}
    return WRK_SCRIPT % (fields | {"budget": budget, "mark": WRK_MARK})


def from_wrk(stdout: str, concurrency: int, cpu: float) -> dict[str, object]:
    """hub_load's JSON from the line the script printed (``WRK_MARK`` and its JSON)."""
    line = next((x for x in reversed(stdout.splitlines()) if x.startswith(WRK_MARK)), None)
    if line is None:
        raise ValueError(f"wrk printed no {WRK_MARK.strip()!r} line: {stdout[-300:]!r}")
    raw = json.loads(line[len(WRK_MARK) :])
    statuses: Counter[str] = Counter({str(k): int(v) for k, v in raw["statuses"].items()})
    failures = {f"wrk:{k}": int(v) for k, v in raw["socket_errors"].items() if v}
    good = sum(n for code, n in statuses.items() if 200 <= int(code) < 300)
    requests = sum(statuses.values()) + sum(failures.values())
    seconds = raw["budget_s"] if raw["budget_s"] is not None else raw["duration_us"] / 1e6
    bad = sorted(code for code in statuses if not 200 <= int(code) < 300)
    sample = f"HTTP {bad[0]}" if bad else None
    if sample is None and failures:
        sample = ", ".join(f"{n} {k.removeprefix('wrk:')} errors (wrk)" for k, n in failures.items())
    return {
        "requests": requests,
        "errors": requests - good,
        "seconds": round(seconds, 4),
        "rps": round(good / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 3) if good else None,
        "p99_ms": round(raw["p99_us"] / 1000, 3) if good else None,
        "concurrency": concurrency,
        "statuses": dict(sorted((statuses + Counter(failures)).items())),
        "error_sample": sample,
        "client_cpu_s": round(cpu, 3),
        "generator": "wrk",
    }


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(
    wrk: str, req: Request, concurrency: int, threads: int, budget: int, seconds: float
) -> tuple[int, str, str]:
    """One wrk run interrupted after ``seconds`` (wrk takes whole seconds only): status, stdout, stderr."""
    host = f"[{req.host}]" if ":" in req.host else req.host
    with tempfile.NamedTemporaryFile("w", prefix="hub_load-", suffix=".lua") as script:
        script.write(wrk_script(req, math.ceil(budget / threads)))
        script.flush()
        argv = [wrk, "-t", str(threads), "-c", str(concurrency), "-d", f"{math.ceil(seconds) + 2}s"]
        argv += ["--timeout", f"{max(math.ceil(req.timeout), 1)}s", "-s", script.name]
        argv.append(f"http://{host}:{req.port}{req.target}")
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            proc.wait(timeout=seconds)  # returns early only when wrk fails (it cannot connect)
        except subprocess.TimeoutExpired:
            pass
        for _ in range(20):  # wrk ignores SIGINT while it starts its threads: say it again
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                out, err = proc.communicate(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            proc.kill()
            out, err = proc.communicate()
    return proc.returncode, out, err


def failed_wrk(status: int, out: str, err: str, concurrency: int, cpu: float) -> dict[str, object]:
    """The result of a wrk that exited before measuring (it checks one connection first)."""
    why = (err.strip() or out.strip() or "no output").splitlines()[-1]
    return {
        "requests": 1,
        "errors": 1,
        "seconds": 0.0,
        "rps": 0.0,
        "p50_ms": None,
        "p99_ms": None,
        "concurrency": concurrency,
        "statuses": {"wrk:connect": 1},
        "error_sample": f"wrk exited {status}: {why}",
        "client_cpu_s": round(cpu, 3),
        "generator": "wrk",
    }


def wrk_load(wrk: str, req: Request, args: argparse.Namespace) -> dict[str, object]:
    threads = max(1, min(args.threads, args.concurrency))
    if args.warmup > 0:
        run_wrk(wrk, req, args.concurrency, threads, args.max_requests, args.warmup)
    cpu = children_cpu()
    status, out, err = run_wrk(wrk, req, args.concurrency, threads, args.max_requests, args.duration)
    cpu = children_cpu() - cpu
    if status != 0 and WRK_MARK not in out:
        return failed_wrk(status, out, err, args.concurrency, cpu) | {"threads": threads}
    return from_wrk(out, args.concurrency, cpu) | {"threads": threads}


def pick_generator(choice: str) -> str | None:
    """wrk's path when it should run, None for the threads; ``auto`` takes wrk when installed."""
    choice = os.environ.get("WHARF_HUB_LOAD_GENERATOR", choice) if choice == "auto" else choice
    if choice == "threads":
        return None
    wrk = shutil.which("wrk")
    if wrk is None and choice == "wrk":
        raise SystemExit("hub_load: --generator wrk, but wrk is not installed (apt-get install wrk)")
    return wrk


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
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "threads"),
        default="auto",
        help="wrk, Python threads, or wrk when installed (default; WHARF_HUB_LOAD_GENERATOR overrides auto)",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk's threads (default: 1)")
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 256 or not 0 < args.duration <= 600 or args.max_requests < 1:
        raise SystemExit("hub_load: concurrency 1-256, duration 0-600 s, max requests >= 1")
    if not 0 <= args.warmup <= 60 or not 1 <= args.threads <= 16:
        raise SystemExit("hub_load: warm-up 0-60 s, threads 1-16")
    req = parse_request(args)
    wrk = pick_generator(args.generator)
    if wrk is not None:
        result = wrk_load(wrk, req, args)
    else:
        result = Load(req, args.concurrency, args.max_requests).run(args.duration, args.warmup)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
