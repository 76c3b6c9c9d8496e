"""Image commands: images, tag, rmi, import, save, load."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Annotated

import typer
from wharf_client import ClientError, JSONObject

from ...formatter import render
from ...opts import parse_filters, split_reference
from ...output import describe, err, fail, fail_client, out
from ...session import client
from ...terminal import is_terminal
from ...views import IMAGE_TITLES, IMAGES_TABLE, image_rows


def images(
    repository: Annotated[str | None, typer.Argument(metavar="[REPOSITORY[:TAG]]")] = None,
    all: Annotated[
        bool, typer.Option("-a", "--all", help="Show all images (default hides intermediate images)")
    ] = False,
    digests: Annotated[bool, typer.Option("--digests", help="Show digests")] = False,
    filter: Annotated[list[str] | None, typer.Option("-f", "--filter", help="Filter output")] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="Format output using a custom template")
    ] = None,
    no_trunc: Annotated[bool, typer.Option("--no-trunc", help="Don't truncate output")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only show image IDs")] = False,
) -> None:
    """List images."""
    filters = parse_filters(filter)
    if repository:
        filters.setdefault("reference", []).append(repository)
    fmt = format or ""
    if quiet:
        fmt = "{{.ID}}"
    elif not fmt:
        fmt = IMAGES_TABLE.replace("{{.Tag}}", "{{.Tag}}\t{{.Digest}}") if digests else IMAGES_TABLE
    result = client().image_list(all=all, filters=filters, digests=digests)
    rows = image_rows(result, trunc=not no_trunc)
    if quiet:
        seen: dict[str, None] = {}
        for row in rows:
            seen.setdefault(row.ID)
        out("".join(f"{image_id}\n" for image_id in seen), end="")
        return
    out(render(fmt, rows, IMAGE_TITLES, IMAGES_TABLE), end="")


def tag(
    source: Annotated[str, typer.Argument(metavar="SOURCE_IMAGE[:TAG]")],
    target: Annotated[str, typer.Argument(metavar="TARGET_IMAGE[:TAG]")],
) -> None:
    """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."""
    repo, tag_name = split_reference(target)
    try:
        client().image_tag(source, repo, tag_name or "latest")
    except ClientError as error:
        fail_client(error)


def rmi(
    images: Annotated[list[str], typer.Argument(metavar="IMAGE...")],
    force: Annotated[bool, typer.Option("-f", "--force", help="Force removal of the image")] = False,
    no_prune: Annotated[bool, typer.Option("--no-prune", help="Do not delete untagged parents")] = False,
) -> None:
    """Remove one or more images."""
    api = client()
    failed = False
    for image in images:
        try:
            deleted = api.image_remove(image, force=force, noprune=no_prune)
        except ClientError as error:
            err(describe(error))
            failed = True
            continue
        for item in deleted:
            if item.get("Untagged"):
                out(f"Untagged: {item['Untagged']}")
            if item.get("Deleted"):
                out(f"Deleted: {item['Deleted']}")
    if failed:
        raise typer.Exit(1)


def print_messages(messages: Iterable[JSONObject]) -> None:
    """Print a JSON message stream the plain way (``status``/``stream`` lines)."""
    for message in messages:
        if message.get("stream"):
            out(str(message["stream"]), end="")
        elif message.get("status"):
            progress = message.get("progress")
            prefix = f"{message['id']}: " if message.get("id") else ""
            out(f"{prefix}{message['status']}" + (f" {progress}" if progress else ""))


def import_(
    file: Annotated[str, typer.Argument(metavar="file|URL|-")],
    reference: Annotated[str | None, typer.Argument(metavar="[REPOSITORY[:TAG]]")] = None,
    change: Annotated[
        list[str] | None, typer.Option("-c", "--change", help="Apply Dockerfile instruction")
    ] = None,
    message: Annotated[str | None, typer.Option("-m", "--message", help="Commit message")] = None,
    platform: Annotated[str | None, typer.Option("--platform", help="Set platform")] = None,
) -> None:
    """Import the contents from a tarball to create a filesystem image."""
    repo, tag_name = split_reference(reference) if reference else (None, None)
    if file.startswith(("http://", "https://")):  # the engine downloads it
        try:
            print_messages(
                client().image_import(
                    None, url=file, repo=repo, tag=tag_name, changes=change or [], message=message
                )
            )
        except ClientError as error:
            fail_client(error)
        return
    try:
        source: IO[bytes] = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115
    except OSError as exc:
        fail(f"open {file}: {exc.strerror.lower() if exc.strerror else exc}")
    try:
        with source:
            stream = client().image_import(
                source, repo=repo, tag=tag_name, changes=change or [], message=message, platform=platform
            )
            print_messages(stream)
    except ClientError as error:
        fail_client(error)


def save(
    images: Annotated[list[str], typer.Argument(metavar="IMAGE...")],
    output: Annotated[
        str | None, typer.Option("-o", "--output", help="Write to a file, instead of STDOUT")
    ] = None,
) -> None:
    """Save one or more images to a tar archive (streamed to STDOUT by default)."""
    if output is None and is_terminal(sys.stdout.fileno()):
        fail("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    try:
        chunks = client().image_save(images)
        if output is None:
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        partial = output + ".wharf-save-tmp"
        with open(partial, "wb") as target:
            for chunk in chunks:
                target.write(chunk)
        Path(partial).replace(output)
    except ClientError as error:
        fail_client(error)
    except OSError as exc:
        fail(f"failed to save image: {exc}")


def load(
    input: Annotated[str | None, typer.Option("-i", "--input", help="Read from tar archive file")] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Suppress the load output")] = False,
) -> None:
    """Load an image from a tar archive or STDIN."""
    if input is None and is_terminal(sys.stdin.fileno()):
        fail("requested load from stdin, but stdin is empty")
    try:
        source: IO[bytes] = sys.stdin.buffer if input is None else open(input, "rb")  # noqa: SIM115
    except OSError as exc:
        fail(f"open {input}: {exc.strerror.lower() if exc.strerror else exc}")
    try:
        with source:
            print_messages(client().image_load(source, quiet=quiet))
    except ClientError as error:
        fail_client(error)


def register(app: typer.Typer) -> None:
    app.command("images")(images)
    app.command("tag")(tag)
    app.command("rmi")(rmi)
    app.command("import")(import_)
    app.command("save")(save)
    app.command("load")(load)
