"""Paths resolved inside a root (a build context, a container rootfs) that can never leave it.

``scoped(root, path)`` follows symlinks the way the container would see them, with absolute
targets taken relative to ``root`` and ``..`` stopping at ``root`` (moby's
FollowSymlinkInScope). ``inside_context`` is stricter, for build-context sources: a ``..``
or a symlink that leaves the context is an error, as ``docker build`` reports it.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from wharf_common.errors import InvalidArgument

MAX_LINKS = 255


class OutsideContext(InvalidArgument):
    def __init__(self, path: str) -> None:
        super().__init__(f"forbidden path outside the build context: {path} ()")


def scoped(root: Path, path: str) -> Path:
    """``path`` inside ``root``, every symlink on the way resolved within ``root``."""
    parts = list(PurePosixPath("/", path).parts[1:])
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        if candidate.is_symlink():
            links += 1
            if links > MAX_LINKS:
                raise InvalidArgument(f"too many links resolving {path}")
            target = str(candidate.readlink())
            if target.startswith("/"):
                resolved = []
            parts = list(PurePosixPath(target).parts[1 if target.startswith("/") else 0 :]) + parts
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


def inside_context(context: Path, path: str) -> Path:
    """A source path in the build context; refuses ``..`` escapes and symlinks out of it."""
    cleaned = os.path.normpath("/" + path.lstrip("/")) if path.startswith("/") else os.path.normpath(path)
    if cleaned == ".." or cleaned.startswith("../"):
        raise OutsideContext(path)
    candidate = context / cleaned.lstrip("/")
    real = Path(os.path.realpath(candidate))
    if real != context.resolve() and not real.is_relative_to(context.resolve()):
        raise OutsideContext(path)
    return candidate
