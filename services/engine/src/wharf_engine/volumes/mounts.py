"""Parse ``-v`` binds (Docker's syntax) into mount points; the daemon resolves and mounts them."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from .errors import InvalidMount, InvalidVolumeName

MODES = {"ro", "rw", "z", "Z", "nocopy", "private", "rprivate", "shared", "rshared", "slave", "rslave"}


@dataclass(frozen=True, slots=True)
class BindSpec:
    source: str  # absolute host path, or a volume name, or "" for an anonymous volume
    destination: str
    read_only: bool
    is_volume: bool


def parse_bind(spec: str) -> BindSpec:
    """``/host:/ctr[:ro]``, ``name:/ctr[:ro]`` or ``/ctr`` (anonymous), as the Docker daemon reads them."""
    parts = spec.split(":")
    if len(parts) == 1:
        return BindSpec("", _destination(parts[0], spec), False, True)
    if len(parts) > 3 or not parts[0] or not parts[1]:
        raise InvalidMount(f"invalid volume specification: '{spec}'")
    source, destination = parts[0], _destination(parts[1], spec)
    modes = set(parts[2].split(",")) if len(parts) == 3 else set()
    if not modes <= MODES or {"ro", "rw"} <= modes:
        raise InvalidMount(f"invalid mode: {parts[2]}")
    if source.startswith("/"):
        return BindSpec(posixpath.normpath(source), destination, "ro" in modes, False)
    if source.startswith(".") or "/" in source:
        raise InvalidVolumeName(source)
    return BindSpec(source, destination, "ro" in modes, True)


def _destination(path: str, spec: str) -> str:
    if not path.startswith("/"):
        raise InvalidMount(f"invalid volume specification: '{spec}': mount path '{path}' must be absolute")
    cleaned = posixpath.normpath(path)
    if cleaned == "/":
        raise InvalidMount(f"invalid volume specification: '{spec}': destination can't be '/'")
    return cleaned


def parse_volumes_from(spec: str) -> tuple[str, str | None]:
    """``container[:ro|:rw]`` → (container, mode override or None)."""
    name, _, mode = spec.partition(":")
    if mode and mode not in ("ro", "rw"):
        raise InvalidMount(f"invalid mode for volumes-from: {spec}")
    return name, mode or None
