"""``wharf ps``: its flags and help for typer (the body is :mod:`wharf_cli.fast.ps`)."""

from __future__ import annotations

from typing import Annotated

import typer

from ...fast.ps import ps as run_ps


def ps(
    all: Annotated[
        bool, typer.Option("-a", "--all", help="Show all containers (default shows just running)")
    ] = False,
    filter: Annotated[
        list[str] | None, typer.Option("-f", "--filter", help="Filter output based on conditions provided")
    ] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="Format output using a custom template")
    ] = None,
    last: Annotated[
        int, typer.Option("-n", "--last", help="Show n last created containers (includes all states)")
    ] = -1,
    latest: Annotated[bool, typer.Option("-l", "--latest", help="Show the latest created container")] = False,
    no_trunc: Annotated[bool, typer.Option("--no-trunc", help="Don't truncate output")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only display container IDs")] = False,
    size: Annotated[bool, typer.Option("-s", "--size", help="Display total file sizes")] = False,
) -> None:
    """List containers."""
    run_ps(
        all=all,
        filter=filter,
        format=format,
        last=last,
        latest=latest,
        no_trunc=no_trunc,
        quiet=quiet,
        size=size,
    )


def register(app: typer.Typer) -> None:
    app.command("ps")(ps)
