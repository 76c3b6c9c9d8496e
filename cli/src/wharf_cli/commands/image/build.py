"""Image making: build, history, image prune."""

from __future__ import annotations

import io
import secrets
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated

import typer
from wharf_client import ClientError
from wharf_common.dockerignore import context_paths
from wharf_common.humanize import human_size

from ...humanize import time_ago, truncate_id
from ...output import err, fail, fail_client, out
from ...session import client
from ...terminal import is_terminal


def _context_tar(path: Path, dockerfile: str | None) -> tuple[IO[bytes], str | None]:
    """The context as a tar spooled to a temp file, honouring .dockerignore, and the Dockerfile name.

    Like docker: the Dockerfile and .dockerignore are always sent, and a Dockerfile from outside
    the context travels inside it under a random name.
    """
    name = dockerfile
    extra: tuple[Path, str] | None = None
    if dockerfile:
        candidate = Path(dockerfile)
        if not candidate.is_absolute():
            candidate = Path.cwd() / candidate
        try:
            name = str(candidate.resolve().relative_to(path.resolve()))
        except ValueError:
            name = f".dockerfile.{secrets.token_hex(10)}"
            extra = (candidate, name)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who sends and closes it
    with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative in context_paths(path, {name or "Dockerfile", ".dockerignore"}):
            tar.add(path / relative, arcname=str(relative), recursive=False)
        if extra:
            tar.add(extra[0], arcname=extra[1], recursive=False)
    spool.seek(0)
    return spool, name


def _stdin_context() -> IO[bytes]:
    data = sys.stdin.buffer.read()
    if tarfile.is_tarfile(io.BytesIO(data)) or data[:2] == b"\x1f\x8b":
        return io.BytesIO(data)
    buf = io.BytesIO()  # a Dockerfile alone on stdin: a context with only it
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    while chunk := f.read(1 << 16):
        yield chunk


def build(
    path: Annotated[str, typer.Argument(metavar="PATH | URL | -")],
    tag: Annotated[list[str] | None, typer.Option("-t", "--tag", help="Name and optionally a tag")] = None,
    file: Annotated[str | None, typer.Option("-f", "--file", help="Name of the Dockerfile")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use cache")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print only the image ID")] = False,
    build_arg: Annotated[list[str] | None, typer.Option("--build-arg", help="Build-time variables")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", help="Image metadata")] = None,
    rm: Annotated[bool, typer.Option("--rm/--no-rm", help="Remove intermediate containers")] = True,
    force_rm: Annotated[
        bool, typer.Option("--force-rm", help="Always remove intermediate containers")
    ] = False,
    target: Annotated[str | None, typer.Option("--target", help="Build stage to stop at")] = None,
) -> None:
    """Build an image from a Dockerfile."""
    buildargs: dict[str, str | None] = {}
    for item in build_arg or []:
        key, eq, value = item.partition("=")
        buildargs[key] = value if eq else None
    labels = dict(item.partition("=")[::2] for item in label or [])
    remote = path if path.startswith(("http://", "https://", "git://", "git@")) else None
    context: IO[bytes] | None = None
    if remote:  # the engine clones or downloads it
        dockerfile = file
    elif path == "-":
        context = _stdin_context()
        dockerfile = file
    else:
        root = Path(path)
        if not root.is_dir():
            fail(f'unable to prepare context: path "{path}" not found')
        context, dockerfile = _context_tar(root, file)
    size = context.seek(0, 2) if context else 0
    if context:
        context.seek(0)
    if not quiet and context:
        out(f"Sending build context to Docker daemon  {human_size(size)}")
        out()
    try:
        image_id = ""
        messages = client().image_build(
            _chunks(context) if context else None,
            remote=remote,
            tags=tag or [],
            dockerfile=dockerfile,
            nocache=no_cache,
            quiet=quiet,
            rm=rm,
            forcerm=force_rm,
            buildargs=buildargs,
            labels=labels,
            target=target,
        )
        for message in messages:
            stream = message.get("stream")
            if isinstance(stream, str):
                if quiet:
                    image_id = stream.strip() or image_id
                else:
                    sys.stdout.write(stream)
                    sys.stdout.flush()
        if quiet and image_id:
            out(image_id)
    except ClientError as error:
        fail_client(error)


def history(
    image: str,
    no_trunc: Annotated[bool, typer.Option("--no-trunc", help="Don't truncate output")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only show image IDs")] = False,
) -> None:
    """Show the history of an image."""
    try:
        entries = client().image_history(image)
    except ClientError as error:
        fail_client(error)
    ids = [str(e["Id"]) if e["Id"] == "<missing>" or no_trunc else truncate_id(str(e["Id"])) for e in entries]
    if quiet:
        out("".join(f"{i}\n" for i in ids), end="")
        return
    rows = [["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]]
    for image_id, entry in zip(ids, entries, strict=True):
        created_by = str(entry.get("CreatedBy") or "").replace("\t", " ")
        if not no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        rows.append(
            [
                image_id,
                time_ago(float(entry.get("Created") or 0)),
                created_by,
                human_size(int(entry.get("Size") or 0)),
                str(entry.get("Comment") or ""),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        out("   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "   " + row[4])


def image_prune(
    all: Annotated[bool, typer.Option("-a", "--all", help="Remove all unused images")] = False,
    force: Annotated[bool, typer.Option("-f", "--force", help="Do not prompt for confirmation")] = False,
) -> None:
    """Remove unused images."""
    if not force and is_terminal(0):
        what = (
            "all images without at least one container associated to them" if all else "all dangling images"
        )
        err(f"WARNING! This will remove {what}.\nAre you sure you want to continue? [y/N] ", end="")
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return
    try:
        result = client().image_prune(all=all)
    except ClientError as error:
        fail_client(error)
    deleted = result.get("ImagesDeleted") or []
    if deleted:
        out("Deleted Images:")
        for entry in deleted:
            for key, value in entry.items():
                out(f"{'untagged' if key == 'Untagged' else 'deleted'}: {value}")
        out()
    out(f"Total reclaimed space: {human_size(int(result.get('SpaceReclaimed') or 0))}")


def register(app: typer.Typer) -> None:
    app.command("build")(build)
    app.command("history")(history)
