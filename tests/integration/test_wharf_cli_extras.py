"""``wharf`` exec, port, volume, top, rename, stats, cp and events against a real engine."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import VENV_BIN, Engine, pty_session
from wharf_client import EngineClient

pytestmark = [pytest.mark.root]

WHARF = str(VENV_BIN / "wharf")
TARGET = "wx-target"


def out(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def failed(result: subprocess.CompletedProcess[bytes], code: int = 1) -> str:
    """The stderr of a command that had to fail with ``code``."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    return result.stderr.decode()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def udp_port() -> int:
    return free_udp_port()


@pytest.fixture
def target(engine: Engine, udp_port: int) -> Iterator[str]:
    """A running busybox container publishing 8000/tcp (to any port) and 90/udp; its full id."""
    cid = out(
        engine.wharf(
            "run", "-d", "--name", TARGET, "-p", "8000", "-p", f"{udp_port}:90/udp", "busybox", "sleep", "600"
        )
    ).strip()
    yield cid
    engine.wharf("rm", "-f", TARGET)


@pytest.fixture
def stopped(engine: Engine) -> Iterator[str]:
    name = "wx-stopped"
    out(engine.wharf("run", "--name", name, "busybox", "true"))
    yield name
    engine.wharf("rm", "-f", name)


# -- exec -------------------------------------------------------------------------------------------
def test_exec_passes_output_arguments_and_exit_code_through(engine: Engine, target: str) -> None:
    assert out(engine.wharf("exec", TARGET, "echo", "-n", "--help", "-it")) == "--help -it"
    assert engine.wharf("exec", TARGET, "sh", "-c", "exit 3").returncode == 3
    result = engine.wharf("exec", TARGET, "sh", "-c", "echo out; echo err >&2")
    assert (result.stdout, result.stderr) == (b"out\n", b"err\n")
    assert out(engine.wharf("exec", "-i", TARGET, "tr", "a-z", "A-Z", input=b"piped\n")) == "PIPED\n"
    result = engine.wharf(
        "exec",
        "-u",
        "nobody",
        "-w",
        "/tmp",
        "-e",
        "FOO=bar",
        "-e",
        "X=1",
        TARGET,
        "sh",
        "-c",
        "id -u; pwd; echo $FOO$X",
    )
    assert out(result) == "65534\n/tmp\nbar1\n"


def test_exec_detached_prints_nothing_and_runs(engine: Engine, target: str) -> None:
    assert out(engine.wharf("exec", "-d", TARGET, "sh", "-c", "echo d > /tmp/d")) == ""
    deadline = time.monotonic() + 5
    while engine.wharf("exec", TARGET, "cat", "/tmp/d").stdout != b"d\n":
        assert time.monotonic() < deadline, "the detached exec did not run"
        time.sleep(0.1)


def test_exec_errors_exit_like_docker(engine: Engine, target: str, stopped: str) -> None:
    stderr = failed(engine.wharf("exec", stopped, "true"))
    assert re.fullmatch(r"Error response from daemon: Container [0-9a-f]{64} is not running\n", stderr)
    assert failed(engine.wharf("exec", "wx-nope", "true")) == (
        "Error response from daemon: No such container: wx-nope\n"
    )
    assert "executable file not found" in failed(engine.wharf("exec", TARGET, "wx-no-such-binary"), 127)
    assert failed(engine.wharf("exec", "-it", TARGET, "true")) == "the input device is not a TTY\n"


def test_exec_it_gets_a_sized_tty_and_restores_the_terminal(engine: Engine, target: str) -> None:
    shell = f"stty -g; {WHARF} exec -it {TARGET} sh; code=$?; stty -g; exit $code"
    output, code = pty_session(engine.env, ["/bin/sh", "-c", shell], b"tty; stty size; exit 9\r")
    assert code == 9
    assert b"/dev/pts/" in output and b"33 111" in output
    modes = re.findall(rb"^[0-9a-f]+(?::[0-9a-f]+){10,}\r?$", output, re.M)
    assert len(modes) == 2 and modes[0] == modes[1], output


def test_exec_tty_starts_with_the_console_size(engine: Engine, target: str) -> None:
    api = EngineClient(engine.host)
    config = {"Cmd": ["stty", "size"], "Tty": True, "AttachStdout": True, "ConsoleSize": [33, 111]}
    exec_id = api.exec_create(TARGET, config)["Id"]
    with api.exec_attach(exec_id, tty=True) as stream:
        output = b"".join(stream.iter_raw())
    assert output == b"33 111\r\n"


