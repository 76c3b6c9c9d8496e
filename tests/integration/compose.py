"""The real docker-compose 1.29 against a test engine: its virtualenv and a project per test.

The virtualenv is built once by ``deploy/compose/compose_venv.py`` (cached under ``.cache``, a few
seconds when pip's cache has PyYAML's wheel). Each :class:`Project` has a unique name, runs
docker-compose in a directory of its own with ``DOCKER_HOST`` set to the engine, and at teardown is
brought down (``down -v``) and then swept: any container, volume or network that still carries the
project's label is removed by API, so a failing test leaves nothing behind on its engine.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from engines import REPO, Engine

__all__ = [
    "PROJECT_LABEL",
    "Lines",
    "Project",
    "compose_bin",
    "compose_project",
    "ensure_compose",
    "fetch",
    "host_port",
]

COMPOSE_VENV = REPO / "deploy" / "compose" / "compose_venv.py"
PROJECT_LABEL = "com.docker.compose.project"


def ensure_compose() -> Path:
    """The ``docker-compose`` executable, building its virtualenv if this checkout has none."""
    result = subprocess.run(
        [sys.executable, str(COMPOSE_VENV)], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"building docker-compose's virtualenv failed:\n{result.stderr[-3000:]}")
    return Path(result.stdout.strip())


@pytest.fixture(scope="session")
def compose_bin() -> Path:
    return ensure_compose()


@dataclass
class Project:
    """One compose project: its files in ``directory``, its name, the engine it runs on."""

    engine: Engine
    compose: Path
    directory: Path
    name: str
    env: dict[str, str] = field(default_factory=dict)

    def write(self, files: dict[str, str]) -> None:
        for rel, text in files.items():
            path = self.directory / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def run(
        self, *args: str, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        # compose execs through ``docker exec -i``: its stdin stays open, as a terminal's would (an
        # exec whose stdin is at EOF from the start sometimes loses its output: an engine race that
        # these tests are not about)
        quiet_stdin, keep_open = os.pipe()
        try:
            return subprocess.run(
                [str(self.compose), "--ansi", "never", "-p", self.name, *args],
                cwd=self.directory,
                env={**self.engine.env, **self.env, **(env or {})},
                stdin=quiet_stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        finally:
            os.close(quiet_stdin)
            os.close(keep_open)

    def ok(self, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> str:
        result = self.run(*args, timeout=timeout, env=env)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(self.compose), "--ansi", "never", "-p", self.name, *args],
            cwd=self.directory,
            env={**self.engine.env, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def _label_filter(self) -> str:
        return urllib.parse.quote(json.dumps({"label": [f"{PROJECT_LABEL}={self.name}"]}))

    def containers(self) -> list[dict[str, Any]]:
        """Every container of the project, running or not, as ``GET /containers/json`` lists them."""
        found: list[dict[str, Any]] = self.engine.json(
            "GET", f"/containers/json?all=1&filters={self._label_filter()}"
        )
        return found

    def container(self, service: str, number: int = 1) -> dict[str, Any]:
        return dict(self.engine.json("GET", f"/containers/{self.name}_{service}_{number}/json"))

    def volumes(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.engine.json("GET", f"/volumes?filters={self._label_filter()}")[
            "Volumes"
        ]
        return found

    def networks(self) -> list[dict[str, Any]]:
        status, body = self.engine.request("GET", f"/networks?filters={self._label_filter()}")
        return list(json.loads(body)) if status == 200 else []

    def sweep(self) -> None:
        """Remove whatever of the project ``down`` left: containers, then volumes and networks."""
        for c in self.containers():
            self.engine.request("DELETE", f"/containers/{c['Id']}?force=1&v=1")
        for v in self.volumes():
            self.engine.request("DELETE", f"/volumes/{v['Name']}?force=1")
        for n in self.networks():
            self.engine.request("DELETE", f"/networks/{n['Id']}")


@contextmanager
def compose_project(
    engine: Engine, compose: Path, directory: Path, files: dict[str, str], prefix: str = "wt"
) -> Iterator[Project]:
    """A project of a unique name in ``directory`` with ``files`` written; down and swept at the end."""
    directory.mkdir(parents=True, exist_ok=True)
    project = Project(engine, compose, directory, f"{prefix}{secrets.token_hex(3)}")
    project.write(files)
    try:
        yield project
    finally:
        project.run("down", "-v", "--remove-orphans", "-t", "0", timeout=120)
        project.sweep()


def fetch(url: str, timeout: float = 20) -> str:
    """The body at ``url``, retried until the server in the container answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return bytes(response.read()).decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def host_port(project: Project, service: str, port: int, index: int = 1) -> int:
    """The host port ``docker-compose port`` gives for a service's container port."""
    out = project.ok("port", f"--index={index}", service, str(port)).strip()
    return int(out.rsplit(":", 1)[1])


class Lines:
    """The lines a running docker-compose prints, read by a thread so that none wait in a buffer."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def until(self, done: Callable[[list[str]], bool], timeout: float = 30) -> list[str]:
        """Every line so far, once ``done(lines)`` holds (or the output ends, or ``timeout``)."""
        deadline = time.monotonic() + timeout
        while not done(self.seen) and (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
        return self.seen
