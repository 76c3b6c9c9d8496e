"""Hub requests per second (search, the token endpoint) and webhook delivery latency, push to receipt.

1. A ``wharf-hub`` on SQLite (its default) and, when PostgreSQL is installed, one on a throwaway
   cluster, each with a user and 200 described repositories (made through the hub's services).
   ``bench/hub_load.py``, a second process (wrk when installed, else Python threads; the table's
   last line names it), loads ``GET /v1/_ping`` (the floor: uvicorn, FastAPI,
   the connection), ``GET /v1/search?q=web&n=25`` (anonymous; 75 match) and the token endpoint
   every pull starts with, ``GET /v1/repositories/<user>/web/images`` with Basic credentials and
   ``X-Docker-Token: true`` (it also counts the pull: a write); 1 and 16 connections at a time,
   keep-alive (as engines talk) and a new connection per request. Each case runs once untimed,
   then all run round-robin; the table gives medians and the ratio to the floor alike.
2. A receiver (``http.server`` on 127.0.0.1) is added as ``<user>/web``'s webhook by the hub's JSON
   API; a wharf engine started here (``--default-index`` the hub) pushes busybox as
   ``<user>/web:<n>`` through the hub to a ``wharf-registry`` in index mode. Timed: push start to
   receipt, and push end (the stream's last byte) to receipt, the hub's asynchronous part (it
   can be below zero: the hub queues the delivery in the engine's final ``PUT .../images`` and
   wakes its worker at once, so the POST may arrive before the engine's stream has ended).

Only 127.0.0.1 is used. On the way out (SIGTERM too) every process is stopped by pid, the engine's
bridge deleted and the temp dirs removed.

Usage: ``.venv/bin/python bench/hub_bench.py [--rounds 3] [--seconds 1] [--pushes 5] [--json PATH]``
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import http.server
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from wharf_common.logging import configure_logging
from wharf_hub.app import build_hub
from wharf_hub.pgtesting import PostgresCluster, pg_bin
from wharf_hub.testing import HubProcess
from wharf_registry.testing import RegistryProcess, free_port

# bench/bench.py and bench/net_bench.py, whose helpers this reuses: run as a script, sys.path[0] is
# bench/; mypy, run from the repo root, sees bench/ as a namespace package instead
if TYPE_CHECKING:
    from seed import UnixConnection

    from bench import bench as base
    from bench import net_bench as net
else:
    import net_bench as net
    from seed import UnixConnection  # on sys.path once net_bench has imported bench.py

    import bench as base

LOAD = Path(__file__).resolve().with_name("hub_load.py")
USER, PASSWORD = "benchuser", "bench-Pa55word"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
WORDS = ("web", "api", "db", "cache", "worker", "proxy", "static", "queue")
REPOSITORIES, WIDTHS, WEBHOOK_BUDGET, RECEIPT_TIMEOUT = 200, (1, 16), 90.0, 30.0
ENDPOINTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (  # key, label, path, headers
    ("floor", "GET /v1/_ping (floor)", "/v1/_ping", ()),
    ("search", "search q=web n=25", "/v1/search?q=web&n=25", ()),
    (
        "token",
        f"token: {USER}/web/images",
        f"/v1/repositories/{USER}/web/images",
        (f"Authorization: {BASIC}", "X-Docker-Token: true"),
    ),
)
MODES = {False: "keep-alive", True: "new connection"}
HOOK_ROWS = {
    "from_start": "webhook: push start -> receipt",
    "from_end": "webhook: push end -> receipt (async)",
    "push": "the push itself (engine -> hub + registry)",
}


@dataclass(frozen=True, slots=True)
class Case:
    backend: str
    endpoint: str
    width: int
    fresh: bool  # a new connection per request

    @property
    def floor(self) -> Case:
        return Case(self.backend, "floor", self.width, self.fresh)


@dataclass(slots=True)
class Samples:
    runs: list[dict[str, Any]] = field(default_factory=list)  # hub_load's JSON lines
    skipped: str | None = None

    def median(self, key: str) -> float | None:
        values = [r[key] for r in self.runs if r.get(key) is not None]
        return statistics.median(values) if values else None


@dataclass(slots=True)
class Hook:
    samples: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in HOOK_ROWS})  # ms
    error: str | None = None


# --- set-up ---------------------------------------------------------------------------------------
def seed_repositories(hub: HubProcess) -> None:
    """The bench user and 200 repositories with descriptions, through the hub's own services."""
    hub.create_user(USER, PASSWORD)
    services = build_hub(hub.settings())
    try:
        with services.db.session() as s:
            user = services.accounts.find(s, USER)
            for i in range(REPOSITORIES):
                word = WORDS[i % len(WORDS)]
                name = word if i < len(WORDS) else f"{word}-{i}"
                what = "serves web pages" if word in ("proxy", "static") else f"a {word} for demos"
                services.repos.create(s, user, USER, name, description=f"{name}: {what}, number {i}")
    finally:
        services.db.dispose()


