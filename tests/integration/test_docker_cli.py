"""The real docker CLI, unmodified, against a wharf engine (issue 2, item 8)."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from engines import DOCKER, Engine, needs_docker, pty_session, wait_for

pytestmark = [needs_docker, pytest.mark.root]


def out(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def test_version_and_info_report_the_engine(engine: Engine) -> None:
    version = out(engine.docker("version", "--format", "{{json .Server}}"))
    server = json.loads(version)
    assert server["ApiVersion"] >= "1.44"
    assert server["Os"] == "linux"
    info = out(engine.docker("info", "--format", "{{.Driver}} {{.LoggingDriver}} {{.OSType}}"))
    assert info.strip() == "overlay2 json-file linux"


def test_run_prints_hello_world(engine: Engine) -> None:
    result = engine.docker("run", "--rm", "busybox", "echo", "hello", "world")
    assert out(result) == "hello world\n"


def test_run_exit_code_passes_through(engine: Engine) -> None:
    assert engine.docker("run", "--rm", "busybox", "sh", "-c", "exit 3").returncode == 3


def test_run_stdout_and_stderr_stay_apart(engine: Engine) -> None:
    result = engine.docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert result.stdout == b"out\n"
    assert result.stderr == b"err\n"


def test_run_with_stdin_pipes_input(engine: Engine) -> None:
    result = engine.docker("run", "--rm", "-i", "busybox", "tr", "a-z", "A-Z", input=b"shout\n")
    assert out(result) == "SHOUT\n"


def test_docker_io_library_name_resolves_to_local_image(engine: Engine) -> None:
    assert out(engine.docker("run", "--rm", "docker.io/library/busybox:latest", "true")) == ""


def test_detached_container_logs_tail_and_follow(engine: Engine) -> None:
    cid = out(engine.docker("run", "-d", "busybox", "sh", "-c", "while true; do date; sleep 1; done")).strip()
    try:
        assert len(cid) == 64
        wait_for(lambda: len(out(engine.docker("logs", cid)).splitlines()) >= 4, timeout=15)
        assert len(out(engine.docker("logs", "--tail", "3", cid)).splitlines()) == 3
        # follow: bounded by a timeout, it keeps receiving new lines
        started = time.monotonic()
        try:
            engine.docker("logs", "--follow", "--tail", "0", cid, timeout=2.5)
        except Exception as exc:  # subprocess.TimeoutExpired carries what was read
            lines = (getattr(exc, "stdout", b"") or b"").decode().splitlines()
            assert len(lines) >= 1
        else:
            pytest.fail("logs --follow returned while the container was running")
        assert time.monotonic() - started >= 2.4
        ps = out(engine.docker("ps", "--no-trunc", "-q"))
        assert cid in ps
    finally:
        engine.docker("rm", "-f", cid)


def test_stop_waits_then_kills_a_process_ignoring_term(engine: Engine) -> None:
    cid = out(engine.docker("run", "-d", "busybox", "sh", "-c", "trap '' TERM; while true; do sleep 1; done"))
    cid = cid.strip()
    started = time.monotonic()
    assert out(engine.docker("stop", "-t", "2", cid)).strip() == cid
    elapsed = time.monotonic() - started
    assert 1.8 <= elapsed < 15
    state = json.loads(out(engine.docker("inspect", cid)))[0]["State"]
    assert state["ExitCode"] == 137 and not state["Running"] and state["Status"] == "exited"
    assert "Exited (137)" in out(engine.docker("ps", "-a", "--filter", f"id={cid}"))
    engine.docker("rm", cid)


def test_kill_gives_137_and_ps_shows_exited(engine: Engine) -> None:
    cid = out(engine.docker("run", "-d", "--name", "killme", "busybox", "sleep", "300")).strip()
    out(engine.docker("kill", "killme"))
    assert out(engine.docker("inspect", "-f", "{{.State.ExitCode}}", cid)).strip() == "137"
    line = out(engine.docker("ps", "-a", "-l"))
    assert "killme" in line and "Exited (137)" in line
    assert out(engine.docker("ps", "-q")).find(cid[:12]) == -1
    out(engine.docker("rm", "killme"))
    assert engine.docker("inspect", cid).returncode == 1


def test_rm_refuses_a_running_container_without_force(engine: Engine) -> None:
    cid = out(engine.docker("run", "-d", "busybox", "sleep", "300")).strip()
    result = engine.docker("rm", cid)
    assert result.returncode != 0
    assert b"container is running" in result.stderr
    assert out(engine.docker("rm", "-f", cid)).strip() == cid


def test_duplicate_name_is_a_conflict(engine: Engine) -> None:
    out(engine.docker("create", "--name", "twin", "busybox", "true"))
    result = engine.docker("create", "--name", "twin", "busybox", "true")
    assert result.returncode != 0
    assert b"is already in use" in result.stderr
    out(engine.docker("rm", "twin"))


def test_missing_command_fails_like_docker(engine: Engine) -> None:
    result = engine.docker("run", "--name", "nocmd", "busybox", "no-such-binary")
    assert result.returncode == 127
    assert b'exec: "no-such-binary": executable file not found in $PATH' in result.stderr
    assert out(engine.docker("inspect", "-f", "{{.State.ExitCode}}", "nocmd")).strip() == "127"
    out(engine.docker("rm", "nocmd"))
    assert out(engine.docker("run", "--rm", "busybox", "echo", "still fine")) == "still fine\n"


def test_ps_lists_quiet_all_and_latest(engine: Engine) -> None:
    first = out(engine.docker("run", "-d", "busybox", "true")).strip()
    second = out(engine.docker("create", "busybox", "true")).strip()
    assert second[:12] in out(engine.docker("ps", "-a", "-q"))
    assert first[:12] in out(engine.docker("ps", "-a", "-q"))
    assert out(engine.docker("ps", "-l", "-q")).strip() == second[:12]
    assert first[:12] not in out(engine.docker("ps", "-q"))
    header = out(engine.docker("ps", "-a")).splitlines()[0]
    assert header.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    engine.docker("rm", "-f", first, second)


def test_images_tag_and_rmi(engine: Engine) -> None:
    out(engine.docker("tag", "busybox", "mybox:v1"))
    listing = out(engine.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"))
    ids = dict(line.split() for line in listing.splitlines())
    assert ids["mybox:v1"] == ids["busybox:latest"]
    removed = out(engine.docker("rmi", "mybox:v1"))
    assert "Untagged: mybox:v1" in removed
    assert "mybox" not in out(engine.docker("images"))
    assert engine.docker("rmi", "nope:latest").returncode != 0


def test_run_interactive_tty(engine: Engine) -> None:
    output, code = pty_session(
        engine.env, [DOCKER, "run", "-it", "--rm", "busybox", "sh"], b"echo hi; tty; exit 5\r"
    )
    assert b"hi\r\n" in output
    assert b"/dev/pts/0" in output
    assert code == 5


def test_failed_start_with_rm_removes_the_container(engine: Engine) -> None:
    result = engine.docker("run", "--rm", "--name", "gone", "busybox", "no-such-binary", timeout=20)
    assert result.returncode == 127
    assert engine.docker("inspect", "gone").returncode == 1


def test_run_interactive_tty_with_missing_command_fails_fast(engine: Engine) -> None:
    started = time.monotonic()
    output, code = pty_session(engine.env, [DOCKER, "run", "-it", "--rm", "busybox", "no-such-binary"])
    assert code == 127
    assert b"executable file not found" in output
    assert time.monotonic() - started < 10
    listing = engine.json("GET", "/containers/json?all=1")
    assert not [c for c in listing if c["Command"] == "no-such-binary"]
