"""docker build pulls a FROM image the engine does not have from its default index (a hub and
registry of the test's own on loopback), showing the pull in the build's stream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from builds import build, text
from engines import Engine, needs_docker
from hubstack import Stack, hub_stack
from v1flows import push

pytestmark = [pytest.mark.root, pytest.mark.slow]

USERS = {"alice": "pa55word"}


@pytest.fixture(scope="module", autouse=True)
def stack() -> Iterator[Stack]:
    """Set up before the module's engine, which inherits the hub as its default index."""
    with hub_stack("wharf-buildpull-", USERS) as built:
        yield built


def test_build_pulls_a_missing_from_image_from_the_default_index(engine: Engine, stack: Stack) -> None:
    pushed = push(stack, "alice/base", "alice", USERS["alice"])
    assert engine.request("GET", "/images/alice/base/json")[0] == 404
    status, messages = build(engine, {"Dockerfile": "FROM alice/base\nLABEL built=on-top\n"}, "t=onbase:v1")
    assert status == 200 and not any("error" in m for m in messages), messages
    statuses = [m.get("status", "") for m in messages]
    assert "Pulling from alice/base" in statuses
    assert "Status: Downloaded newer image for alice/base:latest" in statuses
    assert "Successfully tagged onbase:v1\n" in text(messages)
    base = engine.json("GET", "/images/alice/base/json")
    assert base["Id"]
    assert engine.json("GET", "/images/onbase:v1/json")["RootFS"]["Layers"] == base["RootFS"]["Layers"]
    assert pushed


def test_build_of_a_from_image_nowhere_is_an_error_line(engine: Engine) -> None:
    status, messages = build(engine, {"Dockerfile": "FROM alice/nothing-here\n"})
    assert status == 200 and messages[-1]["error"], messages
    assert "alice/nothing-here" in messages[-1]["error"]


@needs_docker
def test_docker_build_pulls_its_base(engine: Engine, stack: Stack, tmp_path: Path) -> None:
    push(stack, "alice/clibase", "alice", USERS["alice"])
    (tmp_path / "Dockerfile").write_text("FROM alice/clibase\nLABEL cli=yes\n")
    result = engine.docker("build", "-t", "clionbase", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert engine.json("GET", "/images/clionbase/json")["Config"]["Labels"] == {"cli": "yes"}
