"""``wharf logs``: its flags and help for typer (the body is :mod:`wharf_cli.fast.logs`)."""

from __future__ import annotations

from typing import Annotated

import typer

from ...fast.logs import logs as run_logs


def logs(
    container: Annotated[str, typer.Argument(metavar="CONTAINER")],
    follow: Annotated[bool, typer.Option("-f", "--follow", help="Follow log output")] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="Show logs since timestamp or relative (42m)")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Show logs before a timestamp or relative")
    ] = None,
    tail: Annotated[str, typer.Option("-n", "--tail", help="Number of lines to show from the end")] = "all",
    timestamps: Annotated[bool, typer.Option("-t", "--timestamps", help="Show timestamps")] = False,
) -> None:
    """Fetch the logs of a container."""
    run_logs(container=container, follow=follow, since=since, until=until, tail=tail, timestamps=timestamps)


def register(app: typer.Typer) -> None:
    app.command("logs")(logs)
