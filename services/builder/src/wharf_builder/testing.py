"""For tests and benches: real processes (a throwaway ``redis-server`` on a unix socket, a
``wharf-builder worker``; both stopped by pid), and fakes of the executor's two Protocols
(an engine and a hub reporter) for unit tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from wharf_client import BadRequestError, JSONObject

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """``redis-server`` on a unix socket under ``root`` (no TCP port, no persistence)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "redis.sock"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    def start(self, timeout: float = 10.0) -> RedisServer:
        self.root.mkdir(parents=True, exist_ok=True)
        log = (self.root / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {(self.root / 'redis.log').read_text()[-2000:]}")
            if self.socket.exists():
                return self
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class WorkerProcess:
    """``wharf-builder worker`` (Celery, prefork) with its settings in the environment."""

    def __init__(
        self, root: Path, env: dict[str, str], *, concurrency: int = 1, name: str = "builder"
    ) -> None:
        self.root = root
        self.env = env
        self.concurrency = concurrency
        self.name = name
        self.log_path = root / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> WorkerProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wharf_builder.main",
                "worker",
                "-c",
                str(self.concurrency),
                "-n",
                f"{self.name}@%h",
                "--workdir",
                str(self.root / "work"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wharf-builder exited: {self.log_path.read_text()[-3000:]}")
            if " ready." in self.log_path.read_text(errors="replace"):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"wharf-builder did not get ready: {self.log_path.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stops the worker and its pool processes (its own session), by process group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # pool children left behind
        except ProcessLookupError:
            pass
        self.proc = None


class FakeReporter:
    """A BuildReporter that records what it is told and says "cancelled" once ``cancel_after``
    calls have been made."""

    def __init__(self, cancel_after: int | None = None) -> None:
        self.statuses: list[tuple[str, dict[str, Any]]] = []
        self.pieces: list[str] = []
        self.cancel_after = cancel_after

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def _cancelled(self) -> bool:
        calls = len(self.statuses) + len(self.pieces)
        return self.cancel_after is not None and calls >= self.cancel_after

    def status(self, build_id: int, status: str, **fields: Any) -> bool:
        self.statuses.append((status, fields))
        return self._cancelled()

    def log(self, build_id: int, text: str) -> bool:
        self.pieces.append(text)
        return self._cancelled()


class FakeEngine:
    """Builds by reading the Dockerfile name it was given; fails on ``RUN false``; pushes."""

    def __init__(self, *, fail_push: bool = False, hang: BaseException | None = None) -> None:
        self.built: list[dict[str, Any]] = []
        self.pushed: list[tuple[str, str | None, Any]] = []
        self.fail_push = fail_push
        self.hang = hang

    def image_build(self, context: Any, **options: Any) -> Iterable[JSONObject]:
        data = context.read()
        self.built.append({"size": len(data), **options})

        def messages() -> Iterator[JSONObject]:
            yield {"stream": "Step 1/2 : FROM busybox\n"}
            if self.hang is not None:
                raise self.hang
            if b"RUN false" in data:
                raise BadRequestError(400, "The command '/bin/sh -c false' returned a non-zero code: 1")
            yield {"aux": {"ID": "sha256:" + "a" * 64}}
            yield {"stream": "Successfully built aaaaaaaaaaaa\n"}

        return messages()

    def image_push(self, name: str, tag: str | None = None, *, auth: Any = None) -> Iterable[JSONObject]:
        if self.fail_push:
            raise BadRequestError(401, "unauthorized")
        self.pushed.append((name, tag, auth))
        return iter([{"status": "Pushing repository " + name}])


__all__ = ["FakeEngine", "FakeReporter", "RedisServer", "WorkerProcess"]
