"""``HostConfig.Devices`` (``--device /dev/x[:/dev/y[:rwm]]``): the node made in the container
and allowed, with those permissions only, in its devices cgroup."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wharf_common.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class Device:
    path: str  # in the container
    kind: str  # "c" or "b"
    major: int
    minor: int
    mode: int
    uid: int
    gid: int
    permissions: str


def _one(entry: Any) -> Device:
    if not isinstance(entry, dict):
        raise InvalidArgument("HostConfig.Devices: each device must be an object")
    host = str(entry.get("PathOnHost") or "")
    inside = str(entry.get("PathInContainer") or host)
    permissions = str(entry.get("CgroupPermissions") or "rwm")
    if not host:
        raise InvalidArgument("HostConfig.Devices: PathOnHost must not be empty")
    if "\0" in host or "\0" in inside:
        raise InvalidArgument("HostConfig.Devices: a path contains a NUL byte")
    if not inside.startswith("/"):
        raise InvalidArgument(f"HostConfig.Devices: {inside} is not an absolute path")
    if not permissions or set(permissions) - set("rwm") or len(set(permissions)) != len(permissions):
        raise InvalidArgument(
            f"HostConfig.Devices: invalid device cgroup permissions {permissions!r} for {host}"
        )
    try:
        info = Path(host).stat()
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise InvalidArgument(
            f'error gathering device information while adding custom device "{host}": {reason}'
        ) from None
    if stat.S_ISCHR(info.st_mode):
        kind = "c"
    elif stat.S_ISBLK(info.st_mode):
        kind = "b"
    else:
        raise InvalidArgument(
            f'error gathering device information while adding custom device "{host}": not a device node'
        )
    return Device(
        inside,
        kind,
        os.major(info.st_rdev),
        os.minor(info.st_rdev),
        stat.S_IMODE(info.st_mode),
        info.st_uid,
        info.st_gid,
        permissions,
    )


def devices(host_config: Mapping[str, Any]) -> list[Device]:
    return [_one(entry) for entry in host_config.get("Devices") or []]


def apply(spec: dict[str, Any], host_config: Mapping[str, Any]) -> None:
    """The nodes in ``linux.devices``, and an allow rule each after the default deny."""
    found = devices(host_config)
    if not found:
        return
    linux = spec["linux"]
    linux.setdefault("devices", []).extend(
        {
            "path": d.path,
            "type": d.kind,
            "major": d.major,
            "minor": d.minor,
            "fileMode": d.mode,
            "uid": d.uid,
            "gid": d.gid,
        }
        for d in found
    )
    rules = linux["resources"].setdefault("devices", [])
    rules.extend(
        {"allow": True, "type": d.kind, "major": d.major, "minor": d.minor, "access": d.permissions}
        for d in found
    )
