"""The build context: a directory of the checkout, sent to the engine as a tar.

Like ``docker build DIR``: ``.dockerignore`` is honoured, the Dockerfile and ``.dockerignore`` are
always sent. Paths come from the hub's build rule, so they are checked to stay inside the checkout.
"""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import IO

from wharf_common.dockerignore import context_paths

from .errors import BuildUserError


def inside(root: Path, relative: str, what: str) -> Path:
    """``root / relative`` when that stays inside ``root`` (symlinks resolved), else a user error."""
    parts = PurePosixPath("/", relative).parts[1:]
    if ".." in parts:
        raise BuildUserError(f"{what} {relative!r} leaves the repository")
    path = root.joinpath(*parts)
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        raise BuildUserError(f"{what} {relative!r} leaves the repository") from None
    return path


def context_tar(context: Path, dockerfile: str) -> IO[bytes]:
    """A temporary file holding the tar of ``context``, positioned at its start."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - the caller sends and closes it
    with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative in context_paths(context, {dockerfile, ".dockerignore"}):
            if relative.parts[0] != ".git":
                tar.add(context / relative, arcname=str(relative), recursive=False)
    spool.seek(0)
    return spool


__all__ = ["context_tar", "inside"]