def start_hubs(
    stack: contextlib.ExitStack, tmp: Path, registry_port: int, notes: list[str]
) -> dict[str, HubProcess]:
    """SQLite's hub (the registry's index) and, if PostgreSQL can start here, PostgreSQL's."""
    hubs: dict[str, HubProcess] = {}
    registry = f"http://127.0.0.1:{registry_port}"
    hub = HubProcess(tmp / "hub-sqlite", registry_url=registry)
    stack.callback(hub.stop)
    hubs["sqlite"] = hub.start()
    seed_repositories(hub)
    if pg_bin() is None:
        notes.append("PostgreSQL skipped: initdb/pg_ctl not installed")
        return hubs
    try:
        cluster = PostgresCluster()
        stack.callback(cluster.stop)  # after the hub below has stopped
        cluster.start()
        pg = HubProcess(tmp / "hub-postgresql", database_url=cluster.database())
        stack.callback(pg.stop)
        hubs["postgresql"] = pg.start()
        seed_repositories(pg)
    except (RuntimeError, OSError, subprocess.SubprocessError, psycopg.Error) as exc:
        notes.append(f"PostgreSQL skipped: {type(exc).__name__}: {base.tail(str(exc))}")
        hubs.pop("postgresql", None)
    return hubs


# --- 1. requests per second -----------------------------------------------------------------------
def load(hub: HubProcess, case: Case, args: argparse.Namespace, secs: float, warmup: float) -> dict[str, Any]:
    """One ``hub_load.py`` run (a separate process; wrk when installed); its JSON line."""
    _, _, path, headers = next(e for e in ENDPOINTS if e[0] == case.endpoint)
    argv = [sys.executable, str(LOAD), hub.url + path, "-c", str(case.width), "-d", str(secs)]
    argv += ["--warmup", str(warmup), "-n", str(args.max_requests), *(a for h in headers for a in ("-H", h))]
    argv += ["--new-connection"] if case.fresh else []
    argv += ["--generator", getattr(args, "generator", "auto")]  # auto: wrk when installed
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=secs + warmup + 60)
        result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    except subprocess.TimeoutExpired as exc:
        raise base.Skip(f"hub_load failed: {exc}") from exc
    except (IndexError, ValueError) as exc:
        raise base.Skip(f"hub_load failed: {exc}: {base.tail(done.stderr)}") from exc
    return result


def measure_rps(
    hubs: dict[str, HubProcess], args: argparse.Namespace, deadline: float, notes: list[str]
) -> tuple[dict[Case, Samples], int]:
    cases = [Case(b, e[0], w, fresh) for b in hubs for fresh in MODES for w in WIDTHS for e in ENDPOINTS]
    results = {case: Samples() for case in cases}
    for case in cases:  # warm-up, untimed; also shows a broken case early
        try:
            load(hubs[case.backend], case, args, 0.2, 0.0)
        except base.Skip as exc:
            results[case].skipped = str(exc)
    live = [c for c in cases if results[c].skipped is None]
    done = 0
    for r in range(max(args.rounds, 1)):
        if time.monotonic() + len(live) * (args.seconds + 0.8) > deadline:
            notes.append(f"--max-seconds: {done} of {args.rounds} rounds of requests/s")
            break
        base.log(f"requests/s: round {r + 1} of {args.rounds}, {len(live)} cases")
        shift = r % len(live) if live else 0
        for case in live[shift:] + live[:shift]:
            with contextlib.suppress(base.Skip):
                results[case].runs.append(load(hubs[case.backend], case, args, args.seconds, 0.2))
        done += 1
    return results, done


def ratio(results: dict[Case, Samples], case: Case) -> float | None:
    if case.endpoint == "floor":
        return None
    rps, floor = results[case].median("rps"), results[case.floor].median("rps")
    return rps / floor if rps is not None and floor else None


