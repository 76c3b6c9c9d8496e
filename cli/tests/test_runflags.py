"""wharf run's --health-*, --group-add and --device flags, as the docker CLI sends them."""

from __future__ import annotations

import pytest
from wharf_cli.containerspec import RunOptions, SpecError, build_create_body
from wharf_cli.runflags import HealthFlags, HostFlags, parse_device, parse_duration


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
    assert check == {"Test": ["CMD-SHELL", "curl -f x"], "Interval": 2 * 10**9, "Timeout": 0,
                     "StartPeriod": 0, "StartInterval": 0, "Retries": 4}  # fmt: skip
    with pytest.raises(SpecError, match="conflicts"):
        HealthFlags(cmd="true", none=True).healthcheck()
    body = build_create_body(RunOptions(image="busybox", healthcheck=check, host_extra={"GroupAdd": ["1"]}))
    assert body["Healthcheck"] == check and body["HostConfig"]["GroupAdd"] == ["1"]


def test_devices_and_groups() -> None:
    assert parse_device("/dev/zero") == {"PathOnHost": "/dev/zero", "PathInContainer": "/dev/zero",
                                         "CgroupPermissions": "rwm"}  # fmt: skip
    assert parse_device("/dev/zero:r")["CgroupPermissions"] == "r"
    assert parse_device("/dev/zero:/dev/z:rw") == {"PathOnHost": "/dev/zero", "PathInContainer": "/dev/z",
                                                   "CgroupPermissions": "rw"}  # fmt: skip
    with pytest.raises(SpecError):
        parse_device("/dev/zero:/dev/z:rwx")
    assert HostFlags().host_config() == {}
    assert HostFlags(group_add=["audio"], devices=["/dev/zero"]).host_config()["GroupAdd"] == ["audio"]
