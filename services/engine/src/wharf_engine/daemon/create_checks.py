"""What a create request may ask for: every Config and HostConfig field Docker knows is either
honoured by the engine or refused here with a 400 that names it, never silently dropped.

Clients send every field, mostly as its zero value (the docker CLI sends ``"CgroupParent": ""``,
``"BlkioWeightDevice": []``, ``"MemorySwappiness": -1``...), so a field is refused only when it
asks for something: a value outside its ``allowed`` set, or any non-zero value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wharf_common.errors import InvalidArgument

from wharf_engine.runtime import options


@dataclass(frozen=True, slots=True)
class Refused:
    """A field the engine does not honour, with what it accepts (its zero, or ``allowed``)."""

    field: str  # "HostConfig.CgroupParent", as the request names it
    reason: str
    allowed: tuple[Any, ...] = ()

    def accepts(self, value: Any) -> bool:
        return _zero(value) or value in self.allowed


def _zero(value: Any) -> bool:
    return value is None or value is False or value in (0, "", [], {})


REFUSED: tuple[Refused, ...] = (
    Refused("HostConfig.VolumeDriver", "this engine has only the local volume driver", ("local",)),
    Refused("HostConfig.CgroupnsMode", "containers share the host's cgroup namespace (cgroup v1)", ("host",)),
    Refused("HostConfig.IpcMode", "each container has a private IPC namespace", ("private", "shareable")),
    Refused("HostConfig.PidMode", "each container has its own PID namespace"),
    Refused("HostConfig.UTSMode", "each container has its own UTS namespace"),
    Refused("HostConfig.Cgroup", "containers cannot join another container's cgroup"),
    Refused("HostConfig.CgroupParent", "every container's cgroup is under /wharf"),
    Refused("HostConfig.StorageOpt", "overlayfs here has no per-container storage options"),
    Refused("HostConfig.Isolation", "Linux containers have only the default isolation", ("default",)),
    Refused("HostConfig.BlkioWeightDevice", "per-device I/O weights are not supported"),
    Refused("HostConfig.BlkioDeviceReadBps", "I/O throttling is not supported"),
    Refused("HostConfig.BlkioDeviceWriteBps", "I/O throttling is not supported"),
    Refused("HostConfig.BlkioDeviceReadIOps", "I/O throttling is not supported"),
    Refused("HostConfig.BlkioDeviceWriteIOps", "I/O throttling is not supported"),
    Refused("HostConfig.CpuRealtimePeriod", "real-time CPU scheduling is not supported"),
    Refused("HostConfig.CpuRealtimeRuntime", "real-time CPU scheduling is not supported"),
    Refused("HostConfig.DeviceCgroupRules", "device cgroup rules are not supported: use Devices"),
    Refused("HostConfig.DeviceRequests", "device requests (GPUs) are not supported"),
    Refused("HostConfig.KernelMemory", "kernel memory limits are not supported"),
    Refused("HostConfig.KernelMemoryTCP", "kernel memory limits are not supported"),
    Refused("HostConfig.CpuCount", "CpuCount is for Windows containers"),
    Refused("HostConfig.CpuPercent", "CpuPercent is for Windows containers"),
    Refused("HostConfig.IOMaximumIOps", "IOMaximumIOps is for Windows containers"),
    Refused("HostConfig.IOMaximumBandwidth", "IOMaximumBandwidth is for Windows containers"),
    Refused("HostConfig.Init", "this engine has no init process to run as PID 1"),
    Refused("Config.NetworkDisabled", "use NetworkMode none for a container without a network"),
)
"""The fields the engine does not honour. Every other Docker field is honoured: by create,
start (``runtime.security``, ``runtime.options``), volumes, networks or logs."""

CLIENT_ONLY = ("HostConfig.ContainerIDFile", "Config.ArgsEscaped", "Config.Shell")
"""Fields the engine has no part in: the CLI writes the id file; the rest concern Windows or builds."""


def _value(config: Mapping[str, Any], host_config: Mapping[str, Any], field: str) -> Any:
    section, name = field.split(".", 1)
    return (host_config if section == "HostConfig" else config).get(name)


def check(config: Mapping[str, Any], host_config: Mapping[str, Any], *, runtime: str) -> None:
    """400 naming the first field this engine cannot honour; the honoured options' values, checked."""
    for rule in REFUSED:
        value = _value(config, host_config, rule.field)
        if not rule.accepts(value):
            raise InvalidArgument(f"{rule.field}={value!r} is not supported by this engine: {rule.reason}")
    wanted = host_config.get("Runtime")
    if not _zero(wanted) and wanted != runtime:
        raise InvalidArgument(f"HostConfig.Runtime: unknown or invalid runtime name: {wanted}")
    options.validate(host_config)
