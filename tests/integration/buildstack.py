"""What the automated-build tests share: a throwaway Redis, the hub's and the workers' settings for
it, a ``wharf-builder`` worker, and ``git daemon`` serving bare repositories on loopback. Every
process is stopped by pid (workers by process group) and its directory removed, whatever happened."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wharf_builder.testing import RedisServer, WorkerProcess
from wharf_registry.testing import free_port

SECRET = "builder-secret-for-tests-0123456789"


@contextmanager
def redis() -> Iterator[RedisServer]:
    root = Path(tempfile.mkdtemp(prefix="wharf-redis-"))
    server = RedisServer(root).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def hub_env(server: RedisServer, **builder: str) -> dict[str, str]:
    """The hub's settings for builds on ``server`` (``builder``: more ``WHARF_HUB_BUILDER__*``)."""
    extra = {f"WHARF_HUB_BUILDER__{k.upper()}": v for k, v in builder.items()}
    return {"WHARF_HUB_BUILDER__BROKER_URL": server.url, "WHARF_HUB_BUILDER__SECRET": SECRET, **extra}


def worker_env(server: RedisServer, engine_host: str, hub_url: str, **settings: str) -> dict[str, str]:
    extra = {f"WHARF_BUILDER_{k.upper()}": v for k, v in settings.items()}
    return {
        "WHARF_BUILDER_BROKER_URL": server.url,
        "WHARF_BUILDER_ENGINE_HOST": engine_host,
        "WHARF_BUILDER_HUB_URL": hub_url,
        "WHARF_BUILDER_HUB_SECRET": SECRET,
        **extra,
    }


class Workers:
    """One worker at a time, which a test may kill and replace."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env, self.count = root, env, 0
        self.current: WorkerProcess | None = None

    def start(self) -> WorkerProcess:
        self.count += 1
        self.current = WorkerProcess(
            self.root / str(self.count), self.env, name=f"builder{self.count}"
        ).start()
        return self.current

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.current is not None:
            self.current.stop(sig)
            self.current = None


@contextmanager
def workers(env: dict[str, str]) -> Iterator[Workers]:
    root = Path(tempfile.mkdtemp(prefix="wharf-builders-"))
    pool = Workers(root, env)
    pool.start()
    try:
        yield pool
    finally:
        pool.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def git_daemon(base: Path) -> Iterator[str]:
    """``git daemon`` exporting the repositories under ``base``; yields ``git://127.0.0.1:PORT``."""
    port = free_port()
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={base}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"git://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while not _listening(port):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("git daemon did not start")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


__all__ = ["SECRET", "Workers", "git_daemon", "hub_env", "redis", "worker_env", "workers"]