# -- port -------------------------------------------------------------------------------------------
def test_port_lists_and_looks_up_mappings(engine: Engine, target: str, udp_port: int) -> None:
    host_port = out(
        engine.wharf(
            "inspect", "--format", '{{(index (index .NetworkSettings.Ports "8000/tcp") 0).HostPort}}', TARGET
        )
    ).strip()
    assert (
        out(engine.wharf("port", TARGET))
        == f"90/udp -> 0.0.0.0:{udp_port}\n8000/tcp -> 0.0.0.0:{host_port}\n"
    )
    assert out(engine.wharf("port", TARGET, "8000")) == f"0.0.0.0:{host_port}\n"
    assert out(engine.wharf("port", TARGET, "90/udp")) == f"0.0.0.0:{udp_port}\n"
    assert failed(engine.wharf("port", TARGET, "8001/tcp")) == (
        f"Error: No public port '8001/tcp' published for {TARGET}\n"
    )
    assert "No such container: wx-nope" in failed(engine.wharf("port", "wx-nope"))


# -- volume -----------------------------------------------------------------------------------------
def test_volume_create_ls_inspect_rm(engine: Engine) -> None:
    try:
        assert out(engine.wharf("volume", "create", "--label", "team=wx", "wx-vol")) == "wx-vol\n"
        listing = out(engine.wharf("volume", "ls")).splitlines()
        assert listing[0] == "DRIVER    VOLUME NAME" and "local     wx-vol" in listing
        assert "wx-vol" in out(engine.wharf("volume", "ls", "-q")).split()
        assert "wx-vol" in out(engine.wharf("volume", "ls", "-q", "-f", "dangling=true")).split()
        [info] = json.loads(out(engine.wharf("volume", "inspect", "wx-vol")))
        assert (info["Name"], info["Driver"], info["Labels"]) == ("wx-vol", "local", {"team": "wx"})
        assert out(engine.wharf("volume", "inspect", "--format", "{{.Name}} {{.Labels.team}}", "wx-vol")) == (
            "wx-vol wx\n"
        )
        missing = engine.wharf("volume", "inspect", "wx-vol", "wx-nope")
        assert json.loads(missing.stdout)[0]["Name"] == "wx-vol" and "wx-nope" in failed(missing)
        out(engine.wharf("run", "-d", "--name", "wx-user", "-v", "wx-vol:/data", "busybox", "sleep", "600"))
        assert "wx-vol" not in out(engine.wharf("volume", "ls", "-q", "-f", "dangling=true")).split()
        assert "volume is in use" in failed(engine.wharf("volume", "rm", "wx-vol"))
        out(engine.wharf("rm", "-f", "wx-user"))
        assert out(engine.wharf("volume", "rm", "wx-vol")) == "wx-vol\n"
        assert "wx-vol" in failed(engine.wharf("volume", "rm", "wx-vol"))
        assert out(engine.wharf("volume", "rm", "-f", "wx-vol")) == "wx-vol\n"
    finally:
        engine.wharf("rm", "-f", "wx-user")
        engine.wharf("volume", "rm", "-f", "wx-vol")


def test_volume_prune_removes_unused_anonymous_volumes(engine: Engine) -> None:
    out(engine.wharf("run", "--name", "wx-anon", "-v", "/data", "busybox", "true"))
    volume = out(engine.wharf("inspect", "--format", "{{(index .Mounts 0).Name}}", "wx-anon")).strip()
    try:
        out(engine.wharf("volume", "create", "wx-kept"))
        out(engine.wharf("rm", "wx-anon"))
        report = out(engine.wharf("volume", "prune", "-f"))
        assert report.startswith(f"Deleted Volumes:\n{volume}\n\nTotal reclaimed space: "), report
        assert out(engine.wharf("volume", "prune", "-f")) == "Total reclaimed space: 0B\n"
        assert "wx-kept" in out(engine.wharf("volume", "ls", "-q")).split()
        declined = engine.wharf("volume", "prune", input=b"n\n")
        assert out(declined).endswith("[y/N] Total reclaimed space: 0B\n")
    finally:
        engine.wharf("rm", "-f", "wx-anon")
        engine.wharf("volume", "rm", "-f", "wx-kept", volume)


