"""The default seccomp profile, built for one container from its capabilities and this machine.

The rules are data (``seccomp_default.json``, beside this module): Docker's default profile, where a
rule may depend on the capabilities the container holds (CAP_SYS_ADMIN opens mount, unshare,
setns and namespace flags on clone; CAP_SYS_PTRACE opens ptrace...) and on the architecture.
"""

from __future__ import annotations

import functools
import json
import platform
from pathlib import Path
from typing import Any

PROFILE = Path(__file__).with_name("seccomp_default.json")


@functools.cache
def _profile() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PROFILE.read_text())
    return data


def _applies(rule: dict[str, Any], caps: set[str], machine: str) -> bool:
    if not set(rule.get("caps", ())) <= caps:
        return False
    if set(rule.get("without_caps", ())) & caps:
        return False
    arches = rule.get("arches")
    return arches is None or machine in arches


def default_profile(caps: list[str], machine: str | None = None) -> dict[str, Any]:
    """The OCI ``linux.seccomp`` object for a container holding ``caps`` (its bounding set)."""
    profile = _profile()
    machine = machine or platform.machine()
    held = set(caps)
    syscalls = []
    for rule in profile["rules"]:
        if not _applies(rule, held, machine):
            continue
        entry: dict[str, Any] = {"names": list(rule["names"])}
        if rule.get("action") == "errno":
            entry["action"] = "SCMP_ACT_ERRNO"
            entry["errnoRet"] = int(rule["errno"])
        else:
            entry["action"] = "SCMP_ACT_ALLOW"
        if rule.get("args"):
            entry["args"] = [{"valueTwo": 0, **arg} for arg in rule["args"]]
        syscalls.append(entry)
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": int(profile["default_errno"]),
        "architectures": list(profile["architectures"].get(machine, [])),
        "syscalls": syscalls,
    }
