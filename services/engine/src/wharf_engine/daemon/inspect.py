"""ContainerInspect, ContainerList and SystemInfo: Docker's JSON shapes."""

from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wharf_common.errors import InvalidArgument
from wharf_common.humanize import human_duration

from wharf_engine.containers import health
from wharf_engine.containers.container import ZERO_TIME, Container
from wharf_engine.distribution import INDEX_SERVER_ADDRESS
from wharf_engine.logs.jsonfile import parse_time
from wharf_engine.settings import API_VERSION, ENGINE_VERSION
from wharf_engine.shapes import ContainerInspect, ContainerSummary, HostConfig

from . import network, userns

if TYPE_CHECKING:
    from .daemon import Daemon


def dir_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += Path(dirpath, f).lstat().st_size
            except OSError:
                continue
    return total


def image_size(daemon: Daemon, image_id: str) -> int:
    diff_ids = daemon.images.get(image_id).get("rootfs", {}).get("diff_ids", [])
    return sum(daemon.layers.get(d).size for d in diff_ids if daemon.layers.has(d))


def status_text(container: Container) -> str:
    state = container.state
    if state.status == "running":
        up = "Up " + human_duration(time.time() - parse_time(state.started_at))
        return up + health.status_suffix(state.health)
    if state.status == "paused":
        return "Up " + human_duration(time.time() - parse_time(state.started_at)) + " (Paused)"
    if state.status == "restarting":
        ago = (
            human_duration(time.time() - parse_time(state.finished_at))
            if state.finished_at != ZERO_TIME
            else ""
        )
        return f"Restarting ({state.exit_code}) {ago} ago"
    if state.status == "removing":
        return "Removal In Progress"
    if state.status == "dead":
        return "Dead"
    if state.status == "exited" and state.finished_at != ZERO_TIME:
        ago = human_duration(time.time() - parse_time(state.finished_at))
        return f"Exited ({state.exit_code}) {ago} ago"
    return "Created"


def _host_config(container: Container) -> HostConfig:
    """The HostConfig as given, its ``Links`` in Docker's ``/name:/container/alias`` form."""
    links = container.host_config.get("Links")
    if not links:
        return container.host_config
    shown = []
    for spec in links:
        name, _, alias = str(spec).partition(":")
        name = "/" + name.lstrip("/")
        alias = (alias or name).rsplit("/", 1)[-1]
        shown.append(f"{name}:/{container.name}/{alias}")
    return {**container.host_config, "Links": shown}


def container_inspect(daemon: Daemon, container: Container, *, size: bool = False) -> ContainerInspect:
    fs = container.dir / "fs"
    diff_ids = daemon.images.get(container.image_id).get("rootfs", {}).get("diff_ids", [])
    lowers = ":".join(str(daemon.layers.get(d).path) for d in reversed(diff_ids) if daemon.layers.has(d))
    data: ContainerInspect = {
        "Id": container.id,
        "Created": container.created,
        "Path": container.path,
        "Args": container.args,
        "State": container.state.to_api(),
        "Image": container.image_id,
        "ResolvConfPath": str(container.dir / "resolv.conf"),
        "HostnamePath": str(container.dir / "hostname"),
        "HostsPath": str(container.dir / "hosts"),
        "LogPath": str(container.log_path),
        "Name": "/" + container.name,
        "RestartCount": container.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": _host_config(container),
        "GraphDriver": {
            "Name": "overlay2",
            "Data": {
                "LowerDir": lowers,
                "UpperDir": str(fs / "upper"),
                "WorkDir": str(fs / "work"),
                "MergedDir": str(fs / "merged"),
            },
        },
        "Mounts": container.mounts,
        "Config": container.config,
        "NetworkSettings": network.settings(daemon, container),
    }
    if size:
        data["SizeRw"] = dir_size(fs / "upper")
        data["SizeRootFs"] = data["SizeRw"] + image_size(daemon, container.image_id)
    return data


def _name_pattern(value: str) -> re.Pattern[str]:
    """``name=`` is a regular expression, as in Docker; a broken one is a 400, not a re.error."""
    try:
        return re.compile(value.removeprefix("/"))
    except re.error as exc:
        raise InvalidArgument(f"invalid filter 'name={value}': {exc}") from None