# --- 2. webhook delivery ----------------------------------------------------------------------------
class Receiver(http.server.ThreadingHTTPServer):
    """Webhook POSTs on 127.0.0.1, kept as (perf_counter at receipt, the body's push_data.tag)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Delivery)
        self.received: list[tuple[float, object]] = []
        self.arrived = threading.Condition()

    def wait_for(self, tag: str, since: float, timeout: float) -> float | None:
        """When the POST for ``tag`` (or one naming no tag) arrived after ``since``."""

        def match() -> float | None:
            return next((at for at, got in self.received if at >= since and got in (tag, None)), None)

        with self.arrived:
            self.arrived.wait_for(lambda: match() is not None, timeout)
            return match()


class Delivery(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        at = time.perf_counter()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        try:
            tag = json.loads(body).get("push_data", {}).get("tag")
        except (ValueError, AttributeError):
            tag = None
        with self.server.arrived:
            self.server.received.append((at, tag))
            self.server.arrived.notify_all()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def add_webhook(hub: HubProcess, url: str) -> None:
    """``POST /api/v1/repositories/<user>/web/webhooks`` as the bench user."""
    headers = {"Authorization": BASIC, "Content-Type": "application/json"}
    body = json.dumps({"name": "bench", "url": url}).encode()
    request = urllib.request.Request(f"{hub.url}/api/v1/repositories/{USER}/web/webhooks", body, headers)
    try:
        urllib.request.urlopen(request, timeout=30).close()
    except urllib.error.HTTPError as exc:
        raise base.Skip(f"adding the webhook: {exc.code} {base.tail(exc.read())}") from exc


def engine_call(engine: net.Engine, method: str, path: str, auth: dict[str, str] | None = None) -> None:
    headers = {"X-Registry-Auth": base64.urlsafe_b64encode(json.dumps(auth or {}).encode()).decode()}
    conn = UnixConnection(str(engine.sock), timeout=120)
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        text = response.read().decode(errors="replace")
    finally:
        conn.close()
    if response.status >= 300 or '{"error' in text:
        raise base.Skip(f"{method} {path}: {response.status} {base.tail(text)}")


def measure_webhook(
    stack: contextlib.ExitStack,
    tmp: Path,
    hub: HubProcess,
    registry_port: int,
    pushes: int,
    deadline: float,
    hook: Hook,
) -> None:
    """Pushes through a real engine; ms from push start and from push end to the receiver's POST."""
    registry = RegistryProcess(tmp / "registry", registry_port, hub.public_key_path)
    registry.root.mkdir()
    stack.callback(registry.stop)
    registry.start()
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, name="webhook-receiver", daemon=True).start()
    stack.callback(receiver.server_close)
    stack.callback(receiver.shutdown)
    add_webhook(hub, f"http://127.0.0.1:{receiver.server_address[1]}/hook")
    os.environ["WHARF_ENGINE_DEFAULT_INDEX"] = hub.url  # the engine's bare names resolve to the hub
    engine = net.start_engine(stack, tmp, base.prepare_image(base.DEFAULT_IMAGE))
    auth = {"username": USER, "password": PASSWORD, "serveraddress": hub.url}
    for n in range(pushes + 1):  # push 0 uploads busybox's layer and is not timed
        if time.monotonic() + RECEIPT_TIMEOUT > deadline:
            hook.error = f"--max-seconds reached after {max(n - 1, 0)} timed pushes"
            break
        engine_call(engine, "POST", f"/images/busybox/tag?repo={USER}/web&tag={n}")
        start = time.perf_counter()
        engine_call(engine, "POST", f"/images/{USER}/web/push?tag={n}", auth)
        end = time.perf_counter()
        received = receiver.wait_for(str(n), start, RECEIPT_TIMEOUT)
        if received is None:
            raise base.Skip(f"no webhook POST within {RECEIPT_TIMEOUT:.0f}s of the push of {USER}/web:{n}")
        if n:
            for key, since, until in (
                ("push", start, end),
                ("from_start", start, received),
                ("from_end", end, received),
            ):
                hook.samples[key].append((until - since) * 1000)


def stall(results: dict[Case, Samples]) -> str | None:
    """A note when reused connections wait far longer than new ones for the floor."""
    kept, fresh = (results.get(Case("sqlite", "floor", 1, f), Samples()).median("p50_ms") for f in MODES)
    if kept is None or fresh is None or kept < 30 or kept < 10 * fresh:
        return None
    return (
        f"_ping p50 is {kept:.1f} ms on a reused connection, {fresh:.2f} ms on a new one: ~40 ms "
        "a request: Nagle's algorithm meets delayed ACKs (the hub sets no TCP_NODELAY)"
    )


# --- report -------------------------------------------------------------------------------------------
def generators(results: dict[Case, Samples]) -> str:
    """Which load generator made the runs (hub_load.py's ``generator``: wrk, or its threads)."""
    names = sorted({str(r.get("generator", "threads")) for s in results.values() for r in s.runs})
    return f"bench/hub_load.py with {' and '.join(names) or 'no runs'}"


