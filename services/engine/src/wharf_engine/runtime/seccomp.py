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


GOARCH = {"x86_64": "amd64", "aarch64": "arm64"}
ACTIONS = {
    "SCMP_ACT_" + name
    for name in ("KILL", "KILL_PROCESS", "KILL_THREAD", "TRAP", "ERRNO", "TRACE", "ALLOW", "LOG", "NOTIFY")
}


def _kernel() -> tuple[int, ...]:
    release = platform.release().split("-")[0]
    return tuple(int(p) for p in release.split(".")[:2] if p.isdigit())


def _docker_applies(call: dict[str, Any], caps: set[str], arch: str) -> bool:
    includes, excludes = call.get("includes") or {}, call.get("excludes") or {}
    if includes.get("caps") and not set(includes["caps"]) <= caps:
        return False
    if includes.get("arches") and arch not in includes["arches"]:
        return False
    min_kernel = str(includes.get("minKernel") or "")
    if min_kernel and _kernel() < tuple(int(p) for p in min_kernel.split(".")[:2]):
        return False
    if set(excludes.get("caps") or ()) & caps:
        return False
    return arch not in (excludes.get("arches") or ())


def docker_profile(text: str, caps: list[str], machine: str | None = None) -> dict[str, Any]:
    """A profile in Docker's format (``--security-opt seccomp=profile.json``), for ``caps``.

    The client sends the file's content; its includes/excludes (caps, arches, minKernel) and
    archMap are applied here as Docker's daemon does. ValueError says what is wrong.
    """
    profile = json.loads(text)
    if not isinstance(profile, dict) or profile.get("defaultAction") not in ACTIONS:
        raise ValueError("a profile needs a defaultAction such as SCMP_ACT_ERRNO")
    machine = machine or platform.machine()
    arch = GOARCH.get(machine, machine)
    out: dict[str, Any] = {"defaultAction": profile["defaultAction"]}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = int(profile["defaultErrnoRet"])
    native = _profile()["architectures"].get(machine, [])
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") in native[:1]:
            out["architectures"] = [entry["architecture"], *(entry.get("subArchitectures") or [])]
    if "architectures" not in out:
        out["architectures"] = list(profile.get("architectures") or native)
    out["syscalls"] = []
    for call in profile.get("syscalls") or []:
        names = call.get("names") or ([call["name"]] if call.get("name") else [])
        if not names or call.get("action") not in ACTIONS:
            raise ValueError(f"each syscalls entry needs names and a valid action: {call!r}"[:200])
        if not _docker_applies(call, set(caps), arch):
            continue
        entry = {"names": list(names), "action": call["action"]}
        for key in ("errnoRet", "args"):
            if call.get(key) is not None:
                entry[key] = call[key]
        out["syscalls"].append(entry)
    return out
