"""``wharf inspect``: a JSON array (4-space indent) or one templated line per object."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from wharf_client import ClientError, EngineClient, NotFoundError

from ...inspecting import json_or_template, show
from ...output import describe, err, fail
from ...session import client

TYPES = ("container", "image")


def lookup(api: EngineClient, name: str, kind: str | None, size: bool) -> dict[str, Any]:
    """Find ``name`` as the given type, or as a container then an image (docker's default order)."""
    if kind == "container":
        return api.container_inspect(name, size=size)
    if kind == "image":
        return api.image_inspect(name)
    try:
        return api.container_inspect(name, size=size)
    except NotFoundError:
        pass
    try:
        return api.image_inspect(name)
    except NotFoundError:
        raise NotFoundError(404, f"No such object: {name}") from None


def inspect(
    names: Annotated[list[str], typer.Argument(metavar="NAME|ID...")],
    format: Annotated[
        str | None, typer.Option("-f", "--format", help="Format output using a Go template")
    ] = None,
    type: Annotated[str | None, typer.Option("--type", help="Only inspect objects of the given type")] = None,
    size: Annotated[
        bool, typer.Option("-s", "--size", help="Display total file sizes if the type is container")
    ] = False,
) -> None:
    """Return low-level information on wharf objects."""
    if type is not None and type not in TYPES:
        fail(f'"{type}" is not a valid value for --type')
    api = client()
    template = json_or_template(format)
    found: list[dict[str, Any]] = []
    failed = False
    for name in names:
        try:
            found.append(lookup(api, name, type, size))
        except NotFoundError as error:
            err(f"Error: {error.message}")
            failed = True
        except ClientError as error:
            err(describe(error))
            failed = True
    show(found, template, blank_when_none=True)  # docker's TemplateInspector.Flush writes a newline
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect)
