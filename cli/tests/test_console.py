"""The ``wharf`` process (``wharf_cli.console``): exit codes and output as before, without the teardown."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_cli.console import exit_code
from wharf_client.testing import FakeEngine, Reply

CID = "4f1d2c3b5a6e" + "0" * 52


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeEngine]:
    with FakeEngine(tmp_path / "engine.sock") as fake:
        yield fake


def wharf(
    engine: FakeEngine, *args: str, fast: str = "1", stdout: int = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WHARF_CLI_FAST": fast}
    env.pop("PYTHONUNBUFFERED", None)  # the output is flushed at the end, as in a terminal-less run
    argv = [sys.executable, "-m", "wharf_cli", "-H", engine.url, *args]
    return subprocess.run(argv, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60)


def test_exit_code_is_what_sys_exit_makes_of_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert [exit_code(None), exit_code(0), exit_code(3), exit_code(256 + 125)] == [0, 0, 3, 125]
    assert exit_code("boom") == 1
    assert capsys.readouterr().err == "boom\n"


def test_all_output_is_written_before_the_process_leaves(engine: FakeEngine) -> None:
    now = int(time.time())
    containers = [
        {
            "Id": f"{n:064x}",
            "Names": [f"/c{n}"],
            "Image": "busybox",
            "Command": "top",
            "Created": now,
            "Ports": [],
            "State": "running",
            "Status": "Up",
        }
        for n in range(2000)
    ]
    engine.route("GET", "/containers/json", lambda req: Reply.json(containers))
    result = wharf(engine, "ps", "-q", "--no-trunc")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [c["Id"] for c in containers]


def test_exit_codes_and_usage_errors_are_unchanged(engine: FakeEngine) -> None:
    engine.route("GET", "/containers/nope/json", lambda req: Reply.error(404, "No such container: nope"))
    for fast in ("1", "0"):
        missing = wharf(engine, "logs", "nope", fast=fast)
        assert (missing.returncode, missing.stderr) == (
            1,
            "Error response from daemon: No such container: nope\n",
        )
        usage = wharf(engine, "ps", "--bogus", fast=fast)
        assert usage.returncode == 2 and "No such option: --bogus" in usage.stderr


def test_a_closed_pipe_ends_as_it_did_under_typer(engine: FakeEngine) -> None:
    engine.route("GET", "/containers/json", lambda req: Reply.json([]))
    results = []
    for fast in ("1", "0"):
        read, write = os.pipe()
        os.close(read)
        try:
            result = wharf(engine, "ps", fast=fast, stdout=write)
        finally:
            os.close(write)
        results.append((result.returncode, result.stderr))
    assert results[0] == results[1]
    assert results[0][0] == 120 and "BrokenPipeError" in results[0][1]