def test_volume_prune_all_removes_unused_named_volumes(engine: Engine) -> None:
    try:
        out(engine.wharf("volume", "create", "wx-named"))
        assert "wx-named" in out(engine.wharf("volume", "prune", "-a", "-f"))
    finally:
        engine.wharf("volume", "rm", "-f", "wx-named")


# -- top, rename, stats -----------------------------------------------------------------------------
def test_top_lists_processes_with_ps_options(engine: Engine, target: str, stopped: str) -> None:
    lines = out(engine.wharf("top", TARGET)).splitlines()
    assert re.match(r"UID +PID +PPID +C +STIME +TTY +TIME +CMD$", lines[0])
    assert any(line.endswith("sleep 600") for line in lines[1:])
    lines = out(engine.wharf("top", TARGET, "-o", "pid,comm")).splitlines()
    assert re.match(r"PID {17}COMMAND$", lines[0]) and lines[1].endswith("sleep")
    assert "is not running" in failed(engine.wharf("top", stopped))


def test_rename_renames_and_reports_conflicts(engine: Engine, target: str, stopped: str) -> None:
    assert out(engine.wharf("rename", stopped, "wx-renamed")) == ""
    try:
        assert out(engine.wharf("inspect", "--format", "{{.Name}}", "wx-renamed")) == "/wx-renamed\n"
        assert "is already in use" in failed(engine.wharf("rename", "wx-renamed", TARGET))
        assert "No such container: wx-nope" in failed(engine.wharf("rename", "wx-nope", "wx-other"))
    finally:
        engine.wharf("rename", "wx-renamed", stopped)


def test_stats_no_stream_prints_one_table(engine: Engine, target: str) -> None:
    lines = out(engine.wharf("stats", "--no-stream", TARGET)).splitlines()
    assert re.fullmatch(
        r"CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS", lines[0]
    )
    assert len(lines) == 2
    row = re.split(r" {3,}", lines[1])
    assert row[:2] == [target[:12], TARGET]
    assert re.fullmatch(r"\d+\.\d\d%", row[2]) and re.fullmatch(r"\d+\.\d\d%", row[4])
    assert re.fullmatch(r"[\d.]+[KMG]?i?B / [\d.]+[KMG]iB", row[3]) and row[-1] == "1"
    everything = out(engine.wharf("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}"))
    assert f"{TARGET} 1" in everything.splitlines()
    assert "No such container: wx-nope" in failed(engine.wharf("stats", "--no-stream", "wx-nope"))


# -- cp ---------------------------------------------------------------------------------------------
def test_cp_from_container_follows_dockers_rules(engine: Engine, target: str, tmp_path: Path) -> None:
    script = "mkdir -p /src/sub && echo one > /src/a && echo two > /src/sub/b && echo f > /file"
    out(engine.wharf("exec", TARGET, "sh", "-c", script))
    out(engine.wharf("cp", f"{TARGET}:/file", str(tmp_path)))
    assert (tmp_path / "file").read_text() == "f\n"
    out(engine.wharf("cp", f"{TARGET}:/file", str(tmp_path / "renamed")))
    assert (tmp_path / "renamed").read_text() == "f\n"
    out(engine.wharf("cp", f"{TARGET}:/src", str(tmp_path)))
    assert (tmp_path / "src" / "sub" / "b").read_text() == "two\n"
    out(engine.wharf("cp", f"{TARGET}:/src", str(tmp_path / "copy")))
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["a", "sub"]
    (tmp_path / "contents").mkdir()
    out(engine.wharf("cp", f"{TARGET}:/src/.", str(tmp_path / "contents")))
    assert sorted(p.name for p in (tmp_path / "contents").iterdir()) == ["a", "sub"]
    assert failed(engine.wharf("cp", f"{TARGET}:/src", str(tmp_path / "file"))) == "cannot copy directory\n"
    assert failed(engine.wharf("cp", f"{TARGET}:/file", f"{tmp_path}/absent/")) == "no such directory\n"
    assert failed(engine.wharf("cp", f"{TARGET}:/nope", str(tmp_path))) == (
        f"Error response from daemon: Could not find the file /nope in container {TARGET}\n"
    )
    tar = engine.wharf("cp", f"{TARGET}:/src", "-")
    assert tar.returncode == 0 and b"src/sub/b" in tar.stdout


