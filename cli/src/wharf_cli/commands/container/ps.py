"""``wharf ps``."""

from __future__ import annotations

from typing import Annotated

import typer

from ...formatter import render
from ...opts import parse_filters
from ...output import out
from ...session import client
from ...views import PS_TABLE, PS_TITLES, ContainerView


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
    limit = 1 if latest and last == -1 else last
    fmt = format or ""
    if quiet:
        fmt = "{{.ID}}"
    elif not fmt:
        fmt = PS_TABLE + ("\t{{.Size}}" if size else "")
    want_size = size or (".Size" in fmt and not quiet)
    containers = client().container_list(
        all=all, limit=limit if limit > 0 else None, size=want_size, filters=parse_filters(filter)
    )
    views = [ContainerView(c, trunc=not no_trunc) for c in containers]
    out(render(fmt, views, PS_TITLES, PS_TABLE), end="")


def register(app: typer.Typer) -> None:
    app.command("ps")(ps)
