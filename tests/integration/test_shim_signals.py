"""A container's process starts with the signal dispositions Docker gives it, not its shim's."""

from __future__ import annotations

import subprocess

import pytest
from engines import Engine

pytestmark = [pytest.mark.root]


def ignored_signals(engine: Engine, *args: str) -> int:
    """The ``SigIgn`` mask of the container's process (``grep`` itself, its pid 1)."""
    done = subprocess.run(
        ["docker", "run", "--rm", *args, "busybox", "grep", "SigIgn", "/proc/self/status"],
        env=engine.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[1], 16)


@pytest.mark.parametrize("args", [(), ("-t",), ("-i",)], ids=["pipes", "tty", "stdin"])
def test_the_shims_ignored_signals_are_not_the_containers(engine: Engine, args: tuple[str, ...]) -> None:
    mask = ignored_signals(engine, *args)
    for number, name in ((1, "SIGHUP"), (2, "SIGINT"), (13, "SIGPIPE"), (15, "SIGTERM")):
        assert not mask & (1 << (number - 1)), f"{name} is ignored in the container (SigIgn {mask:#x})"
