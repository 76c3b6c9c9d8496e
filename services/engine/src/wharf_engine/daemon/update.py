"""ContainerUpdate: new resource limits and restart policy, applied to a live container (``runc
update``), kept in its HostConfig and so in every later start and inspect."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import structlog
from wharf_common.errors import Conflict, InvalidArgument

from wharf_engine.runtime import security
from wharf_engine.runtime.errors import RuntimeFailure
from wharf_engine.shapes import HostConfig

from . import restart_policy

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)

RESOURCES = (
    "BlkioWeight",
    "CpuShares",
    "CpuPeriod",
    "CpuQuota",
    "NanoCpus",
    "CpusetCpus",
    "Memory",
    "MemorySwap",
    "PidsLimit",
)
"""The fields ``docker update`` may change; a zero (or empty) value leaves the setting as it is."""

UNSUPPORTED = (
    "CpuRealtimePeriod",
    "CpuRealtimeRuntime",
    "CpusetMems",
    "MemoryReservation",
    "KernelMemory",
    "KernelMemoryTCP",
    "BlkioWeightDevice",
    "BlkioDeviceReadBps",
    "BlkioDeviceWriteBps",
    "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps",
    "DeviceCgroupRules",
    "Devices",
    "Ulimits",
    "CpuCount",
    "CpuPercent",
    "IOMaximumIOps",
    "IOMaximumBandwidth",
    "MemorySwappiness",
    "OomKillDisable",
    "CgroupParent",
)
"""Resources Docker's update carries that this engine does not change on a container."""


class UpdateConflict(Conflict):
    """The update contradicts what the container already has (Docker answers these with 409)."""


def _merged(host_config: HostConfig, update: dict[str, Any]) -> HostConfig:
    for field in UNSUPPORTED:
        if update.get(field) not in (None, 0, "", [], False):
            raise InvalidArgument(f"{field} cannot be updated on this engine")
    current: dict[str, Any] = {**host_config}
    memory, swap = int(update.get("Memory") or 0), int(update.get("MemorySwap") or 0)
    old_swap = int(current.get("MemorySwap") or 0)
    if memory and not swap and old_swap > 0 and memory > old_swap:
        raise UpdateConflict(
            "Memory limit should be smaller than already set memoryswap limit, "
            "update the memoryswap at the same time"
        )
    if update.get("CpuQuota") and current.get("NanoCpus"):
        raise UpdateConflict(
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"
        )
    if update.get("NanoCpus") and current.get("CpuQuota"):
        raise UpdateConflict(
            "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set"
        )
    for field in RESOURCES:
        if update.get(field) not in (None, 0, ""):
            current[field] = update[field]
    policy = update.get("RestartPolicy") or {}
    if policy.get("Name"):
        if current.get("AutoRemove"):
            raise InvalidArgument(
                "Restart policy cannot be updated because AutoRemove is enabled for the container"
            )
        current["RestartPolicy"] = {
            "Name": policy["Name"],
            "MaximumRetryCount": int(policy.get("MaximumRetryCount") or 0),
        }
        restart_policy.validate(current)
    return cast(HostConfig, current)  # HostConfig with new values for some of its own keys


def _live_resources(host_config: HostConfig, update: dict[str, Any]) -> dict[str, Any]:
    """What ``runc update`` is given: the new limits; -1 turns a pids limit off."""
    resources = security.resources(host_config)
    if int(update.get("PidsLimit") or 0) < 0:
        resources["pids"] = {"limit": -1}
    return resources


async def container_update(daemon: Daemon, ref: str, update: dict[str, Any]) -> dict[str, Any]:
    container = daemon.containers.get(ref)
    async with container.lock:
        host_config = _merged(container.host_config, update)
        resources = _live_resources(host_config, update)  # every value checked before any is applied
        if container.state.running and resources:
            try:
                await daemon.runtime.update(container.id, resources)
            except RuntimeFailure as exc:  # e.g. a memory limit below what the container uses now
                raise InvalidArgument(f"Cannot update container {container.id}: {exc}") from None
        container.host_config = host_config
        container.save()
    daemon.container_event(container, "update")
    log.info("container.updated", container_id=container.id, fields=sorted(k for k in update if update[k]))
    return {"Warnings": []}
