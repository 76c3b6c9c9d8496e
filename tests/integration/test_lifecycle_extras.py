"""top, rename, stats, cp both ways, events: with the real docker CLI."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from engines import DOCKER, Engine, needs_docker

pytestmark = [pytest.mark.root, needs_docker]


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def test_top_rename_stats(engine: Engine) -> None:
    ok(engine.docker("run", "-d", "--name", "busy", "busybox", "sh", "-c", "while true; do sleep 1; done"))
    try:
        top = ok(engine.docker("top", "busy"))
        assert top.splitlines()[0].split()[:3] == ["UID", "PID", "PPID"]
        assert "while true" in top
        ok(engine.docker("rename", "busy", "renamed"))
        assert ok(engine.docker("inspect", "-f", "{{.Name}}", "renamed")).strip() == "/renamed"
        assert engine.docker("inspect", "busy").returncode != 0
        clash = engine.docker("run", "-d", "--name", "other", "busybox", "sleep", "30")
        assert clash.returncode == 0
        taken = engine.docker("rename", "renamed", "other")
        assert taken.returncode != 0 and b"already in use" in taken.stderr
        stats = ok(engine.docker("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "renamed"))
        name, pids = stats.split()
        assert name == "renamed" and int(pids) >= 1
        raw = json.loads(engine.request("GET", "/containers/renamed/stats?stream=0")[1])
        assert raw["memory_stats"]["usage"] > 0 and raw["cpu_stats"]["cpu_usage"]["total_usage"] > 0
    finally:
        engine.docker("rm", "-f", "renamed", "other")
    stopped = engine.docker("top", "renamed")
    assert stopped.returncode != 0


def test_cp_both_directions_running_and_stopped(engine: Engine, tmp_path: Path) -> None:
    ok(engine.docker("run", "-d", "--name", "cptarget", "-v", "/data", "busybox", "sleep", "60"))
    try:
        (tmp_path / "in.txt").write_text("into the container\n")
        (tmp_path / "tree").mkdir()
        (tmp_path / "tree" / "a.txt").write_text("a\n")
        ok(engine.docker("cp", str(tmp_path / "in.txt"), "cptarget:/tmp/"))
        ok(engine.docker("cp", str(tmp_path / "tree"), "cptarget:/data/"))
        assert ok(engine.docker("exec", "cptarget", "cat", "/tmp/in.txt", "/data/tree/a.txt")) == (
            "into the container\na\n"
        )
        ok(engine.docker("cp", "cptarget:/etc/passwd", str(tmp_path / "passwd")))
        assert (tmp_path / "passwd").read_text().startswith("root:")
        ok(engine.docker("stop", "-t", "0", "cptarget"))
        ok(engine.docker("cp", "cptarget:/tmp/in.txt", str(tmp_path / "back.txt")))
        assert (tmp_path / "back.txt").read_text() == "into the container\n"
        missing = engine.docker("cp", "cptarget:/no/such/file", str(tmp_path / "x"))
        assert missing.returncode != 0 and b"Could not find the file" in missing.stderr
    finally:
        engine.docker("rm", "-f", "-v", "cptarget")


def test_cp_cannot_escape_through_symlinks(engine: Engine, tmp_path: Path) -> None:
    ok(engine.docker("run", "--name", "linky", "busybox", "ln", "-s", "/", "/tmp/up"))
    try:
        (tmp_path / "f.txt").write_text("x")
        ok(engine.docker("cp", str(tmp_path / "f.txt"), "linky:/tmp/up/"))
        # the link resolves inside the container: the file lands in the container's /, not the host's
        assert not Path("/f.txt").exists()
        ok(engine.docker("cp", "linky:/f.txt", str(tmp_path / "got.txt")))
        assert (tmp_path / "got.txt").read_text() == "x"
    finally:
        engine.docker("rm", "-f", "linky")


def test_events_stream_with_filters(engine: Engine) -> None:
    proc = subprocess.Popen(
        [
            DOCKER,
            "events",
            "--format",
            "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
            "--filter",
            "type=container",
        ],
        env=engine.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(0.5)
        ok(engine.docker("run", "--rm", "--name", "evented", "busybox", "true"))
        time.sleep(0.5)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    lines = [line for line in out.decode().splitlines() if line.endswith("evented")]
    actions = [line.split()[1] for line in lines]
    assert actions[:2] == ["create", "start"] and "die" in actions and actions[-1] == "destroy"
    since = engine.request("GET", f"/events?since=1&until={int(time.time()) + 1}")
    assert since[0] == 200 and b'"Action": "destroy"' in since[1]


def test_container_prune_removes_only_stopped(engine: Engine) -> None:
    ok(engine.docker("run", "-d", "--name", "keeper", "busybox", "sleep", "60"))
    ok(engine.docker("run", "--name", "goner", "busybox", "true"))
    try:
        out = ok(engine.docker("container", "prune", "-f"))
        assert "Deleted Containers" in out
        assert engine.docker("inspect", "goner").returncode != 0
        assert ok(engine.docker("inspect", "-f", "{{.State.Running}}", "keeper")).strip() == "true"
    finally:
        engine.docker("rm", "-f", "keeper", "goner")
