"""``OCIRuntime``: the errors the daemon relies on, from runc and from ``FakeRuntime`` alike, and
runc's words mapped to them in one place (``runtime/runc_errors.py``)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from wharf_engine.runtime.base import OCIRuntime
from wharf_engine.runtime.errors import ContainerNotFound, NotRunning, RuntimeFailure, StartFailure
from wharf_engine.runtime.fake import FakeRuntime
from wharf_engine.runtime.runc import Runc
from wharf_engine.runtime.runc_errors import runc_error, start_error

RUNC = shutil.which("runc")


def runtimes(tmp_path: Path) -> dict[str, OCIRuntime]:
    found: dict[str, OCIRuntime] = {"fake": FakeRuntime()}
    if RUNC is not None:
        found["runc"] = Runc(RUNC, tmp_path / "runc")
    return found


@pytest.fixture(params=["fake", "runc"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> OCIRuntime:
    found = runtimes(tmp_path)
    if request.param not in found:
        pytest.skip("no runc on this machine")
    return found[request.param]


VERBS: dict[str, Callable[[OCIRuntime], Coroutine[Any, Any, object]]] = {
    "state": lambda r: r.state("nope"),
    "kill": lambda r: r.kill("nope", 15),
    "pause": lambda r: r.pause("nope"),
    "resume": lambda r: r.resume("nope"),
    "update": lambda r: r.update("nope", {"pids": {"limit": 10}}),
    "start": lambda r: r.start("nope"),
}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_a_verb_on_an_unknown_container_is_container_not_found(runtime: OCIRuntime, verb: str) -> None:
    with pytest.raises(ContainerNotFound, match="does not exist"):
        asyncio.run(VERBS[verb](runtime))


def test_delete_of_an_unknown_container_is_no_error(runtime: OCIRuntime) -> None:
    asyncio.run(runtime.delete("nope", force=True))
    asyncio.run(runtime.delete("nope"))


@pytest.mark.parametrize(
    ("stderr", "kind", "message"),
    [
        ('time="2026-12-07T22:59:56Z" level=error msg="container does not exist"\n', ContainerNotFound, None),
        ('time="x" level=error msg="container not running"\n', NotRunning, None),
        ("cannot start a container that has stopped\n", NotRunning, None),
        ('time="x" level=error msg="container not paused"\n', RuntimeFailure, None),
        (
            'level=warning msg="a warning first"\nlevel=error msg="unable to \\"freeze\\": busy"\n',
            RuntimeFailure,
            'unable to "freeze": busy',
        ),
        ("", RuntimeFailure, "runc kill failed"),
    ],
)
def test_runc_words_become_typed_errors(stderr: str, kind: type[RuntimeFailure], message: str | None) -> None:
    error = runc_error(stderr, "kill")
    assert type(error) is kind
    if message is not None:
        assert error.message == message
    assert "time=" not in error.message and "level=" not in error.message


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ('exec: "nope": executable file not found in $PATH', 127),
        ("exec: /bin/x: no such file or directory", 127),
        ("exec: /etc: permission denied", 126),
    ],
)
def test_a_command_that_cannot_start_is_the_users_with_dockers_exit_code(message: str, code: int) -> None:
    error = start_error(message)
    assert isinstance(error, StartFailure) and error.exit_code == code


def test_any_other_start_failure_is_the_runtimes() -> None:
    error = start_error("cgroup: no space left on device")
    assert type(error) is RuntimeFailure
