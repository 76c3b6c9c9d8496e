"""``wharf exec``: run a command in a running container, exiting with the command's status."""

from __future__ import annotations

import time

from wharf_client import ClientError, EngineClient, HijackedStream

from ..attach import pump_output, pump_stdin
from ..background import Exits, in_background
from ..containerspec import SpecError, parse_env
from ..output import fail, fail_client, write_stream
from ..session import client
from ..terminal import is_terminal, on_resize, raw_terminal, stdin_fd, terminal_size
from .flags import Spec

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

SPEC = Spec(
    flags=("-d --detach", "-i --interactive", "-t --tty", "--privileged"),
    values=("-u --user", "-w --workdir"),
    lists=("-e --env",),
    args=("container", "command+"),
    interspersed=False,
)
RESIZE_ATTEMPTS = 10
EXIT_CODE_TIMEOUT = 5.0


def exec_config(
    command: list[str],
    *,
    detach: bool,
    interactive: bool,
    tty: bool,
    user: str | None,
    workdir: str | None,
    env: list[str],
    privileged: bool,
) -> dict[str, Any]:
    """The ``POST /containers/{id}/exec`` body docker's ``parseExec`` builds."""
    config: dict[str, Any] = {
        "User": user or "",
        "Privileged": privileged,
        "Tty": tty,
        "AttachStdin": interactive and not detach,
        "AttachStdout": not detach,
        "AttachStderr": not detach,
        "Detach": detach,
        "Env": env,
        "WorkingDir": workdir or "",
        "Cmd": command,
    }
    size = terminal_size() if tty else None
    if size:
        config["ConsoleSize"] = list(size)
    return config


def resizer(api: EngineClient, exec_id: str) -> Callable[[int, int], None]:
    """Resize the exec's TTY; the first size is retried in the background (docker's ``initTtySize``),
    since the process may not be running yet when the stream opens."""
    first = True

    def retry(height: int, width: int) -> None:
        for attempt in range(RESIZE_ATTEMPTS):
            try:
                api.exec_resize(exec_id, height=height, width=width)
                return
            except ClientError:
                time.sleep(0.01 * (attempt + 1))

    def resize(height: int, width: int) -> None:
        nonlocal first
        if first:
            first = False
            in_background(retry, height, width)
            return
        api.exec_resize(exec_id, height=height, width=width)

    return resize


def pump_tty_output(stream: HijackedStream, resize_again: Callable[[], None]) -> None:
    """Copy the TTY's output, resizing once more when it first speaks.

    The engine accepts a resize as soon as the exec is running but drops it until its shim holds the
    pty (and it ignores ``ConsoleSize``); once output flows the pty exists, so the size sticks.
    """
    first = True
    for stream_type, data in stream.frames():
        if first:
            first = False
            resize_again()
        write_stream(stream_type, data)


def exit_code(api: EngineClient, exec_id: str) -> int:
    """The exec's ``ExitCode``, waiting briefly if the engine has not recorded it yet."""
    deadline = time.monotonic() + EXIT_CODE_TIMEOUT
    while True:
        code = api.exec_inspect(exec_id).get("ExitCode")
        if code is not None:
            return int(code)
        if time.monotonic() > deadline:
            return 1
        time.sleep(0.05)


def run_attached(api: EngineClient, exec_id: str, *, tty: bool, stdin: bool) -> int:
    """Hijack the start, pump stdin/stdout (raw terminal and resizes with a TTY); the exit code."""
    stream = api.exec_attach(exec_id, tty=tty)
    fd = stdin_fd()
    with stream, Exits() as stack:
        sized = tty and is_terminal(1)
        if sized:
            stack.enter(on_resize(resizer(api, exec_id)))
        if tty and stdin and fd >= 0 and is_terminal(fd):
            stack.enter(raw_terminal(fd))
        if stdin and fd >= 0:
            in_background(pump_stdin, stream, fd)
        if sized:
            pump_tty_output(stream, lambda: resize_quietly(api, exec_id))
        else:
            pump_output(stream)
    return exit_code(api, exec_id)


def resize_quietly(api: EngineClient, exec_id: str) -> None:
    size = terminal_size()
    if size:
        try:
            api.exec_resize(exec_id, height=size[0], width=size[1])
        except ClientError:
            pass


def exec_(
    *,
    container: str,
    command: list[str],
    detach: bool = False,
    interactive: bool = False,
    tty: bool = False,
    user: str | None = None,
    workdir: str | None = None,
    env: list[str] | None = None,
    privileged: bool = False,
) -> None:
    attach_stdin = interactive and not detach
    if tty and attach_stdin and not is_terminal(stdin_fd()):
        fail("the input device is not a TTY")
    try:
        environment = parse_env(env or [])  # a bare KEY takes the local value, as docker
    except SpecError as error:
        fail(str(error))
    config = exec_config(
        command,
        detach=detach,
        interactive=interactive,
        tty=tty,
        user=user,
        workdir=workdir,
        env=environment,
        privileged=privileged,
    )
    api = client()
    try:
        api.container_inspect(container)  # docker checks first, so that no exec is left behind
        exec_id = str(api.exec_create(container, config)["Id"])
        if detach:
            api.exec_start(exec_id, tty=tty)
            return
        code = run_attached(api, exec_id, tty=tty, stdin=attach_stdin)
    except ClientError as error:
        fail_client(error)
    raise SystemExit(code)
