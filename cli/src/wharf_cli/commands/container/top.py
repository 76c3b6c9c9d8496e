"""``wharf top``: the processes of a container."""

from __future__ import annotations

from typing import Annotated

import typer
from wharf_client import ClientError

from ...output import fail_client, out
from ...session import client
from ...tabwriter import tabulate

TOP_CONTEXT = {"allow_interspersed_args": False, "help_option_names": ["--help"]}
TOP_MIN_WIDTH = 20


def top(
    container: Annotated[str, typer.Argument(metavar="CONTAINER")],
    ps_args: Annotated[list[str] | None, typer.Argument(metavar="[ps OPTIONS]")] = None,
) -> None:
    """Display the running processes of a container."""
    try:
        result = client().container_top(container, ps_args=" ".join(ps_args or []))
    except ClientError as error:
        fail_client(error)
    lines = ["\t".join(result.get("Titles") or [])]
    lines.extend("\t".join(str(cell) for cell in process) for process in result.get("Processes") or [])
    out(tabulate(lines, min_width=TOP_MIN_WIDTH), end="")


def register(app: typer.Typer) -> None:
    app.command("top", context_settings=TOP_CONTEXT)(top)
