"""The shim, run for real by the engine's ``ShimLauncher`` (server, fork, job) over a fake runc.

The fake runtime (``fake_runc`` below) does what ``runc create``/``runc exec --detach`` do for the
shim: starts the process with the shim's stdio (or a pty it sends over ``--console-socket``), writes
the pid file and exits, so the process is reparented to the shim, its subreaper. No root needed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_engine.runtime import shim_core, shim_lib
from wharf_engine.runtime.errors import RuntimeFailure, StartFailure
from wharf_engine.runtime.monitor import SHIM, ShimLauncher, ShimPaths, read_exit_file

FAKE_RUNC = f"""#!{sys.executable} -S
import json, os, socket, subprocess, sys
args = sys.argv[1:]
def opt(name):
    return args[args.index(name) + 1] if name in args else None
spec_file = opt("--process") or os.path.join(opt("--bundle"), "process.json")
with open(spec_file) as f:
    spec = json.load(f)
if spec.get("fail"):
    with open(opt("--log"), "a") as f:
        f.write('{{"level":"info","msg":"starting"}}\\nnot json\\n')
        f.write(json.dumps({{"level": "error", "msg": spec["fail"]}}) + "\\n")
    sys.exit(1)
console = opt("--console-socket")
if console:
    master, slave = os.openpty()
    child = subprocess.Popen(spec["args"], stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    with socket.socket(socket.AF_UNIX) as conn:
        conn.connect(console)
        socket.send_fds(conn, [b"pty"], [master])
else:
    child = subprocess.Popen(spec["args"], start_new_session=True)
with open(opt("--pid-file"), "w") as f:
    f.write(str(child.pid))
"""

# the "container": reads a line, then answers on stdout and stderr (and its terminal size) and exits 3
PROCESS = (
    "import os, sys\n"
    "line = sys.stdin.readline()\n"
    "size = os.get_terminal_size(1) if os.isatty(1) else None\n"
    "print('out', line.strip(), 'h\\u00e9\\x01\"', size and f'{size.lines}x{size.columns}', flush=True)\n"
    "print('err', file=sys.stderr, flush=True)\n"
    "sys.exit(3)\n"
)


@pytest.fixture
def bundle() -> Iterator[Path]:
    """A short directory (unix socket paths), holding the fake runtime and one container's files."""
    path = Path(tempfile.mkdtemp(prefix="wharf-shim-"))
    try:
        runc = path / "runc"
        runc.write_text(FAKE_RUNC)
        runc.chmod(0o755)
        yield path
    finally:
        kill_processes_in(path)
        shutil.rmtree(path, ignore_errors=True)


def kill_processes_in(directory: Path) -> None:
    """SIGKILL what a failed test left running there: its shims and "containers" (their cwd)."""
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cwd").readlink() == directory:
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:
            continue


def paths_in(bundle: Path, log_max_size: int = 0, log_max_files: int = 1) -> ShimPaths:
    return ShimPaths(
        bundle,
        bundle / "ctr.log",
        bundle / "exit.json",
        bundle / "a.sock",
        bundle,
        "",
        log_max_size,
        log_max_files,
    )


async def close(launcher: ShimLauncher) -> None:
    """Close once the spare asked for as a launch ended is ready (closed mid-boot, asyncio.run's
    cancellation would wait for a server that waits for the end of its socket)."""
    if launcher._warming is not None:
        await asyncio.wait_for(asyncio.shield(launcher._warming), 20)
    launcher.close()


def extension_modules(pid: int) -> set[str]:
    """The C extension modules (``lib-dynload/*.so``) mapped in ``pid``."""
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {Path(line.split()[-1]).name.split(".")[0] for line in maps if ".cpython-" in line}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


async def frames(reader: asyncio.StreamReader) -> dict[int, bytes]:
    """What the shim sends until it closes the stream, by stream (1 stdout, 2 stderr)."""
    got = {shim_core.STDOUT: b"", shim_core.STDERR: b""}
    while True:
        try:
            header = await asyncio.wait_for(reader.readexactly(8), 20)
        except asyncio.IncompleteReadError:
            return got
        got[header[0]] += await reader.readexactly(int.from_bytes(header[4:], "big"))


def wait_for_exit_file(path: Path) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while not path.exists():
        assert time.monotonic() < deadline, "the shim wrote no exit file"
        time.sleep(0.02)
    return dict(json.loads(path.read_text()))


def test_a_container_through_the_shim_server_output_stdin_log_and_exit_code(bundle: Path) -> None:
    (bundle / "process.json").write_text(json.dumps({"args": [sys.executable, "-S", "-c", PROCESS]}))
    paths = paths_in(bundle)

    async def scenario() -> tuple[int, dict[int, bytes]]:
        launcher = ShimLauncher()
        try:
            shim_pid, pid, stdio = await launcher.launch(
                "c1", paths, runtime=str(bundle / "runc"), runtime_root=bundle, tty=False, stdin=True
            )
            assert stdio is None and pid > 0
            rss = rss_kib(shim_pid)  # the process waits for its line: the shim is serving it
            assert rss <= 10 * 1024, f"a shim is {rss} KiB resident"
            extensions = extension_modules(shim_pid)
            assert extensions <= {"_json", "_socket", "select", "_ctypes", "fcntl", "termios"}, (
                extensions
            )  # none loaded after the fork
            reader, writer = await asyncio.open_unix_connection(str(paths.socket))
            writer.write(shim_core.frame(shim_core.STDIN, b"hello\n"))
            writer.write(shim_core.frame(shim_core.CLOSE_STDIN, b""))
            await writer.drain()
            got = await frames(reader)
            writer.close()
            return shim_pid, got
        finally:
            await close(launcher)

    shim_pid, got = asyncio.run(scenario())
    assert got == {shim_core.STDOUT: 'out hello hé\x01" None\n'.encode(), shim_core.STDERR: b"err\n"}
    assert wait_for_exit_file(paths.exit_file)["exit_code"] == 3
    status = read_exit_file(paths.exit_file)
    assert status is not None and status.exit_code == 3 and not status.oom_killed
    raw = paths.log.read_text().splitlines()
    entries = [json.loads(line) for line in raw]
    assert sorted((e["stream"], e["log"]) for e in entries) == [
        ("stderr", "err\n"),
        ("stdout", 'out hello hé\x01" None\n'),
    ]
    assert raw == [json.dumps(e) for e in entries]  # byte for byte what json.dumps writes (Docker's reader)
    deadline = time.monotonic() + 20
    while (
        Path(f"/proc/{shim_pid}").exists()
        and "Z" not in Path(f"/proc/{shim_pid}/stat").read_text().split()[2]
    ):
        assert time.monotonic() < deadline, "the shim did not exit"
        time.sleep(0.02)
    assert not paths.socket.exists()


def test_the_log_rotates_past_its_size_keeping_its_files(bundle: Path) -> None:
    lines = "import sys\nfor i in range(200): print(f'line {i:04} ' + 'x' * 80, flush=True)\nsys.exit(0)\n"
    (bundle / "process.json").write_text(json.dumps({"args": [sys.executable, "-S", "-c", lines]}))
    paths = paths_in(bundle, log_max_size=4000, log_max_files=3)

    async def scenario() -> None:
        launcher = ShimLauncher()
        try:
            await launcher.launch(
                "c5", paths, runtime=str(bundle / "runc"), runtime_root=bundle, tty=False, stdin=False
            )
            if launcher._warming is not None:  # the next spare, asked for as the launch ended
                await launcher._warming
        finally:
            await close(launcher)

    asyncio.run(scenario())
    assert wait_for_exit_file(paths.exit_file)["exit_code"] == 0
    files = sorted(p.name for p in bundle.glob("ctr.log*"))
    assert files == ["ctr.log", "ctr.log.1", "ctr.log.2"]
    logged = [
        json.loads(line)["log"]
        for name in reversed(files)
        for line in (bundle / name).read_text().splitlines()
    ]
    assert logged == [f"line {i:04} " + "x" * 80 + "\n" for i in range(200 - len(logged), 200)]
    assert all((bundle / name).stat().st_size <= 4000 + 200 for name in files)


def test_a_tty_container_gets_its_size_from_a_resize(bundle: Path) -> None:
    (bundle / "process.json").write_text(json.dumps({"args": [sys.executable, "-S", "-c", PROCESS]}))
    paths = paths_in(bundle)

    async def scenario() -> bytes:
        launcher = ShimLauncher()
        try:
            await launcher.launch(
                "c2", paths, runtime=str(bundle / "runc"), runtime_root=bundle, tty=True, stdin=True
            )
            reader, writer = await asyncio.open_unix_connection(str(paths.socket))
            writer.write(shim_core.frame(shim_core.RESIZE, b"31 97"))
            writer.write(shim_core.frame(shim_core.STDIN, b"tty\n"))
            await writer.drain()
            got = await frames(reader)
            writer.close()
            assert not got[shim_core.STDERR]  # one stream on a tty
            return got[shim_core.STDOUT]
        finally:
            await close(launcher)

    output = asyncio.run(scenario())
    assert 'out tty hé\x01" 31x97'.encode() in output
    assert b"err" in output
    assert wait_for_exit_file(paths.exit_file)["exit_code"] == 3


def test_an_exec_runs_only_once_its_client_has_attached(bundle: Path) -> None:
    process = bundle / "exec.json"
    process.write_text(json.dumps({"args": [sys.executable, "-S", "-c", PROCESS]}))
    paths = paths_in(bundle)

    async def scenario() -> dict[int, bytes]:
        launcher = ShimLauncher()
        try:
            _, pid, stdio = await launcher.launch(
                "c3", paths, runtime=str(bundle / "runc"), runtime_root=bundle, tty=False, stdin=True,
                exec_process=process,
            )  # fmt: skip
            assert stdio is not None and pid > 0
            reader, writer = stdio
            writer.write(shim_core.frame(shim_core.STDIN, b"exec\n"))
            await writer.drain()
            got = await frames(reader)
            writer.close()
            return got
        finally:
            await close(launcher)

    got = asyncio.run(scenario())
    assert got == {shim_core.STDOUT: 'out exec hé\x01" None\n'.encode(), shim_core.STDERR: b"err\n"}
    assert wait_for_exit_file(paths.exit_file)["exit_code"] == 3


@pytest.mark.parametrize(
    ("runtime", "message"),
    [("runc", "exec: no such thing"), ("missing-runc", "No such file or directory")],
)
def test_a_runtime_failure_is_reported_with_its_words(bundle: Path, runtime: str, message: str) -> None:
    (bundle / "process.json").write_text(json.dumps({"fail": "exec: no such thing"}))

    async def scenario() -> None:
        launcher = ShimLauncher()
        try:
            await launcher.launch(
                "c4",
                paths_in(bundle),
                runtime=str(bundle / runtime),
                runtime_root=bundle,
                tty=False,
                stdin=False,
            )
        finally:
            await close(launcher)

    with pytest.raises((RuntimeFailure, StartFailure), match=message):
        asyncio.run(scenario())


def test_the_shim_and_its_server_import_only_c_modules() -> None:
    """Each module a shim imports is resident in every shim (docs/performance.md, "Memory")."""
    code = (
        "import sys; before = set(sys.modules); sys.path.insert(0, sys.argv[1]);"
        "from wharf_engine.runtime import shim_core, shim_server;"
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    done = subprocess.run(
        [sys.executable, "-E", "-S", "-c", code, str(SHIM.parents[2])],
        capture_output=True,
        text=True,
        check=True,
    )
    ours = {f"wharf_engine.runtime.{name}" for name in ("shim_core", "shim_lib", "shim_log", "shim_server")}
    ours |= {"wharf_engine", "wharf_engine.runtime"}  # their __init__.py: docstrings
    c_modules = {"_ctypes", "_json", "_socket", "_stat", "errno", "fcntl", "gc", "select", "termios", "time"}
    small = {"__future__", "os", "os.path", "posixpath", "genericpath", "stat", "_collections_abc"}
    added = set(done.stdout.split())
    assert ours <= added <= ours | c_modules | small, added - ours - c_modules - small


def test_json_is_read_and_written_as_the_json_module_does() -> None:
    assert shim_lib.json_loads(' {"a": [1, 2.5, null, true], "b": "\\u00e9"} \n') == {
        "a": [1, 2.5, None, True],
        "b": "é",
    }
    for bad in ("", "{", '{"a": 1} x', "nope"):
        with pytest.raises(ValueError):
            shim_lib.json_loads(bad)
    text = 'h\u00e9 "q" \\ \x00\x1f\t\n\u2028 \U0001f600'
    assert shim_lib.quote(text) == json.dumps(text)
    assert shim_core.frame(2, b"abc") == b"\x02\x00\x00\x00\x00\x00\x00\x03abc"
    assert os.environ  # (posix_spawnp takes the environment as it is)
