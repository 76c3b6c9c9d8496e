"""The course's walkthrough through the docker CLI and the wharf CLI against one engine (issue 15, item 6).

Every step runs through both clients with the same arguments (names carry the client's name so both
can coexist); what Docker prints stably (exit codes, printed values, container output, table
headers) must be the same from ``wharf`` once ids, ports and the client's name are masked.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import DOCKER, VENV_BIN, Engine, needs_docker, wait_for

pytestmark = [needs_docker, pytest.mark.root, pytest.mark.slow]

CLIENTS = ("docker", "wharf")
MASKS = [
    (re.compile(r"\b(sha256:)?[0-9a-f]{64}\b"), "<ID>"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "<SHORT>"),
    (re.compile(r"(?<=:)\d{2,5}\b"), "<PORT>"),
    (re.compile(r"(?<=\S)  +(?=\S)"), "  "),  # table columns: widths follow the masked names
]


def masked(text: bytes, client: str) -> str:
    result = text.decode().replace(client, "C")
    for pattern, mask in MASKS:
        result = pattern.sub(mask, result)
    return result


class Walk:
    """Runs one step through both CLIs and compares what they print."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def run(self, client: str, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        argv = [arg.replace("{c}", client) for arg in args]
        env = {**self.engine.env, "DOCKER_BUILDKIT": "0"}
        binary = DOCKER if client == "docker" else str(VENV_BIN / "wharf")
        return subprocess.run([binary, *argv], env=env, input=input, capture_output=True, timeout=120)

    def both(self, *args: str, input: bytes | None = None) -> dict[str, subprocess.CompletedProcess[bytes]]:
        return {client: self.run(client, *args, input=input) for client in CLIENTS}

    def same(self, *args: str, input: bytes | None = None, stderr: bool = False) -> str:
        """Run a step with both; the exit codes and the masked stdout (and stderr) must match."""
        results = self.both(*args, input=input)
        docker, wharf = results["docker"], results["wharf"]
        assert wharf.returncode == docker.returncode, (args, docker, wharf)
        assert masked(wharf.stdout, "wharf") == masked(docker.stdout, "docker"), (args, docker, wharf)
        if stderr:
            assert masked(wharf.stderr, "wharf") == masked(docker.stderr, "docker"), (args, docker, wharf)
        return masked(docker.stdout, "docker")


@pytest.fixture
def walk(engine: Engine) -> Iterator[Walk]:
    walker = Walk(engine)
    try:
        yield walker
    finally:
        for client in CLIENTS:
            names = [f"{client}-{n}" for n in ("loop", "web", "pub", "data", "linker", "priv")]
            walker.run(client, "rm", "-f", "-v", *names)
            walker.run(client, "rmi", "-f", f"{client}-img:v1", f"{client}-img:v2")