def _matches(container: Container, filters: dict[str, list[str]]) -> bool:
    for key, values in filters.items():
        if not values:
            continue
        if key == "status" and container.state.status not in values:
            return False
        if key == "name" and not any(_name_pattern(v).search(container.name) for v in values):
            return False
        if key == "id" and not any(container.id.startswith(v) for v in values):
            return False
        if key == "health" and (container.state.health or {}).get("Status", "none") not in values:
            return False
        if key == "exited" and (
            container.state.status != "exited" or str(container.state.exit_code) not in values
        ):
            return False
        if key == "label":
            labels = container.config.get("Labels") or {}
            for v in values:
                k, eq, val = v.partition("=")
                if k not in labels or (eq and labels[k] != val):
                    return False
        if key == "ancestor" and not any(
            v in (container.config.get("Image"), container.image_id)
            or container.image_id.startswith("sha256:" + v)
            for v in values
        ):
            return False
    return True


def container_list(
    daemon: Daemon, *, all: bool, limit: int, size: bool, filters: dict[str, list[str]]
) -> list[ContainerSummary]:
    containers = sorted(daemon.containers.all(), key=lambda c: c.created, reverse=True)
    if not all and limit <= 0 and "status" not in filters:
        containers = [c for c in containers if c.state.running]
    containers = [c for c in containers if _matches(c, filters)]
    if filters.get("network"):  # ``docker ps --filter network=NAME|ID``
        containers = [c for c in containers if network.on_any(daemon, c, filters["network"])]
    if limit > 0:
        containers = containers[:limit]
    out = []
    for c in containers:
        entry: ContainerSummary = {
            "Id": c.id,
            "Names": ["/" + c.name],
            "Image": c.config.get("Image"),
            "ImageID": c.image_id,
            "Command": " ".join([c.path, *c.args]),
            "Created": int(parse_time(c.created)),
            "Ports": network.list_ports(c),
            "Labels": c.config.get("Labels") or {},
            "State": c.state.status,
            "Status": status_text(c),
            "HostConfig": {"NetworkMode": c.host_config.get("NetworkMode") or "none"},
            "NetworkSettings": {"Networks": network.settings(daemon, c)["Networks"]},
            "Mounts": c.mounts,
        }
        if size:
            entry["SizeRw"] = dir_size(c.dir / "fs" / "upper")
            entry["SizeRootFs"] = entry["SizeRw"] + image_size(daemon, c.image_id)
        out.append(entry)
    return out


def system_info(daemon: Daemon) -> dict[str, Any]:
    containers = daemon.containers.all()
    running = sum(1 for c in containers if c.state.status == "running")
    paused = sum(1 for c in containers if c.state.status == "paused")
    mem = next(
        (int(line.split()[1]) * 1024 for line in _lines("/proc/meminfo") if line.startswith("MemTotal:")), 0
    )
    uname = platform.uname()
    return {
        "ID": daemon.id,
        "Containers": len(containers),
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": len(containers) - running - paused,
        "Images": len(daemon.images.ids()),
        "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
        "DockerRootDir": str(daemon.root),
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Log": ["json-file"]},
        "MemoryLimit": True,
        "SwapLimit": False,
        "CpuCfsPeriod": True,
        "CpuCfsQuota": True,
        "CPUShares": True,
        "CPUSet": True,
        "PidsLimit": True,
        "IPv4Forwarding": False,
        "Debug": False,
        "NFd": sum(1 for _ in Path("/proc/self/fd").iterdir()),
        "NGoroutines": 0,
        "SystemTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": "1",
        "NEventsListener": len(daemon.events.subscribers),
        "KernelVersion": uname.release,
        "OperatingSystem": "wharf engine on " + _os_name(),
        "OSVersion": "",
        "OSType": "linux",
        "Architecture": uname.machine,
        "IndexServerAddress": INDEX_SERVER_ADDRESS,  # the key clients keep the default index's login under
        "RegistryConfig": daemon.registries.registry_config(),
        "NCPU": daemon.ncpu(),
        "MemTotal": mem,
        "Name": daemon.hostname,
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": ENGINE_VERSION,
        "Runtimes": {daemon.settings.runtime: {"path": daemon.settings.runtime}},
        "DefaultRuntime": daemon.settings.runtime,
        "Swarm": {"LocalNodeState": "inactive", "NodeID": "", "NodeAddr": "", "ControlAvailable": False},
        "LiveRestoreEnabled": True,
        "Isolation": "",
        "InitBinary": "",
        "SecurityOptions": userns.security_options(daemon),
        "Warnings": [],
        "ApiVersion": API_VERSION,
    }


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def _os_name() -> str:
    for line in _lines("/etc/os-release"):
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return "Linux"
