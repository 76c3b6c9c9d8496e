"""What every bench shares: the busybox image, running and timing commands, daemons on a unix socket,
and the clean-up on the way out.

``bench.py`` re-exports all of it, so the benches that ``import bench as base`` keep working.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "images" / "busybox"))
from seed import UnixConnection, seed

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
BUILD_SCRIPT = REPO_ROOT / "deploy" / "images" / "busybox" / "build.py"
DEFAULT_IMAGE = REPO_ROOT / ".cache" / "images" / "busybox.tar"
DOCKER = Path("/usr/local/bin/docker")
RUN_TIMEOUT = 60.0  # one timed command
START_TIMEOUT = 30.0  # a daemon answering /_ping
# The host lacks CAP_SYS_RESOURCE: hard nofile is 20000, so containers must stay within it.
ULIMITS = ("nofile=20000:20000", "nproc=32768:32768")


class Skip(Exception):
    """A case cannot be measured; the message says why."""


def fixed(*argv: str) -> Callable[[int], list[str]]:
    """The argv of a case whose command is the same on every run."""
    return lambda i: list(argv)


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def tail(text: str | bytes, lines: int = 3) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"


def run_checked(argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Skip(f"{argv[0]}: {exc}") from exc
    if proc.returncode != 0:
        raise Skip(f"{' '.join(argv[:3])}… exited {proc.returncode}: {tail(proc.stderr or proc.stdout)}")
    return proc.stdout


def tool(path: Path | str) -> str:
    if (found := shutil.which(str(path))) is None:
        raise Skip(f"{path} not found")
    return found


def stop_process(proc: subprocess.Popen[bytes], name: str) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            log(f"{name} (pid {proc.pid}) ignored SIGTERM; killing it")
            proc.kill()
            proc.wait(timeout=5)


def start_daemon(
    stack: contextlib.ExitStack, name: str, argv: list[str], sock: Path, logfile: Path, env: Mapping[str, str]
) -> None:
    """Start a daemon, register its stop, and wait for ``GET /_ping`` on its socket."""
    with open(logfile, "wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=dict(env))
    stack.callback(stop_process, proc, name)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Skip(f"{name} exited {proc.returncode}: {tail(logfile.read_bytes())}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = UnixConnection(str(sock), timeout=2)
            try:
                conn.request("GET", "/_ping")
                if conn.getresponse().status == 200:
                    return
            finally:
                conn.close()
        time.sleep(0.1)
    raise Skip(f"{name} did not answer /_ping within {START_TIMEOUT:.0f}s: {tail(logfile.read_bytes())}")


def import_image(sock: Path, image: Path) -> None:
    """busybox over the Docker API (wharf or podman's service), as ``make run`` seeds it."""
    try:
        seed(str(sock), image)
    except (OSError, http.client.HTTPException, SystemExit) as exc:
        raise Skip(f"importing busybox failed: {exc}") from exc


def unmount_under(root: Path) -> None:
    """Lazily unmount whatever is still mounted below ``root`` (podman's overlay), deepest first."""
    prefix = str(root) + "/"
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        points = [line.split()[4] for line in fh]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


@dataclass(frozen=True, slots=True)
class Case:
    """A command to time; ``argv`` gets the run number so ids can be unique."""

    argv: Callable[[int], list[str]]
    env: Mapping[str, str] | None = None
    after: Callable[[int], None] | None = None  # untimed clean-up after each run


def run_once(case: Case, i: int) -> float:
    """Run the case once; return wall time in ms, or raise Skip with its error."""
    argv = case.argv(i)
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            argv, env=case.env, stdin=subprocess.DEVNULL, capture_output=True, timeout=RUN_TIMEOUT
        )
        elapsed = (time.perf_counter() - start) * 1000
    except subprocess.TimeoutExpired as exc:
        raise Skip(f"timed out after {RUN_TIMEOUT:.0f}s") from exc
    finally:
        if case.after is not None:
            case.after(i)
    if proc.returncode != 0:
        raise Skip(f"exited {proc.returncode}: {tail(proc.stderr or proc.stdout)}")
    return elapsed


def prepare_image(image: Path) -> Path:
    if image == DEFAULT_IMAGE:
        run_checked([sys.executable, str(BUILD_SCRIPT), "--quiet", "--if-missing", "--output", str(image)])
    if not image.is_file():
        raise Skip(f"{image} does not exist")
    return image


def docker_env(tmp: Path, sock: Path) -> dict[str, str]:
    config = tmp / "docker-config"
    config.mkdir(exist_ok=True)
    return {
        **os.environ,
        "DOCKER_HOST": f"unix://{sock}",
        "DOCKER_CONFIG": str(config),
        "DOCKER_CLI_HINTS": "0",
    }


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the ExitStack, so clean-up still runs
