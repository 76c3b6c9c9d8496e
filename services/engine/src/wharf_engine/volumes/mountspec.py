"""``HostConfig.Mounts`` (``docker run --mount``): each entry checked as Docker checks it, with
Docker's messages (``invalid mount config for type "bind": ...``)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidMount

TYPES = ("bind", "volume", "tmpfs")
PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
OPTION_FIELDS = {"bind": "BindOptions", "volume": "VolumeOptions", "tmpfs": "TmpfsOptions"}


@dataclass(frozen=True, slots=True)
class MountSpec:
    type: str
    target: str
    source: str = ""  # host path (bind), volume name ("" for anonymous), "" for tmpfs
    read_only: bool = False
    propagation: str = ""  # bind: as given ("" reads as rprivate)
    subpath: str = ""  # volume: the part of the volume that is mounted
    no_copy: bool = False  # volume: no copy of the image's content into a new volume
    labels: dict[str, str] = field(default_factory=dict)  # volume: for a volume this creates
    tmpfs_size: int = 0
    tmpfs_mode: int = 0


def _fail(kind: str, message: str) -> InvalidMount:
    return InvalidMount(f'invalid mount config for type "{kind}": {message}')


def _absolute(kind: str, path: str) -> str:
    if "\0" in path:
        raise _fail(kind, "invalid mount path: it contains a NUL byte")
    if not path.startswith("/"):
        raise _fail(kind, f"invalid mount path: '{path}' mount path must be absolute")
    return posixpath.normpath(path)


def parse(mount: Any) -> MountSpec:
    if not isinstance(mount, dict):
        raise InvalidMount("invalid mount config: each of HostConfig.Mounts must be an object")
    kind = str(mount.get("Type") or "")
    if kind not in TYPES:
        raise _fail(kind, "mount type unknown")
    for other, name in OPTION_FIELDS.items():
        if other != kind and mount.get(name):
            raise _fail(kind, f"field {name} must not be specified")
    target = str(mount.get("Target") or "")
    if not target:
        raise _fail(kind, "field Target must not be empty")
    target = _absolute(kind, target)
    if target == "/":
        raise _fail(kind, "invalid specification: destination can't be '/'")
    source = str(mount.get("Source") or "")
    read_only = bool(mount.get("ReadOnly"))
    if kind == "bind":
        return _bind(mount, source, target, read_only)
    if kind == "volume":
        return _volume(mount, source, target, read_only)
    if source:
        raise _fail(kind, "field Source must not be specified")
    options = mount.get("TmpfsOptions") or {}
    size, mode = int(options.get("SizeBytes") or 0), int(options.get("Mode") or 0)
    if size < 0:
        raise _fail(kind, "invalid tmpfs size: it cannot be negative")
    if mode & ~0o7777:
        raise _fail(kind, f"invalid tmpfs mode {mode:o}")
    if options.get("Options"):
        raise _fail(kind, "TmpfsOptions.Options is not supported by this engine: use SizeBytes and Mode")
    return MountSpec("tmpfs", target, read_only=read_only, tmpfs_size=size, tmpfs_mode=mode)


def _bind(mount: dict[str, Any], source: str, target: str, read_only: bool) -> MountSpec:
    if not source:
        raise _fail("bind", "field Source must not be empty")
    source = _absolute("bind", source)
    options = mount.get("BindOptions") or {}
    propagation = str(options.get("Propagation") or "")
    if propagation and propagation not in PROPAGATIONS:
        raise _fail("bind", f"invalid propagation mode: {propagation}")
    for unsupported in ("NonRecursive", "ReadOnlyNonRecursive", "ReadOnlyForceRecursive"):
        if options.get(unsupported):
            raise _fail("bind", f"BindOptions.{unsupported} is not supported by this engine")
    if not Path(source).exists() and not options.get("CreateMountpoint"):
        raise _fail("bind", f"bind source path does not exist: {source}")
    return MountSpec("bind", target, source, read_only, propagation=propagation)


def _volume(mount: dict[str, Any], source: str, target: str, read_only: bool) -> MountSpec:
    options = mount.get("VolumeOptions") or {}
    driver = (options.get("DriverConfig") or {}).get("Name") or ""
    if driver not in ("", "local") or (options.get("DriverConfig") or {}).get("Options"):
        raise _fail(
            "volume", "VolumeOptions.DriverConfig: this engine has only the local driver, without options"
        )
    subpath = str(options.get("Subpath") or "")
    if "\0" in subpath:
        raise _fail("volume", "invalid subpath: it contains a NUL byte")
    if subpath and (subpath.startswith("/") or ".." in subpath.split("/")):
        raise _fail("volume", f"invalid subpath {subpath!r}: it must be relative and can't contain '..'")
    labels = {str(k): str(v) for k, v in (options.get("Labels") or {}).items()}
    subpath = posixpath.normpath(subpath) if subpath else ""
    no_copy = bool(options.get("NoCopy"))
    return MountSpec("volume", target, source, read_only, subpath=subpath, no_copy=no_copy, labels=labels)


def parse_all(mounts: Any) -> list[MountSpec]:
    if mounts is None:
        return []
    if not isinstance(mounts, list):
        raise InvalidMount("invalid mount config: HostConfig.Mounts must be a list")
    specs = [parse(m) for m in mounts]
    seen: set[str] = set()
    for spec in specs:
        if spec.target in seen:
            raise InvalidMount(f"Duplicate mount point: {spec.target}")
        seen.add(spec.target)
    return specs


def by_target(mounts: Any) -> dict[str, MountSpec]:
    """A created container's (already checked) Mounts, by their target."""
    return {spec.target: spec for spec in parse_all(mounts)}
