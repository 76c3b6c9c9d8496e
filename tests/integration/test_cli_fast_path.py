"""``wharf`` ps, run, logs and exec answer the same through the fast path and through typer
(``WHARF_CLI_FAST=0``) against a real engine: output, errors and exit codes."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from engines import VENV_BIN, Engine, wait_for

pytestmark = [pytest.mark.root]

WHARF = str(VENV_BIN / "wharf")
NAME = "fastpath-web"


def both(engine: Engine, *args: str) -> tuple[int, bytes, bytes]:
    """The command through the fast path and through typer; they must agree."""
    runs = [
        subprocess.run(
            [WHARF, *args], env={**engine.env, "WHARF_CLI_FAST": fast}, capture_output=True, timeout=60
        )
        for fast in ("1", "0")
    ]
    fast, slow = ((r.returncode, r.stdout, r.stderr) for r in runs)
    assert fast == slow, args
    return fast


@pytest.fixture(scope="module")
def web(engine: Engine) -> Iterator[str]:
    script = "echo started; echo oops >&2; while true; do sleep 1; done"
    result = engine.wharf("run", "-d", "--name", NAME, "busybox", "sh", "-c", script)
    assert result.returncode == 0, result.stderr
    wait_for(lambda: b"started" in engine.wharf("logs", NAME).stdout)
    yield result.stdout.decode().strip()
    engine.wharf("rm", "-f", NAME)


def test_ps_and_its_errors_agree(engine: Engine, web: str) -> None:
    code, out, _ = both(engine, "ps", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.Image}} {{.State}}")
    assert code == 0 and f"{web} {NAME} busybox running\n".encode() in out
    assert both(engine, "ps", "-q", "-f", f"name={NAME}")[1] == web[:12].encode() + b"\n"
    assert both(engine, "ps", "-f", "bogus")[0] == 1
    assert both(engine, "ps", "--nope")[0] == 2


def test_run_exit_codes_and_streams_agree(engine: Engine) -> None:
    script = "echo out; echo err >&2; exit 3"
    assert both(engine, "run", "--rm", "busybox", "sh", "-c", script) == (3, b"out\n", b"err\n")
    code, _, err = both(engine, "run", "--rm", "busybox", "no-such-command")
    assert code == 127 and b"executable file not found" in err
    code, _, err = both(engine, "run", "--rm", "--pull", "never", "no-such-image")
    assert code == 125 and b"No such image" in err
    assert both(engine, "run", "--rm", "-c", "x", "busybox")[0] == 2


def test_logs_and_exec_agree(engine: Engine, web: str) -> None:
    assert both(engine, "logs", NAME)[1:] == (b"started\n", b"oops\n")
    assert both(engine, "logs", "--tail", "1", "-t", web)[0] == 0
    assert both(engine, "exec", NAME, "sh", "-c", "echo in; exit 4") == (4, b"in\n", b"")
    assert both(engine, "exec", "-e", "A=1", "-w", "/tmp", NAME, "sh", "-c", "echo $A $PWD")[1] == b"1 /tmp\n"
    code, _, err = both(engine, "exec", "no-such-container", "true")
    assert code == 1 and err == b"Error response from daemon: No such container: no-such-container\n"