def report(results: dict[Case, Samples], rounds: int, hook: Hook, notes: list[str]) -> str:
    def num(v: float | None, fmt: str = ".1f") -> str:
        return "-" if v is None else format(v, fmt)

    group = f"{'req/s':>8} {'p50 ms':>7} {'vs floor':>8}"
    lines = [
        f"{'hub requests/s (median)':<42} {'':>4}  {'keep-alive':^25}  {'new connection':^25}",
        f"{'case':<42} {'conc':>4}  {group}  {group}",
    ]
    for case in (c for c in results if not c.fresh):
        label = f"{case.backend}: " + next(e[1] for e in ENDPOINTS if e[0] == case.endpoint)
        cells, flags = [], []
        for c in (case, Case(case.backend, case.endpoint, case.width, True)):
            s = results.get(c, Samples(skipped="not run"))
            x = ratio(results, c)
            cells.append(
                f"{num(s.median('rps')):>8} {num(s.median('p50_ms'), '.2f'):>7} "
                f"{'' if x is None else f'{x:.2f}x':>8}"
            )
            errors = sum(r["errors"] for r in s.runs)
            flags += [f"{MODES[c.fresh]}: {errors} errors ({s.runs[-1]['error_sample']})"] if errors else []
            flags += [f"{MODES[c.fresh]}: skipped: {s.skipped}"] if s.skipped else []
        lines.append(f"{label:<42} {case.width:>4}  " + "  ".join(cells) + "".join(f"  [{f}]" for f in flags))
    lines += [f"{rounds} interleaved rounds after one untimed run per case; load: {generators(results)}", ""]
    if not hook.samples["push"]:
        lines.append(f"webhook delivery: skipped: {hook.error or 'no pushes timed'}")
    else:
        n = len(hook.samples["push"])
        lines.append(f"{f'webhook delivery, ms ({n} pushes)':<42} {'median':>8} {'min':>8} {'max':>8}")
        for key, label in HOOK_ROWS.items():
            v = hook.samples[key]
            lines.append(f"{label:<42} {statistics.median(v):>8.1f} {min(v):>8.1f} {max(v):>8.1f}")
        shown = " ".join(f"{v:.0f}" for v in hook.samples["from_end"])
        lines.append(f"push end -> receipt in push order (each push adds a tag): {shown} ms")
        lines += [f"webhook: stopped early: {hook.error}"] if hook.error else []
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)


def as_json(results: dict[Case, Samples], rounds: int, hook: Hook, notes: list[str]) -> dict[str, Any]:
    rows = [
        {
            "backend": c.backend,
            "endpoint": c.endpoint,
            "concurrency": c.width,
            "mode": MODES[c.fresh],
            "rps": s.median("rps"),
            "p50_ms": s.median("p50_ms"),
            "p99_ms": s.median("p99_ms"),
            "vs_floor": ratio(results, c),
            "errors": sum(r["errors"] for r in s.runs),
            "skipped": s.skipped,
            "runs": s.runs,
        }
        for c, s in results.items()
    ]
    webhook = {
        k: {"median_ms": statistics.median(v) if v else None, "samples_ms": v}
        for k, v in hook.samples.items()
    }
    doc = {"rounds": rounds, "generator": generators(results), "rps": rows}
    return doc | {"webhook": webhook | {"skipped": hook.error}, "notes": notes}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    for flag, default, what in (
        ("--rounds", 3, "interleaved rounds of every requests/s case"),
        ("--seconds", 1.0, "timed seconds per requests/s run"),
        ("--max-requests", 50_000, "requests per run at most"),
        ("--pushes", 5, "timed pushes for the webhook latency"),
        ("--max-seconds", 240.0, "overall time budget"),
    ):
        parser.add_argument(flag, type=type(default), default=default, help=f"{what} (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, base._terminate)
    configure_logging("warning")  # the hub's services, used here to seed, log to stderr

    deadline = time.monotonic() + args.max_seconds
    notes: list[str] = []
    results: dict[Case, Samples] = {}
    hook, rounds = Hook(), 0
    with (
        tempfile.TemporaryDirectory(prefix="wharf-hub-bench-", ignore_cleanup_errors=True) as tmp_name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp_name)
        stack.callback(base.unmount_under, tmp)  # runs last: after every daemon has stopped
        registry_port = free_port()
        base.log("starting the hubs, seeding repositories")
        try:
            hubs = start_hubs(stack, tmp, registry_port, notes)
            with contextlib.ExitStack() as push_stack:  # the engine and registry stop before the load
                base.log("webhook delivery: pushes through a wharf engine")
                until = min(deadline, time.monotonic() + WEBHOOK_BUDGET)
                try:
                    measure_webhook(push_stack, tmp, hubs["sqlite"], registry_port, args.pushes, until, hook)
                except (base.Skip, RuntimeError, OSError, http.client.HTTPException) as exc:
                    hook.error = f"{type(exc).__name__}: {exc}"
            results, rounds = measure_rps(hubs, args, deadline, notes)
        except RuntimeError as exc:  # the SQLite hub did not start
            notes.append(f"stopped: {base.tail(str(exc))}")
    notes += [n for n in [stall(results)] if n]

    print(report(results, rounds, hook, notes))
    if args.json is not None:
        args.json.write_text(json.dumps(as_json(results, rounds, hook, notes), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
