"""``wharf exec``: its flags and help for typer (the body is :mod:`wharf_cli.fast.exec`)."""

from __future__ import annotations

from typing import Annotated

import typer

from ...fast.exec import exec_ as run_exec

EXEC_CONTEXT = {"allow_interspersed_args": False, "help_option_names": ["--help"]}


def exec_(
    container: Annotated[str, typer.Argument(metavar="CONTAINER")],
    command: Annotated[list[str], typer.Argument(metavar="COMMAND [ARG...]")],
    detach: Annotated[
        bool, typer.Option("-d", "--detach", help="Detached mode: run command in the background")
    ] = False,
    interactive: Annotated[
        bool, typer.Option("-i", "--interactive", help="Keep STDIN open even if not attached")
    ] = False,
    tty: Annotated[bool, typer.Option("-t", "--tty", help="Allocate a pseudo-TTY")] = False,
    user: Annotated[
        str | None, typer.Option("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])")
    ] = None,
    workdir: Annotated[
        str | None, typer.Option("-w", "--workdir", help="Working directory inside the container")
    ] = None,
    env: Annotated[list[str] | None, typer.Option("-e", "--env", help="Set environment variables")] = None,
    privileged: Annotated[
        bool, typer.Option("--privileged", help="Give extended privileges to the command")
    ] = False,
) -> None:
    """Execute a command in a running container."""
    run_exec(
        container=container,
        command=command,
        detach=detach,
        interactive=interactive,
        tty=tty,
        user=user,
        workdir=workdir,
        env=env,
        privileged=privileged,
    )


def register(app: typer.Typer) -> None:
    app.command("exec", context_settings=EXEC_CONTEXT)(exec_)