def test_cp_from_container_copies_a_symlink_as_a_link(engine: Engine, target: str, tmp_path: Path) -> None:
    out(engine.wharf("exec", TARGET, "ln", "-s", "/etc/hostname", "/wx-link"))
    out(engine.wharf("cp", f"{TARGET}:/wx-link", str(tmp_path / "copy")))
    assert (tmp_path / "copy").is_symlink() and (tmp_path / "copy").readlink() == Path("/etc/hostname")


def test_cp_into_container_follows_dockers_rules(engine: Engine, target: str, tmp_path: Path) -> None:
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    (tmp_path / "dir" / "x").write_text("x\n")
    (tmp_path / "dir" / "sub" / "y").write_text("y\n")
    (tmp_path / "one.txt").write_text("one\n")
    out(engine.wharf("cp", str(tmp_path / "one.txt"), f"{TARGET}:/tmp"))
    out(engine.wharf("cp", str(tmp_path / "one.txt"), f"{TARGET}:/tmp/renamed"))
    out(engine.wharf("cp", str(tmp_path / "dir"), f"{TARGET}:/tmp"))
    out(engine.wharf("cp", str(tmp_path / "dir"), f"{TARGET}:/tmp/newdir"))
    out(engine.wharf("exec", TARGET, "mkdir", "/tmp/contents"))
    out(engine.wharf("cp", f"{tmp_path}/dir/.", f"{TARGET}:/tmp/contents"))
    script = "cat /tmp/one.txt /tmp/renamed; cd /tmp; find dir newdir contents | sort"
    listing = out(engine.wharf("exec", TARGET, "sh", "-c", script))
    assert listing.split() == [
        "one",
        "one",
        "contents",
        "contents/sub",
        "contents/sub/y",
        "contents/x",
        "dir",
        "dir/sub",
        "dir/sub/y",
        "dir/x",
        "newdir",
        "newdir/sub",
        "newdir/sub/y",
        "newdir/x",
    ]
    owner = out(engine.wharf("exec", TARGET, "stat", "-c", "%u:%g", "/tmp/dir/x"))
    assert owner == "0:0\n"
    assert (
        failed(engine.wharf("cp", str(tmp_path / "dir"), f"{TARGET}:/tmp/renamed"))
        == "cannot copy directory\n"
    )
    assert failed(engine.wharf("cp", str(tmp_path / "absent"), f"{TARGET}:/tmp")) == (
        f"lstat {tmp_path}/absent: no such file or directory\n"
    )
    assert "Could not find the file /nope" in failed(
        engine.wharf("cp", str(tmp_path / "one.txt"), f"{TARGET}:/nope/x")
    )
    assert "No such container: wx-nope" in failed(
        engine.wharf("cp", str(tmp_path / "one.txt"), "wx-nope:/tmp")
    )
    assert failed(engine.wharf("cp", "a", "b")) == "must specify at least one container source\n"


# -- events -----------------------------------------------------------------------------------------
def test_events_prints_past_events_between_since_and_until(engine: Engine) -> None:
    since = f"{time.time() - 1:.3f}"
    out(engine.wharf("run", "--name", "wx-events", "busybox", "true"))
    cid = out(engine.wharf("inspect", "--format", "{{.Id}}", "wx-events")).strip()
    until = f"{time.time():.3f}"  # "0s" would do, but like docker it counts in whole seconds
    try:
        lines = out(
            engine.wharf(
                "events", "--since", since, "--until", until, "-f", "container=wx-events", timeout=20
            )
        ).splitlines()
        start = [line for line in lines if " container start " in line]
        assert len(start) == 1, lines
        assert re.fullmatch(
            rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{9}}(Z|[+-]\d\d:\d\d) container start {cid} "
            r"\(image=busybox, name=wx-events\)",
            start[0],
        )
        template = "{{.Action}} {{.Actor.Attributes.name}}"
        actions = out(
            engine.wharf(
                "events",
                "--since",
                since,
                "--until",
                until,
                "-f",
                "container=wx-events",
                "-f",
                "event=die",
                "--format",
                template,
            )
        )
        assert actions == "die wx-events\n"
        raw = out(engine.wharf("events", "--since", "1m", "--until", until, "--format", "json"))
        assert any(json.loads(line)["Actor"]["ID"] == cid for line in raw.splitlines())
        assert failed(engine.wharf("events", "--since", "yesterday")) == (
            'failed to parse value as time or duration: "yesterday"\n'
        )
    finally:
        engine.wharf("rm", "-f", "wx-events")
