"""HostConfig.GroupAdd and HostConfig.Devices, with the real docker CLI and wharf run."""

from __future__ import annotations

import subprocess

import pytest
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root, needs_docker]


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def test_group_add_names_and_numbers(engine: Engine) -> None:
    out = ok(
        engine.docker(
            "run",
            "--rm",
            "--group-add",
            "daemon",
            "--group-add",
            "4242",
            "-u",
            "nobody",
            "busybox",
            "id",
            "-G",
        )
    )
    gids = out.split()
    assert "1" in gids and "4242" in gids  # busybox's daemon group is gid 1
    missing = engine.docker("run", "--rm", "--group-add", "nosuchgroup", "busybox", "true")
    assert missing.returncode != 0 and b"Unable to find group nosuchgroup" in missing.stderr


def test_device_is_created_and_allowed_with_its_permissions(engine: Engine) -> None:
    script = "stat -c '%F %t:%T' /dev/myzero; head -c 4 /dev/myzero | od -An -tx1"
    out = ok(engine.docker("run", "--rm", "--device", "/dev/zero:/dev/myzero", "busybox", "sh", "-c", script))
    listing, data = out.splitlines()
    assert listing == "character special file 1:5"
    assert data.split() == ["00", "00", "00", "00"]
    # loop-control (10:237) is in no default allow list: only the cgroup rule lets it be opened;
    # opening it does nothing (no ioctl is made)
    probe = (
        "(exec 3</dev/lc) 2>/dev/null && echo read-ok || echo read-denied; "
        "(exec 3>/dev/lc) 2>/dev/null && echo write-ok || echo write-denied"
    )
    read_only = ok(
        engine.docker("run", "--rm", "--device", "/dev/loop-control:/dev/lc:r", "busybox", "sh", "-c", probe)
    )
    assert read_only.split() == ["read-ok", "write-denied"]
    made = "mknod /dev/lc c 10 237 && " + probe
    assert ok(engine.docker("run", "--rm", "busybox", "sh", "-c", made)).split() == [
        "read-denied",
        "write-denied",
    ]


def test_bad_devices_are_400s(engine: Engine) -> None:
    cases = [
        ({"PathOnHost": "/dev/nosuch"}, b"no such file"),
        ({"PathOnHost": "/etc/hostname"}, b"not a device node"),
        ({"PathOnHost": "/dev/zero", "CgroupPermissions": "rwx"}, b"permissions"),
    ]
    for device, message in cases:
        status, body = engine.request(
            "POST", "/containers/create", {"Image": "busybox", "HostConfig": {"Devices": [device]}}
        )
        assert status == 400 and message in body, body


def test_wharf_run_group_add_and_device(engine: Engine) -> None:
    out = ok(
        engine.wharf(
            "run",
            "--rm",
            "--group-add",
            "4242",
            "--device",
            "/dev/zero:/dev/z:r",
            "busybox",
            "sh",
            "-c",
            "id -G; stat -c %t:%T /dev/z",
        )
    )
    groups, device = out.splitlines()
    assert "4242" in groups.split() and device == "1:5"
