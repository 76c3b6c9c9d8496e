"""``wharf run`` flags for healthchecks, groups and devices, turned into create-body fields as the
docker CLI turns them (``--health-*`` → ``Config.Healthcheck``, ``--device`` → ``HostConfig.Devices``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .containerspec import SpecError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
          "h": 3_600_000_000_000}  # fmt: skip


def parse_duration(value: str, flag: str) -> int:
    """Go's ``time.ParseDuration`` (``1m30s``, ``500ms``, ``0``) in nanoseconds."""
    if value == "0":
        return 0
    pos, total = 0, 0.0
    for found in _DURATION.finditer(value):
        if found.start() != pos:
            break
        total += float(found[1]) * _UNITS[found[2]]
        pos = found.end()
    if pos != len(value) or not value:
        raise SpecError(f'invalid argument "{value}" for "{flag}" flag: time: invalid duration "{value}"')
    return int(total)


@dataclass(slots=True)
class HealthFlags:
    cmd: str | None = None
    interval: str | None = None
    timeout: str | None = None
    retries: int | None = None
    start_period: str | None = None
    start_interval: str | None = None
    none: bool = False

    def healthcheck(self) -> dict[str, Any] | None:
        timing = {
            "Interval": (self.interval, "--health-interval"),
            "Timeout": (self.timeout, "--health-timeout"),
            "StartPeriod": (self.start_period, "--health-start-period"),
            "StartInterval": (self.start_interval, "--health-start-interval"),
        }
        given = self.cmd is not None or self.retries is not None or any(v for v, _ in timing.values())
        if self.none:
            if given:
                raise SpecError("--no-healthcheck conflicts with --health-* options")
            return {"Test": ["NONE"]}
        if not given:
            return None
        check: dict[str, Any] = {"Test": ["CMD-SHELL", self.cmd] if self.cmd else []}
        for key, (value, flag) in timing.items():
            nanos = parse_duration(value, flag) if value else 0
            if nanos < 0:
                raise SpecError(f"{flag} cannot be negative")
            check[key] = nanos
        if self.retries is not None and self.retries < 0:
            raise SpecError("--health-retries cannot be negative")
        check["Retries"] = self.retries or 0
        return check


@dataclass(slots=True)
class HostFlags:
    group_add: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)

    def host_config(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.group_add:
            out["GroupAdd"] = list(self.group_add)
        if self.devices:
            out["Devices"] = [parse_device(d) for d in self.devices]
        return out


def parse_device(value: str) -> dict[str, str]:
    """``/dev/host[:/dev/container][:rwm]``, as ``docker run --device``."""
    parts = value.split(":")
    if not parts[0] or len(parts) > 3:
        raise SpecError(f"invalid device specification: {value}")
    host, inside, permissions = parts[0], parts[0], "rwm"
    if len(parts) == 2:
        if parts[1] and set(parts[1]) <= set("rwm"):
            permissions = parts[1]
        else:
            inside = parts[1]
    elif len(parts) == 3:
        inside, permissions = parts[1], parts[2]
    if not permissions or set(permissions) - set("rwm"):
        raise SpecError(f"invalid device mode: {permissions}")
    return {"PathOnHost": host, "PathInContainer": inside, "CgroupPermissions": permissions}
