"""Automated builds: how fast a ``git push`` starts a build and reaches the pushed image's webhook,
and 20 builds of 20 repositories on 2 workers (all built exactly once), then the same with one
worker killed half way (no build lost, none run twice).

1. Redis (a unix socket), a hub and an index-mode registry, an engine with busybox, and 2
   ``wharf-builder`` workers, all on loopback and started here.
2. ``alice/app`` builds from a bare repository whose ``post-receive`` hook (the one in
   ``deploy/git-hooks``) calls the trigger URL; a webhook receiver on 127.0.0.1. For each push:
   push start → build claimed by a worker (target: under 1 s median), and push start → the push
   webhook of the built image, minus the build's own time (target: under 2 s).
3. 20 repositories, one build each, triggered at once: total time, each built exactly once.
4. Again, with one worker SIGKILLed once half of them have finished and a new one started: every
   build ends (failed "lost" for the one the dead worker held, never "running"), none twice.

Every process is stopped by pid (workers by process group) and the temp dirs removed.
Usage: ``.venv/bin/python bench/builder_bench.py [--pushes 5] [--repos 20]``
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from wharf_builder.testing import RedisServer, WorkerProcess
from wharf_hub.testing import HubProcess
from wharf_registry.testing import RegistryProcess, free_port

# bench/bench.py and bench/net_bench.py, whose helpers this reuses: run as a script, sys.path[0] is
# bench/; mypy, run from the repo root, sees bench/ as a namespace package instead
if TYPE_CHECKING:
    from bench import bench as base
    from bench import net_bench as net
else:
    import net_bench as net

    import bench as base

SECRET = "bench-builder-secret-0123456789abcdef"
USER, PASSWORD = "alice", "pa55word-bench"
DOCKERFILE = "FROM busybox\nCOPY n.txt /n.txt\n"
FINAL = ("success", "failed", "cancelled")


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        self.events: list[tuple[float, str, bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                outer.events.append((time.perf_counter(), self.headers.get("x-wharf-event", ""), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def git(*args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True, env=env).stdout.strip()


def bare_repo(root: Path) -> tuple[Path, Path]:
    bare, work = root / "src.git", root / "work"
    git("init", "-q", "--bare", "-b", "main", str(bare))
    git("init", "-q", "-b", "main", str(work))
    (work / "Dockerfile").write_text(DOCKERFILE)
    (work / "n.txt").write_text("0\n")
    git("-C", str(work), "add", "-A")
    git("-C", str(work), "commit", "-qm", "0")
    git("-C", str(work), "push", "-q", str(bare), "main")
    return bare, work


def automate(api: httpx.Client, name: str, source: Path) -> dict[str, Any]:
    api.post("/repositories", json={"namespace": USER, "name": name}).raise_for_status()
    body = {"source_url": str(source), "rules": [{"source_type": "branch", "source_name": "main"}]}
    r = api.put(f"/repositories/{USER}/{name}/autobuild", json=body)
    r.raise_for_status()
    info: dict[str, Any] = r.json()
    return info


def builds(api: httpx.Client, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get(f"/repositories/{USER}/{name}/builds").json()
    return found


def wait(predicate: Any, timeout: float, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise base.Skip(f"condition not met within {timeout:.0f} s")


def push_latency(api: httpx.Client, tmp: Path, receiver: Receiver, pushes: int) -> dict[str, list[float]]:
    bare, work = bare_repo(tmp / "app")
    info = automate(api, "app", bare)
    hook = api.post(
        f"/repositories/{USER}/app/webhooks",
        json={"name": "ci", "url": f"http://127.0.0.1:{receiver.server_address[1]}/"},
    )
    hook.raise_for_status()
    shutil.copy(base.REPO_ROOT / "deploy" / "git-hooks" / "post-receive", bare / "hooks" / "post-receive")
    git("--git-dir", str(bare), "config", "wharf.triggerurl", info["trigger_url"])
    samples: dict[str, list[float]] = {"start": [], "webhook_overhead": [], "build": []}
    for n in range(pushes + 1):  # push 0 warms the worker and the engine's cache
        (work / "n.txt").write_text(f"push {n}\n")
        git("-C", str(work), "commit", "-qam", str(n))
        known = {b["id"] for b in builds(api, "app")}
        seen = len(receiver.events)
        start = time.perf_counter()
        git("-C", str(work), "push", "-q", str(bare), "main")
        build = wait(functools.partial(claimed_build, api, known), 30)
        claimed = time.perf_counter()
        done = wait(functools.partial(final_build, api, build["id"]), 120)
        if done["status"] != "success":
            raise base.Skip(f"build {done['id']} {done['status']}: {base.tail(done['log'])}")
        pushed = wait(functools.partial(first_push, receiver, seen), 60)
        if n:
            samples["start"].append((claimed - start) * 1000)
            samples["build"].append(done["duration"] * 1000)
            samples["webhook_overhead"].append((pushed - start) * 1000 - done["duration"] * 1000)
    return samples


def claimed_build(api: httpx.Client, known: set[int]) -> dict[str, Any] | None:
    return next((b for b in builds(api, "app") if b["id"] not in known and b["status"] != "queued"), None)


def first_push(receiver: Receiver, after: int) -> float | None:
    return next((at for at, event, _ in receiver.events[after:] if event == "push"), None)


def final_build(api: httpx.Client, build_id: int) -> dict[str, Any] | None:
    build: dict[str, Any] = api.get(f"/repositories/{USER}/app/builds/{build_id}").json()
    return build if build["status"] in FINAL else None


def many(api: httpx.Client, tmp: Path, names: list[str], workers: Any = None) -> dict[str, Any]:
    """One build per repository, all at once; with ``workers``, one is killed half way."""
    for name in names:
        bare, _ = bare_repo(tmp / name)
        automate(api, name, bare)
    start = time.perf_counter()
    ids = {name: api.post(f"/repositories/{USER}/{name}/builds", json={}).json()[0]["id"] for name in names}
    killed = False

    def all_final() -> bool:
        nonlocal killed
        states = [api.get(f"/repositories/{USER}/{n}/builds/{i}").json() for n, i in ids.items()]
        finished = sum(s["status"] in FINAL for s in states)
        if workers is not None and not killed and finished >= len(names) // 2:
            workers.kill_one()
            killed = True
        return finished == len(names)

    wait(all_final, 600, interval=0.2)
    total = time.perf_counter() - start
    results = [api.get(f"/repositories/{USER}/{n}/builds/{i}").json() for n, i in ids.items()]
    per_repo = [len(builds(api, n)) for n in names]
    twice = sum(r["log"].count("Cloning ") > 1 for r in results)
    return {
        "total_s": total,
        "success": sum(r["status"] == "success" for r in results),
        "lost": sum("lost" in (r["error"] or "") for r in results),
        "builds_per_repo": set(per_repo),
        "run_twice": twice,
    }


class Workers:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env, self.count = root, env, 0
        self.live: list[WorkerProcess] = []

    def start(self) -> None:
        self.count += 1
        self.live.append(
            WorkerProcess(self.root / f"w{self.count}", self.env, name=f"bench{self.count}").start()
        )

    def kill_one(self) -> None:
        self.live.pop(0).stop(signal.SIGKILL)
        self.start()

    def stop(self) -> None:
        for worker in self.live:
            worker.stop()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    p.add_argument("--pushes", type=int, default=5)
    p.add_argument("--repos", type=int, default=20)
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, base._terminate)
    with contextlib.ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="wharf-builder-bench-"))
        stack.callback(shutil.rmtree, tmp, True)
        redis = RedisServer(tmp / "redis").start()
        stack.callback(redis.stop)
        port = free_port()
        env = {
            "WHARF_HUB_BUILDER__BROKER_URL": redis.url,
            "WHARF_HUB_BUILDER__SECRET": SECRET,
            "WHARF_HUB_BUILDER__BUILD_TIMEOUT": "30",
            "WHARF_HUB_BUILDER__GRACE": "5",
            "WHARF_HUB_BUILDER__REAP_INTERVAL": "1",
            "WHARF_HUB_WEBHOOKS__POLL_INTERVAL": "0.05",
        }
        hub = HubProcess(tmp / "hub", registry_url=f"http://127.0.0.1:{port}", env=env)
        hub.start()
        stack.callback(hub.stop)
        hub.create_user(USER, PASSWORD)
        registry = RegistryProcess(tmp / "registry", port, hub.public_key_path)
        registry.root.mkdir()
        registry.start()
        stack.callback(registry.stop)
        os.environ["WHARF_ENGINE_DEFAULT_INDEX"] = hub.url
        (tmp / "engine").mkdir()
        engine = net.start_engine(stack, tmp / "engine", base.prepare_image(base.DEFAULT_IMAGE))
        workers = Workers(
            tmp / "workers",
            {
                "WHARF_BUILDER_BROKER_URL": redis.url,
                "WHARF_BUILDER_ENGINE_HOST": f"unix://{engine.sock}",
                "WHARF_BUILDER_HUB_URL": hub.url,
                "WHARF_BUILDER_HUB_SECRET": SECRET,
                "WHARF_BUILDER_BUILD_TIMEOUT": "30",
                "WHARF_BUILDER_REDELIVERY_GRACE": "5",
            },
        )
        stack.callback(workers.stop)
        workers.start()
        workers.start()
        receiver = Receiver()
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        stack.callback(receiver.server_close)
        stack.callback(receiver.shutdown)
        api = stack.enter_context(
            httpx.Client(base_url=f"{hub.url}/api/v1", auth=(USER, PASSWORD), timeout=30)
        )
        base.log("git push -> build start / webhook")
        lat = push_latency(api, tmp, receiver, args.pushes)
        base.log(f"{args.repos} builds on 2 workers")
        calm = many(api, tmp, [f"r{i}" for i in range(args.repos)])
        base.log(f"{args.repos} builds, one worker killed half way")
        rough = many(api, tmp, [f"k{i}" for i in range(args.repos)], workers)
    start_ms = statistics.median(lat["start"])
    overhead = statistics.median(lat["webhook_overhead"])
    print("\nautomated builds (wharf-builder on Redis, 2 workers)")
    print(
        f"  git push -> build start (median of {args.pushes}):   {start_ms:7.0f} ms   target < 1000 ms: "
        f"{'met' if start_ms < 1000 else 'not met'}"
    )
    build_ms = statistics.median(lat["build"])
    print(
        f"  git push -> image's push webhook, minus the build:   {overhead:7.0f} ms   target < 2000 ms: "
        f"{'met' if overhead < 2000 else 'not met'}   (build itself {build_ms:.0f} ms)"
    )
    for label, r in ((f"{args.repos} repos", calm), (f"{args.repos} repos, a worker killed", rough)):
        once = r["builds_per_repo"] == {1} and r["run_twice"] == 0
        print(
            f"  {label:28s} {r['total_s']:6.1f} s   {r['success']} built, {r['lost']} lost-and-failed, "
            f"exactly once: {'yes' if once else 'NO'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
