"""HostConfig → the OCI spec's limits and security: cgroups, capabilities, seccomp, rlimits.

Only what this host allows is asked for: rlimits never above the engine's own hard limits
(no CAP_SYS_RESOURCE here), and a limit the host cannot give is refused at create with a
clear message rather than failing later inside runc.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wharf_common.errors import InvalidArgument

from .seccomp import default_profile, docker_profile
from .spec import DEFAULT_CAPS

ALL_CAPS = [  # by number, as the kernel numbers them
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
]


def host_caps() -> list[str]:
    """The capabilities the engine itself may hand out (its bounding set): this host lacks some."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            mask = int(line.split()[1], 16)
            return [cap for bit, cap in enumerate(ALL_CAPS) if mask & (1 << bit)]
    return list(DEFAULT_CAPS)


BLKIO_WEIGHT = Path("/sys/fs/cgroup/blkio/blkio.weight")
"""Present only when the host's block devices use a scheduler with weights (BFQ, CFQ)."""

RLIMITS = {
    name: getattr(resource, "RLIMIT_" + name.upper())
    for name in (
        "core",
        "cpu",
        "data",
        "fsize",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    )
}


def _cap(name: str) -> str:
    upper = name.upper()
    return upper if upper.startswith("CAP_") or upper == "ALL" else "CAP_" + upper


def capabilities(host_config: Mapping[str, Any]) -> list[str]:
    available = host_caps()
    if host_config.get("Privileged"):
        return available
    caps = [c for c in DEFAULT_CAPS if c in available]
    drop = [_cap(c) for c in host_config.get("CapDrop") or []]
    add = [_cap(c) for c in host_config.get("CapAdd") or []]
    for cap in [*drop, *add]:
        if cap != "ALL" and cap not in ALL_CAPS:
            raise InvalidArgument(f"unknown capability: {cap!r}")
        if cap in add and cap != "ALL" and cap not in available:
            raise InvalidArgument(f"capability {cap} is not available on this host (the engine lacks it)")
    if "ALL" in drop:
        caps = []
    caps = [c for c in caps if c not in drop]
    caps += available if "ALL" in add else [c for c in add if c not in caps]
    return list(dict.fromkeys(caps))


def rlimits(host_config: Mapping[str, Any], defaults: list[dict[str, Any]]) -> list[dict[str, Any]]:
    chosen = {r["type"]: r for r in defaults}
    for ulimit in host_config.get("Ulimits") or []:
        name = str(ulimit.get("Name", ""))
        if name not in RLIMITS:
            raise InvalidArgument(f"invalid ulimit type: {name}")
        soft, hard = int(ulimit.get("Soft", 0)), int(ulimit.get("Hard", 0))
        if soft > hard:
            raise InvalidArgument(
                f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
            )
        _, host_hard = resource.getrlimit(RLIMITS[name])
        if host_hard != resource.RLIM_INFINITY and hard > host_hard:
            raise InvalidArgument(
                f"ulimit {name}={soft}:{hard} is not possible here: the host's hard limit is {host_hard}"
                " and raising it needs CAP_SYS_RESOURCE"
            )
        key = "RLIMIT_" + name.upper()
        chosen[key] = {"type": key, "soft": soft, "hard": hard}
    return list(chosen.values())


