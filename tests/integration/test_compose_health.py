"""docker-compose 1.29 ``depends_on: condition: service_healthy`` against the engine's healthchecks.

Compose (format 2.1+) starts the dependency, then polls its ``State.Health.Status`` and starts the
dependent service only once it is ``healthy``; a dependency that turns ``unhealthy`` makes ``up``
fail with compose's own error and the dependent service is never started.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from compose import Project, compose_bin, compose_project
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root, pytest.mark.slow, needs_docker, pytest.mark.timeout(240)]
_ = compose_bin  # the session fixture, used by name

SLEEPER = """sh -c 'trap "exit 0" TERM; sleep 1000 & wait'"""


def project_file(db_test: str, retries: int) -> str:
    """db gets healthy once its healthcheck passes; web waits for that."""
    return f"""\
version: "2.4"
services:
  db:
    image: busybox
    command: {SLEEPER}
    healthcheck:
      test: {db_test}
      interval: 1s
      timeout: 2s
      retries: {retries}
  web:
    image: busybox
    command: {SLEEPER}
    depends_on:
      db:
        condition: service_healthy
"""


@pytest.fixture
def project(engine: Engine, compose_bin: Path, tmp_path: Path) -> Iterator[Project]:
    with compose_project(engine, compose_bin, tmp_path / "p", {}, prefix="hc") as p:
        yield p


def test_up_waits_for_a_healthy_dependency(project: Project) -> None:
    # healthy only from the third probe on (about 2 s after start): compose must wait for it
    project.write(
        {
            "docker-compose.yml": project_file(
                '["CMD-SHELL", "n=$$(cat /n 2>/dev/null || echo 0); echo $$((n+1)) > /n; [ $$n -ge 2 ]"]', 10
            )
        }
    )
    began = time.monotonic()
    up = project.run("up", "-d", timeout=120)
    assert up.returncode == 0, up.stderr
    db, web = project.container("db"), project.container("web")
    assert db["State"]["Health"]["Status"] == "healthy"
    assert web["State"]["Running"] is True
    # web started only after db turned healthy
    healthy_at = next(entry["End"] for entry in db["State"]["Health"]["Log"] if entry["ExitCode"] == 0)
    assert web["State"]["StartedAt"] >= healthy_at[:19], (web["State"]["StartedAt"], healthy_at)
    assert time.monotonic() - began > 1.5
    assert "(healthy)" in project.ok("ps")


def test_up_fails_on_a_dependency_that_never_gets_healthy(project: Project) -> None:
    project.write({"docker-compose.yml": project_file('["CMD", "false"]', 2)})
    up = project.run("up", "-d", timeout=120)
    assert up.returncode != 0, up.stdout
    assert "is unhealthy" in up.stderr, up.stderr
    assert project.container("db")["State"]["Health"]["Status"] == "unhealthy"
    web = [c for c in project.containers() if c["Labels"].get("com.docker.compose.service") == "web"]
    assert all(c["State"] != "running" for c in web), web
