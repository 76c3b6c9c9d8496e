"""Container lifecycle commands: start, stop, kill, restart, pause, unpause, rm, rename, wait, attach."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from wharf_client import ClientError, EngineError, NotFoundError

from ...attach import AttachOptions, run_session
from ...output import describe, err, fail, fail_client, out
from ...session import client

Containers = Annotated[list[str], typer.Argument(metavar="CONTAINER...")]
StopTime = Annotated[int | None, typer.Option("-t", "--time", help="Seconds to wait before killing it")]
Signal = Annotated[str | None, typer.Option("-s", "--signal", help="Signal to send to the container")]


def for_each(
    names: list[str], action: Callable[[str], None], *, echo: bool = True, missing_ok: bool = False
) -> None:
    """Apply ``action`` to every name, printing it on success; report errors and exit 1 at the end.

    With ``missing_ok`` (``rm -f``) an unknown container is reported but not a failure, as docker.
    """
    failed = False
    for name in names:
        try:
            action(name)
        except ClientError as error:
            err(describe(error))
            failed = failed or not (missing_ok and isinstance(error, NotFoundError))
            continue
        if echo:
            out(name)
    if failed:
        raise typer.Exit(1)


def start(
    containers: Containers,
    attach: Annotated[
        bool, typer.Option("-a", "--attach", help="Attach STDOUT/STDERR and forward signals")
    ] = False,
    interactive: Annotated[
        bool, typer.Option("-i", "--interactive", help="Attach container's STDIN")
    ] = False,
) -> None:
    """Start one or more stopped containers."""
    api = client()
    if not (attach or interactive):
        for_each(containers, api.container_start)
        return
    if len(containers) > 1:
        fail("you cannot start and attach multiple containers at once")
    try:
        info = api.container_inspect(containers[0])
        config = info.get("Config") or {}
        session = AttachOptions(
            tty=bool(config.get("Tty")), stdin=interactive and bool(config.get("OpenStdin"))
        )
        auto_remove = bool((info.get("HostConfig") or {}).get("AutoRemove"))
        code = run_session(
            api, info["Id"], session, start=True, wait_condition="removed" if auto_remove else "next-exit"
        )
    except ClientError as error:
        fail_client(error)
    raise typer.Exit(code)


def stop(
    containers: Containers,
    time: StopTime = None,
    signal: Signal = None,
) -> None:
    """Stop one or more running containers."""
    api = client()
    for_each(containers, lambda name: api.container_stop(name, timeout=time, signal=signal))


def kill(
    containers: Containers,
    signal: Signal = None,
) -> None:
    """Kill one or more running containers."""
    api = client()
    for_each(containers, lambda name: api.container_kill(name, signal=signal))


def restart(
    containers: Containers,
    time: StopTime = None,
    signal: Signal = None,
) -> None:
    """Restart one or more containers."""
    api = client()
    for_each(containers, lambda name: api.container_restart(name, timeout=time, signal=signal))


def rm(
    containers: Containers,
    force: Annotated[
        bool, typer.Option("-f", "--force", help="Force the removal of a running container")
    ] = False,
    volumes: Annotated[bool, typer.Option("-v", "--volumes", help="Remove anonymous volumes")] = False,
) -> None:
    """Remove one or more containers."""
    api = client()
    for_each(
        containers, lambda name: api.container_remove(name, force=force, volumes=volumes), missing_ok=force
    )


def wait(containers: Containers) -> None:
    """Block until one or more containers stop, then print their exit codes."""
    api = client()

    def show(name: str) -> None:
        result = api.container_wait(name)
        failure = result.get("Error")
        if isinstance(failure, dict) and failure.get("Message"):
            raise EngineError(500, str(failure["Message"]))
        out(str(result.get("StatusCode", "")))

    for_each(containers, show, echo=False)


def attach(
    container: Annotated[str, typer.Argument(metavar="CONTAINER")],
    no_stdin: Annotated[bool, typer.Option("--no-stdin", help="Do not attach STDIN")] = False,
    sig_proxy: Annotated[
        bool, typer.Option("--sig-proxy/--no-sig-proxy", help="Proxy received signals")
    ] = True,
) -> None:
    """Attach local standard input, output, and error streams to a running container."""
    api = client()
    try:
        info = api.container_inspect(container)
        state = info.get("State") or {}
        if not state.get("Running"):
            fail("You cannot attach to a stopped container, start it first")
        if state.get("Paused"):
            fail("You cannot attach to a paused container, unpause it first")
        config = info.get("Config") or {}
        session = AttachOptions(
            tty=bool(config.get("Tty")),
            stdin=not no_stdin and bool(config.get("OpenStdin")),
            proxy_signals=sig_proxy,
        )
        code = run_session(api, info["Id"], session, start=False, wait_condition="not-running")
    except ClientError as error:
        fail_client(error)
    raise typer.Exit(code)


def pause(containers: Containers) -> None:
    """Pause all processes within one or more containers."""
    for_each(containers, lambda name: client().container_pause(name))


def unpause(containers: Containers) -> None:
    """Unpause all processes within one or more containers."""
    for_each(containers, lambda name: client().container_unpause(name))


def rename(
    container: Annotated[str, typer.Argument(metavar="CONTAINER")],
    new_name: Annotated[str, typer.Argument(metavar="NEW_NAME")],
) -> None:
    """Rename a container."""
    old, new = container.strip(), new_name.strip()
    if not old or not new:
        fail("Error: Neither old nor new names may be empty")
    try:
        client().container_rename(old, new)
    except ClientError as error:
        fail_client(error)


def register(app: typer.Typer) -> None:
    app.command("start")(start)
    app.command("stop")(stop)
    app.command("kill")(kill)
    app.command("restart")(restart)
    app.command("rm")(rm)
    app.command("pause")(pause)
    app.command("unpause")(unpause)
    app.command("rename")(rename)
    app.command("wait")(wait)
    app.command("attach")(attach)
