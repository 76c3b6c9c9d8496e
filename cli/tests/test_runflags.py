"""wharf run's --health-*, --group-add and --device flags, as the docker CLI sends them."""

from __future__ import annotations

import pytest
from wharf_cli.containerspec import RunOptions, SpecError, build_create_body
from wharf_cli.runflags import HealthFlags, HostFlags, parse_bytes, parse_device, parse_duration


@pytest.mark.parametrize(
    ("text", "nanos"),
    [("0", 0), ("1s", 10**9), ("500ms", 5 * 10**8), ("1m30s", 90 * 10**9), ("1.5h", 5400 * 10**9)],
)
def test_durations(text: str, nanos: int) -> None:
    assert parse_duration(text, "--health-interval") == nanos


@pytest.mark.parametrize("text", ["", "5", "1x", "s", "1s2"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(SpecError, match="invalid duration"):
        parse_duration(text, "--health-interval")


def test_health_flags_make_dockers_healthcheck() -> None:
    assert HealthFlags().healthcheck() is None
    assert HealthFlags(none=True).healthcheck() == {"Test": ["NONE"]}
    check = HealthFlags(cmd="curl -f x", interval="2s", retries=4).healthcheck()
    assert check == {"Test": ["CMD-SHELL", "curl -f x"], "Interval": 2 * 10**9, "Retries": 4}
    with pytest.raises(SpecError, match="conflicts"):
        HealthFlags(cmd="true", none=True).healthcheck()
    body = build_create_body(RunOptions(image="busybox", healthcheck=check, host_extra={"GroupAdd": ["1"]}))
    assert body["Healthcheck"] == check and body["HostConfig"]["GroupAdd"] == ["1"]


def test_devices_and_groups() -> None:
    assert parse_device("/dev/zero") == {
        "PathOnHost": "/dev/zero",
        "PathInContainer": "/dev/zero",
        "CgroupPermissions": "rwm",
    }
    assert parse_device("/dev/zero:r")["CgroupPermissions"] == "r"
    assert parse_device("/dev/zero:/dev/z:rw") == {
        "PathOnHost": "/dev/zero",
        "PathInContainer": "/dev/z",
        "CgroupPermissions": "rw",
    }
    with pytest.raises(SpecError):
        parse_device("/dev/zero:/dev/z:rwx")
    assert HostFlags().host_config() == {}
    assert HostFlags(group_add=["audio"], devices=["/dev/zero"]).host_config()["GroupAdd"] == ["audio"]


def test_course_flags_map_to_host_config() -> None:
    host = HostFlags(
        links=["db:db", "cache"],
        volumes_from=["data"],
        publish_all=True,
        privileged=True,
        cap_add=["NET_ADMIN"],
        cap_drop=["MKNOD"],
        read_only=True,
        tmpfs=["/run:size=1m", "/tmp"],
        memory="512m",
        memory_swap="-1",
        shm_size="64MiB",
        cpu_shares=512,
        cpus="1.5",
        pids_limit=50,
        ulimits=["nofile=1024:2048", "nproc=10"],
        sysctls=["net.ipv4.ip_forward=1"],
        log_driver="json-file",
        log_opts=["max-size=1m"],
    ).host_config()
    assert host == {
        "Links": ["db:db", "cache"],
        "VolumesFrom": ["data"],
        "CapAdd": ["NET_ADMIN"],
        "CapDrop": ["MKNOD"],
        "PublishAllPorts": True,
        "Privileged": True,
        "ReadonlyRootfs": True,
        "Tmpfs": {"/run": "size=1m", "/tmp": ""},
        "Memory": 512 * 1024**2,
        "MemorySwap": -1,
        "ShmSize": 64 * 1024**2,
        "CpuShares": 512,
        "NanoCpus": 1_500_000_000,
        "PidsLimit": 50,
        "Ulimits": [
            {"Name": "nofile", "Soft": 1024, "Hard": 2048},
            {"Name": "nproc", "Soft": 10, "Hard": 10},
        ],
        "Sysctls": {"net.ipv4.ip_forward": "1"},
        "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}},
    }
    assert HostFlags().host_config() == {}


@pytest.mark.parametrize(
    ("host", "message"),
    [
        (HostFlags(memory="lots"), "invalid size: 'lots'"),
        (HostFlags(cpus="x"), "failed to parse x as a rational number"),
        (HostFlags(ulimits=["nofile=9:1"]), "soft limit must be less than or equal to hard limit"),
        (HostFlags(ulimits=["nofile"]), "invalid ulimit argument"),
        (HostFlags(log_opts=["max-size"]), "expected key=value"),
    ],
)
def test_bad_host_flags_are_spec_errors(host: HostFlags, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        host.host_config()


def test_parse_bytes_uses_binary_multiples() -> None:
    assert [parse_bytes(v, "-m") for v in ("1024", "1k", "1.5g", "2MB", "3 GiB")] == [
        1024,
        1024,
        1536 * 1024**2,
        2 * 1024**2,
        3 * 1024**3,
    ]
