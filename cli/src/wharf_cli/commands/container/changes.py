"""A container's filesystem: commit, diff, export."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from wharf_client import ClientError

from ...opts import split_reference
from ...output import fail, fail_client, out
from ...session import client
from ...terminal import is_terminal

KIND = {0: "C", 1: "A", 2: "D"}


def commit(
    container: str,
    repository: Annotated[str | None, typer.Argument(metavar="[REPOSITORY[:TAG]]")] = None,
    message: Annotated[str | None, typer.Option("-m", "--message", help="Commit message")] = None,
    author: Annotated[str | None, typer.Option("-a", "--author", help="Author")] = None,
    change: Annotated[list[str] | None, typer.Option("-c", "--change", help="Dockerfile instruction")] = None,
    pause: Annotated[bool, typer.Option("-p", "--pause/--no-pause", help="Pause during commit")] = True,
) -> None:
    """Create a new image from a container's changes."""
    repo, tag = split_reference(repository) if repository else (None, None)
    try:
        result = client().container_commit(
            container, repo=repo, tag=tag, comment=message, author=author, pause=pause, changes=change or []
        )
    except ClientError as error:
        fail_client(error)
    out(str(result["Id"]))


def diff(container: str) -> None:
    """Inspect changes to files or directories on a container's filesystem."""
    try:
        changes = client().container_changes(container)
    except ClientError as error:
        fail_client(error)
    out("".join(f"{KIND.get(int(c['Kind']), '?')} {c['Path']}\n" for c in changes), end="")


def export(
    container: str,
    output: Annotated[str | None, typer.Option("-o", "--output", help="Write to a file")] = None,
) -> None:
    """Export a container's filesystem as a tar archive."""
    if output is None and is_terminal(1):
        fail("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    try:
        chunks = client().container_export(container)
        target = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115 - closed below
        try:
            for chunk in chunks:
                target.write(chunk)
        finally:
            if output:
                target.close()
    except ClientError as error:
        fail_client(error)


def register(app: typer.Typer) -> None:
    app.command("commit")(commit)
    app.command("diff")(diff)
    app.command("export")(export)
