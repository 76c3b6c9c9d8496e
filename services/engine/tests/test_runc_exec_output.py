"""``Runc.exec_output`` (health probes): output collected, the exit code, the kill at the timeout.

A shell script stands in for the runc binary: it checks its arguments, writes its pid where runc
writes the process's, then does what the process file (shell assignments here) says.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from wharf_engine.runtime.runc import Runc

# runc --root <root> exec --process <file> --pid-file <file> c1
FAKE_RUNC = """#!/bin/sh
[ "$1 $2 $3 $4 $6 $8" = "--root {root} exec --process --pid-file c1" ] || exit 99
. "$5"
echo $$ > "$7"
printf "$OUT"
printf "$ERR" >&2
if [ "$SLEEP" != 0 ]; then exec sleep "$SLEEP"; fi
exit "$CODE"
"""


def runc(tmp_path: Path) -> Runc:
    binary = tmp_path / "runc"
    binary.write_text(FAKE_RUNC.format(root=tmp_path / "state"))
    binary.chmod(0o755)
    return Runc(str(binary), tmp_path / "state")


def process(tmp_path: Path, *, out: str = "", err: str = "", sleep: int = 0, code: int = 0) -> Path:
    path = tmp_path / "process.sh"
    path.write_text(f"OUT='{out}' ERR='{err}' SLEEP={sleep} CODE={code}\n")
    return path


def test_output_and_exit_code_are_collected(tmp_path: Path) -> None:
    result = asyncio.run(
        runc(tmp_path).exec_output(
            "c1", process(tmp_path, out="ok\\n", err="warn\\n", code=3), pid_file=tmp_path / "p", timeout=30
        )
    )
    assert result.exit_code == 3
    assert sorted(result.output.splitlines()) == [b"ok", b"warn"]  # stdout and stderr together


def test_a_process_past_its_timeout_is_killed_and_has_no_exit_code(tmp_path: Path) -> None:
    pid_file = tmp_path / "p"
    result = asyncio.run(
        runc(tmp_path).exec_output("c1", process(tmp_path, sleep=60), pid_file=pid_file, timeout=0.5)
    )
    assert result.exit_code is None
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pass
    else:  # a zombie of ours would still answer; it must at least be dying
        raise AssertionError(f"probe {pid} still alive")