def resources(host_config: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    memory = int(host_config.get("Memory") or 0)
    if memory:
        if memory < 6 * 1024 * 1024:
            raise InvalidArgument("Minimum memory limit allowed is 6MB")
        swap = int(host_config.get("MemorySwap") or 0)
        out["memory"] = {"limit": memory, "swap": memory * 2 if swap == 0 else swap}
    cpu: dict[str, Any] = {}
    if host_config.get("CpuShares"):
        cpu["shares"] = int(host_config["CpuShares"])
    if host_config.get("CpusetCpus"):
        cpus = str(host_config["CpusetCpus"])
        available = os.cpu_count() or 1
        for part in cpus.replace("-", ",").split(","):
            if not (part.isascii() and part.isdigit()) or int(part) >= available:
                raise InvalidArgument(
                    f"Requested CPUs are not available - requested {cpus}, available: 0-{available - 1}"
                )
        cpu["cpus"] = cpus
    if host_config.get("NanoCpus"):
        cpu["period"] = 100000
        cpu["quota"] = int(host_config["NanoCpus"]) * 100000 // 1_000_000_000
    elif host_config.get("CpuQuota"):
        cpu["quota"] = int(host_config["CpuQuota"])
        cpu["period"] = int(host_config.get("CpuPeriod") or 100000)
    if cpu:
        out["cpu"] = cpu
    pids = int(host_config.get("PidsLimit") or 0)
    if pids > 0:
        out["pids"] = {"limit": pids}
    weight = int(host_config.get("BlkioWeight") or 0)
    if weight:
        if not 10 <= weight <= 1000:
            raise InvalidArgument("Range of blkio weight is from 10 to 1000")
        if not BLKIO_WEIGHT.exists():
            raise InvalidArgument(
                "BlkioWeight is not possible here: this host's blkio cgroup has no weight control"
                f" ({BLKIO_WEIGHT} is missing: it needs the BFQ I/O scheduler)"
            )
        out["blockIO"] = {"weight": weight}
    return out


def seccomp_profile(host_config: Mapping[str, Any], caps: list[str]) -> dict[str, Any] | None:
    """The filter for ``caps``: Docker's default, a profile sent with ``seccomp=<json>``, or None
    for ``seccomp=unconfined``."""
    value = "builtin"
    for opt in host_config.get("SecurityOpt") or []:
        if str(opt).startswith(("seccomp=", "seccomp:")):
            value = str(opt)[len("seccomp=") :]
    if value == "unconfined":
        return None
    if value == "builtin":
        return default_profile(caps)
    try:
        return docker_profile(value, caps)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidArgument(f"invalid seccomp profile: {exc}") from None


def validate(host_config: Mapping[str, Any]) -> None:
    """At create: every limit and option this host can honour, or a clear 400."""
    capabilities(host_config)
    rlimits(host_config, [])
    resources(host_config)
    for opt in host_config.get("SecurityOpt") or []:
        key = str(opt).split("=")[0].split(":")[0]
        if key not in ("no-new-privileges", "seccomp", "label", "apparmor"):
            raise InvalidArgument(f"invalid --security-opt: {opt!r}")
    seccomp_profile(host_config, [])


def process_privileges(host_config: Mapping[str, Any], *, privileged: bool = False) -> dict[str, Any]:
    """A process's ``capabilities`` and ``noNewPrivileges`` as the container's HostConfig gives them.

    Used for the container's own process and for every process started in it later (an exec, a
    health probe): Docker's exec takes the container's process spec, so ``--cap-add``, ``--cap-drop``,
    ``--privileged`` and ``no-new-privileges`` hold there too; ``privileged`` (an exec's own
    ``--privileged``) gives every capability the engine has."""
    caps = host_caps() if privileged else capabilities(host_config)
    options = {str(o) for o in host_config.get("SecurityOpt") or []}
    no_new = bool(options & {"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"})
    return {
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": no_new,
    }


def apply(spec: dict[str, Any], host_config: Mapping[str, Any]) -> None:
    """Mutate a built spec with the container's HostConfig."""
    process, linux = spec["process"], spec["linux"]
    process.update(process_privileges(host_config))
    caps = process["capabilities"]["bounding"]
    process["rlimits"] = rlimits(host_config, process.get("rlimits") or [])
    linux["resources"].update(resources(host_config))
    spec["root"]["readonly"] = bool(host_config.get("ReadonlyRootfs"))
    if host_config.get("Privileged"):
        linux["resources"]["devices"] = [{"allow": True, "access": "rwm"}]
        linux.pop("maskedPaths", None)
        linux.pop("readonlyPaths", None)
        for mount in spec["mounts"]:
            if mount["destination"] in ("/sys", "/sys/fs/cgroup"):
                mount["options"] = [o for o in mount["options"] if o != "ro"]
        return
    profile = seccomp_profile(host_config, caps)
    if profile is not None:
        linux["seccomp"] = profile
