"""The course's fig example, as the README runs it: a Flask app that counts hits in redis.

``docs/examples/fig`` holds the app, its Dockerfile (``FROM python``) and the compose files; the
official ``python`` and ``redis`` images made from Debian packages are seeded into the module's
engine from the image cache (built there first if this machine never built them). docker-compose
builds the web image, starts both services, scales web to three, shows the logs and takes it down:
once with the fig.yml of the course (format v1, ``links``), once with its format v3 twin, where web
reaches ``redis`` through the engine's DNS on the project's network.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from compose import Project, compose_bin, compose_project, fetch, host_port
from engines import REPO, Engine, needs_docker

pytestmark = [pytest.mark.root, pytest.mark.slow, needs_docker, pytest.mark.timeout(1500)]
_ = compose_bin  # the session fixture, used by name

EXAMPLE = REPO / "docs" / "examples" / "fig"
HELLO = re.compile(r"Hello World! I have been seen (\d+) times \(by ([0-9a-f]{12})\)\.\n")


@pytest.fixture(scope="module")
def official(engine: Engine) -> Engine:
    """The module's engine with ``python`` and ``redis`` imported (a few minutes on a first run)."""
    for name in ("python", "redis"):
        built = subprocess.run(
            [sys.executable, str(REPO / "deploy/images/rootfs.py"), name, "--if-missing"],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        assert built.returncode == 0, built.stderr
    seeded = subprocess.run(
        [
            sys.executable,
            str(REPO / "deploy/images/seed_official.py"),
            "--host",
            engine.host,
            "--images",
            "python,redis",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    return engine


@pytest.fixture
def fig(official: Engine, compose_bin: Path, tmp_path: Path) -> Iterator[Project]:
    shutil.copytree(EXAMPLE, tmp_path / "fig")
    with compose_project(official, compose_bin, tmp_path / "fig", {}, prefix="fig") as project:
        yield project


def hit(project: Project, index: int = 1) -> tuple[int, str]:
    body = fetch(f"http://127.0.0.1:{host_port(project, 'web', 5000, index)}/", timeout=60)
    match = HELLO.fullmatch(body)
    assert match, body
    return int(match[1]), match[2]


@pytest.mark.parametrize("compose_file", ["fig.yml", "docker-compose.yml"])
def test_fig_example_up_scale_logs_down(fig: Project, compose_file: str) -> None:
    """fig.yml (format v1) links web to redis; docker-compose.yml (v3) finds it by name (DNS)."""
    fig.env["COMPOSE_FILE"] = compose_file
    up = fig.run("up", "-d", timeout=300)
    assert up.returncode == 0, up.stderr
    assert "Successfully built" in up.stdout + up.stderr  # web is built FROM python
    assert hit(fig)[0] == 1
    first, web_1 = hit(fig)
    assert first == 2

    fig.ok("up", "-d", "--scale", "web=3")
    counts, hosts = zip(*(hit(fig, index) for index in (1, 2, 3)), strict=True)
    assert list(counts) == [3, 4, 5]  # one redis behind every replica
    assert len(set(hosts)) == 3 and web_1 in hosts

    logs = fig.ok("logs", "--no-color", "web")
    assert logs.count('"GET / HTTP/1.1" 200') == 5
    assert {line.split("|")[0].strip() for line in logs.splitlines() if "|" in line} == {
        "web_1",
        "web_2",
        "web_3",
    }

    down = fig.run("down", "-v", "--rmi", "local", timeout=120)
    assert down.returncode == 0, down.stderr
    assert fig.containers() == [] and fig.networks() == []
    assert fig.engine.request("GET", f"/images/{fig.name}_web/json")[0] == 404
    assert fig.engine.request("GET", "/images/redis/json")[0] == 200  # not the project's to remove
