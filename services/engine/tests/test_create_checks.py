"""create_checks: the fields the engine refuses (one test each), and the bodies real clients send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.daemon.create_checks import REFUSED, check
from wharf_engine.runtime import options

BODIES = json.loads((Path(__file__).parent / "data" / "create_bodies.json").read_text())
ASKING = {
    "HostConfig.VolumeDriver": "convoy",
    "HostConfig.CgroupnsMode": "private",
    "HostConfig.IpcMode": "host",
    "HostConfig.PidMode": "host",
    "HostConfig.UTSMode": "host",
    "HostConfig.Cgroup": "container:x",
    "HostConfig.CgroupParent": "/mine",
    "HostConfig.StorageOpt": {"size": "1G"},
    "HostConfig.Isolation": "hyperv",
    "HostConfig.BlkioWeightDevice": [{"Path": "/dev/sda", "Weight": 10}],
    "HostConfig.BlkioDeviceReadBps": [{"Path": "/dev/sda", "Rate": 1}],
    "HostConfig.BlkioDeviceWriteBps": [{"Path": "/dev/sda", "Rate": 1}],
    "HostConfig.BlkioDeviceReadIOps": [{"Path": "/dev/sda", "Rate": 1}],
    "HostConfig.BlkioDeviceWriteIOps": [{"Path": "/dev/sda", "Rate": 1}],
    "HostConfig.CpuRealtimePeriod": 1000,
    "HostConfig.CpuRealtimeRuntime": 100,
    "HostConfig.DeviceCgroupRules": ["c 1:3 rwm"],
    "HostConfig.DeviceRequests": [{"Count": -1}],
    "HostConfig.KernelMemory": 1 << 20,
    "HostConfig.KernelMemoryTCP": 1 << 20,
    "HostConfig.CpuCount": 2,
    "HostConfig.CpuPercent": 50,
    "HostConfig.IOMaximumIOps": 10,
    "HostConfig.IOMaximumBandwidth": 10,
    "HostConfig.Init": True,
    "Config.NetworkDisabled": True,
}


def _split(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    config = dict(body)
    return config, dict(config.pop("HostConfig", None) or {})


def test_every_refused_field_has_a_test_value() -> None:
    assert {rule.field for rule in REFUSED} == set(ASKING)


@pytest.mark.parametrize("field", sorted(ASKING))
def test_refused_field_is_a_400_naming_it(field: str) -> None:
    section, name = field.split(".")
    config: dict[str, Any] = {"Image": "busybox"}
    host_config: dict[str, Any] = {}
    (host_config if section == "HostConfig" else config)[name] = ASKING[field]
    with pytest.raises(InvalidArgument, match=field.replace(".", r"\.")):
        check(config, host_config, runtime="runc")


@pytest.mark.parametrize("client", sorted(BODIES))
def test_real_clients_default_bodies_are_accepted(client: str) -> None:
    config, host_config = _split(BODIES[client])
    check(config, host_config, runtime="runc")


def test_allowed_non_zero_values_are_accepted() -> None:
    check(
        {},
        {
            "VolumeDriver": "local",
            "IpcMode": "shareable",
            "CgroupnsMode": "host",
            "Runtime": "runc",
            "Isolation": "default",
            "MemorySwappiness": -1,
        },
        runtime="runc",
    )


def test_unknown_runtime_is_refused() -> None:
    with pytest.raises(InvalidArgument, match=r"HostConfig\.Runtime"):
        check({}, {"Runtime": "kata"}, runtime="runc")


@pytest.mark.parametrize(
    ("host_config", "message"),
    [
        ({"Tmpfs": {"relative": ""}}, "tmpfs mount point"),
        ({"Tmpfs": {"/x": "bogus"}}, "tmpfs option"),
        ({"ShmSize": -1}, "SHM size"),
        ({"Sysctls": {"kernel.hostname": "x"}}, "not whitelisted"),
        ({"Sysctls": {"net.ipv4.ip_forward": "1"}, "NetworkMode": "host"}, "host network"),
        ({"OomScoreAdj": 2000}, "range for oom score"),
        ({"OomScoreAdj": -5}, "CAP_SYS_RESOURCE"),
        ({"MemorySwappiness": 101}, "swappiness"),
        ({"CpusetMems": "63"}, "memory nodes"),
        ({"Memory": 10 << 20, "MemoryReservation": 20 << 20}, "reservation"),
    ],
)
def test_honoured_options_with_bad_values_are_400s(host_config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        check({}, host_config, runtime="runc")


def _spec() -> dict[str, Any]:
    return {
        "process": {},
        "mounts": [{"destination": "/dev/shm", "type": "tmpfs", "options": ["nosuid", "size=65536k"]}],
        "linux": {"resources": {}, "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]},
    }


def test_options_edit_the_spec() -> None:
    spec = _spec()
    options.apply(
        spec,
        {
            "Tmpfs": {"/run": "exec,size=1m"},
            "ShmSize": 1 << 20,
            "Sysctls": {"net.ipv4.ip_forward": "1"},
            "OomScoreAdj": 100,
            "Annotations": {"a": "b"},
            "MaskedPaths": [],
            "MemoryReservation": 8 << 20,
            "MemorySwappiness": 10,
            "OomKillDisable": True,
            "CpusetMems": "0",
        },
    )
    assert spec["mounts"][1] == {
        "destination": "/run",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["nosuid", "nodev", "exec", "size=1m"],
    }
    assert spec["mounts"][0]["options"] == ["nosuid", "size=1024k"]
    assert spec["linux"]["sysctl"] == {"net.ipv4.ip_forward": "1"}
    assert spec["process"]["oomScoreAdj"] == 100 and spec["annotations"] == {"a": "b"}
    assert spec["linux"]["maskedPaths"] == [] and spec["linux"]["readonlyPaths"] == ["/proc/sys"]
    assert spec["linux"]["resources"] == {
        "memory": {"reservation": 8 << 20, "swappiness": 10, "disableOOMKiller": True},
        "cpu": {"mems": "0"},
    }


def test_options_leave_a_default_spec_alone() -> None:
    spec = _spec()
    options.apply(spec, _split(BODIES["docker CLI 28 create"])[1])
    assert spec == _spec()
