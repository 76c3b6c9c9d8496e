"""``wharf run`` flags for healthchecks, groups and devices, turned into create-body fields as the
docker CLI turns them (``--health-*`` → ``Config.Healthcheck``, ``--device`` → ``HostConfig.Devices``).

The flag groups are ``NamedTuple``s rather than dataclasses, as :class:`~.containerspec.RunOptions`."""

from __future__ import annotations

from .containerspec import SpecError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, NamedTuple
else:
    from wharf_client.lean import NamedTuple

# patterns compiled (and ``re`` imported) only when a flag that needs one is given
_DURATION = r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)"
_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


def parse_duration(value: str, flag: str) -> int:
    """Go's ``time.ParseDuration`` (``1m30s``, ``500ms``, ``0``) in nanoseconds."""
    if value == "0":
        return 0
    import re

    pos, total = 0, 0.0
    for found in re.finditer(_DURATION, value):
        if found.start() != pos:
            break
        total += float(found[1]) * _UNITS[found[2]]
        pos = found.end()
    if pos != len(value) or not value:
        raise SpecError(f'invalid argument "{value}" for "{flag}" flag: time: invalid duration "{value}"')
    return int(total)


class HealthFlags(NamedTuple):
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
        # docker's HealthConfig marshals with omitempty: zero fields are left out (and inherited)
        check: dict[str, Any] = {"Test": ["CMD-SHELL", self.cmd]} if self.cmd else {}
        for key, (value, flag) in timing.items():
            nanos = parse_duration(value, flag) if value else 0
            if nanos < 0:
                raise SpecError(f"{flag} cannot be negative")
            if nanos:
                check[key] = nanos
        if self.retries is not None and self.retries < 0:
            raise SpecError("--health-retries cannot be negative")
        if self.retries:
            check["Retries"] = self.retries
        return check


class HostFlags(NamedTuple):
    """``HostConfig`` fields of the flags that map one to one (links, privileges, resources, logging)."""

    group_add: Sequence[str] = ()
    devices: Sequence[str] = ()
    links: Sequence[str] = ()
    volumes_from: Sequence[str] = ()
    publish_all: bool = False
    privileged: bool = False
    cap_add: Sequence[str] = ()
    cap_drop: Sequence[str] = ()
    security_opt: Sequence[str] = ()
    read_only: bool = False
    tmpfs: Sequence[str] = ()
    memory: str | None = None
    memory_swap: str | None = None
    shm_size: str | None = None
    cpu_shares: int | None = None
    cpus: str | None = None
    pids_limit: int | None = None
    ulimits: Sequence[str] = ()
    sysctls: Sequence[str] = ()
    log_driver: str | None = None
    log_opts: Sequence[str] = ()

    def host_config(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        lists = {
            "GroupAdd": self.group_add,
            "Links": self.links,
            "VolumesFrom": self.volumes_from,
            "CapAdd": self.cap_add,
            "CapDrop": self.cap_drop,
            "SecurityOpt": self.security_opt,
        }
        out.update({key: list(value) for key, value in lists.items() if value})
        if self.devices:
            out["Devices"] = [parse_device(d) for d in self.devices]
        flags = {
            "PublishAllPorts": self.publish_all,
            "Privileged": self.privileged,
            "ReadonlyRootfs": self.read_only,
        }
        out.update({key: True for key, value in flags.items() if value})
        if self.tmpfs:
            out["Tmpfs"] = dict(item.partition(":")[::2] for item in self.tmpfs)
        sizes = {
            "Memory": (self.memory, "--memory"),
            "MemorySwap": (self.memory_swap, "--memory-swap"),
            "ShmSize": (self.shm_size, "--shm-size"),
        }
        out.update({key: parse_bytes(value, flag) for key, (value, flag) in sizes.items() if value})
        if self.cpu_shares is not None:
            out["CpuShares"] = self.cpu_shares
        if self.cpus is not None:
            out["NanoCpus"] = parse_cpus(self.cpus)
        if self.pids_limit is not None:
            out["PidsLimit"] = self.pids_limit
        if self.ulimits:
            out["Ulimits"] = [parse_ulimit(u) for u in self.ulimits]
        if self.sysctls:
            out["Sysctls"] = dict(parse_pair(item, "--sysctl") for item in self.sysctls)
        if self.log_driver or self.log_opts:
            options = dict(parse_pair(item, "--log-opt") for item in self.log_opts)
            out["LogConfig"] = {"Type": self.log_driver or "", "Config": options}
        return out


_BYTES = r"(?i)^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$"


def parse_bytes(value: str, flag: str) -> int:
    """go-units ``RAMInBytes`` (``512m``, ``1g``, ``1.5GiB``: binary multiples); ``-1`` means unlimited."""
    if value == "-1":
        return -1
    import re

    found = re.match(_BYTES, value.strip())
    if not found:
        raise SpecError(f'invalid argument "{value}" for "{flag}" flag: invalid size: \'{value}\'')
    power = " kmgtp".index((found[2] or " ").lower())
    return int(float(found[1]) * 1024**power)


def parse_cpus(value: str) -> int:
    """``--cpus 1.5`` into NanoCpus."""
    try:
        cpus = float(value)
    except ValueError:
        raise SpecError(
            f'invalid argument "{value}" for "--cpus" flag: failed to parse {value} as a rational number'
        ) from None
    if cpus < 0:
        raise SpecError("Range of CPUs is from 0.01 to the number of CPUs available")
    return int(cpus * 1e9)


def parse_pair(item: str, flag: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise SpecError(f'invalid argument "{item}" for "{flag}" flag: expected key=value')
    return key, value


def parse_ulimit(value: str) -> dict[str, Any]:
    """``name=soft[:hard]`` (docker's ``units.ParseUlimit``)."""
    name, sep, limits = value.partition("=")
    soft, _, hard = limits.partition(":")
    try:
        numbers = int(soft), int(hard or soft)
    except ValueError:
        raise SpecError(f"invalid ulimit argument: {value}") from None
    if not sep or not name:
        raise SpecError(f"invalid ulimit argument: {value}")
    if numbers[0] > numbers[1]:
        raise SpecError(
            f"ulimit soft limit must be less than or equal to hard limit: {numbers[0]} > {numbers[1]}"
        )
    return {"Name": name, "Soft": numbers[0], "Hard": numbers[1]}


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