def test_course_walkthrough_matches_docker(walk: Walk, tmp_path: Path) -> None:
    # hello world, exit codes, stdout and stderr apart
    assert walk.same("run", "--rm", "busybox", "echo", "hello", "world") == "hello world\n"
    walk.same("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", stderr=True)

    # run -d, logs, ps
    loop = "echo one; echo two >&2; exec sleep 600"
    assert walk.same("run", "-d", "--name", "{c}-loop", "busybox", "sh", "-c", loop) == "<ID>\n"
    for client in CLIENTS:
        wait_for(lambda c=client: walk.run(c, "logs", f"{c}-loop").stdout == b"one\n", timeout=15)
    walk.same("logs", "{c}-loop", stderr=True)
    walk.same("ps", "--filter", "name={c}-loop", "--format", "{{.Names}} {{.Image}} {{.Command}} {{.State}}")
    assert walk.same("ps", "-q", "--filter", "name={c}-loop") == "<SHORT>\n"
    assert walk.same("ps", "--filter", "name=nothing-here").startswith("CONTAINER ID  IMAGE  COMMAND")

    # stop, start, inspect -f
    assert walk.same("stop", "-t", "1", "{c}-loop") == "C-loop\n"
    assert walk.same("inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", "{c}-loop") == "false 137\n"
    assert walk.same("start", "{c}-loop") == "C-loop\n"
    assert walk.same("inspect", "-f", "{{.State.Running}} {{.Config.Image}} {{.Name}}", "{c}-loop") == (
        "true busybox /C-loop\n"
    )
    walk.same("inspect", "-f", "{{.State.Running}}", "no-such-thing", stderr=True)

    # -p, -P, --expose and port
    walk.same("run", "-d", "--name", "{c}-web", "-p", "80", "-p", "127.0.0.1:0:81", "busybox", "sleep", "600")
    assert walk.same("port", "{c}-web", "81") == "127.0.0.1:<PORT>\n"
    walk.same("port", "{c}-web")
    walk.same(
        "run",
        "-d",
        "--name",
        "{c}-pub",
        "-P",
        "--expose",
        "90",
        "--expose",
        "91/udp",
        "busybox",
        "sleep",
        "600",
    )
    walk.same("port", "{c}-pub")
    walk.same("port", "{c}-pub", "92", stderr=True)

    # --link
    linked = walk.same(
        "run",
        "--name",
        "{c}-linker",
        "--link",
        "{c}-loop:db",
        "busybox",
        "sh",
        "-c",
        "echo $DB_NAME; grep -c -w db /etc/hosts",
    )
    assert linked == "/C-linker/db\n1\n"

    # -v and --volumes-from
    walk.same("run", "--name", "{c}-data", "-v", "/data", "busybox", "sh", "-c", "echo kept > /data/f")
    assert walk.same("run", "--rm", "--volumes-from", "{c}-data", "busybox", "cat", "/data/f") == "kept\n"

    # the flags issue 15 lists: --env-file, --dns, --add-host, --privileged, --health-*
    env_file = tmp_path / "app.env"
    env_file.write_text("# settings\nA=from file\nB=2\n")
    assert (
        walk.same(
            "run", "--rm", "--env-file", str(env_file), "-e", "B=3", "busybox", "sh", "-c", 'echo "$A/$B"'
        )
        == "from file/3\n"
    )
    walk.same(
        "run", "--rm", "--add-host", "db.example:10.1.2.3", "busybox", "grep", "db.example", "/etc/hosts"
    )
    walk.same("run", "--rm", "--dns", "10.9.9.9", "busybox", "grep", "nameserver", "/etc/resolv.conf")
    health = ("--health-cmd", "true", "--health-interval", "5s")
    walk.same("create", "--name", "{c}-priv", "--privileged", *health, "busybox")
    assert walk.same(
        "inspect", "-f", "{{.HostConfig.Privileged}} {{json .Config.Healthcheck}}", "{c}-priv"
    ) == ('true {"Test":["CMD-SHELL","true"],"Interval":5000000000}\n')

    # build, tag, images, rmi
    for client in CLIENTS:  # one image per client (a shared one would carry both clients' tags)
        context = tmp_path / client
        context.mkdir()
        (context / "Dockerfile").write_text(
            f"FROM busybox\nRUN echo built by {client} > /built\nCMD cat /built\n"
        )
    assert walk.same("build", "-q", "-t", "{c}-img:v1", str(tmp_path / "{c}")) == "<ID>\n"
    assert walk.same("run", "--rm", "{c}-img:v1") == "built by C\n"
    assert walk.same("tag", "{c}-img:v1", "{c}-img:v2") == ""
    listed = walk.same("images", "--format", "{{.Repository}}:{{.Tag}}", "{c}-img")
    assert sorted(listed.splitlines()) == ["C-img:v1", "C-img:v2"]
    table = walk.same("images", "--format", "table {{.Repository}}\t{{.Tag}}\t{{.ID}}", "{c}-img")
    assert table.splitlines() == ["REPOSITORY  TAG  IMAGE ID", "C-img  v1  <SHORT>", "C-img  v2  <SHORT>"]
    results = walk.both("images", "{c}-img")
    assert [r.stdout.split(b"\n")[0].split() for r in results.values()] == 2 * [
        [b"REPOSITORY", b"TAG", b"IMAGE", b"ID", b"CREATED", b"SIZE"]
    ]
    assert walk.same("rmi", "{c}-img:v2") == "Untagged: C-img:v2\n"

    # rm
    assert walk.same("rm", "{c}-linker") == "C-linker\n"
    walk.same("rm", "{c}-loop", stderr=False)  # running: refused by both, exit 1
    assert walk.same("rm", "-f", "{c}-loop", "{c}-web", "{c}-pub") == "C-loop\nC-web\nC-pub\n"
