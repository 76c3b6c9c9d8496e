"""HostConfig.Mounts (``docker run --mount``) next to Binds: bind, volume, tmpfs and their options."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root, needs_docker]


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


@pytest.fixture
def names(engine: Engine) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    if made:
        engine.docker("rm", "-f", "-v", *made)
    engine.docker("volume", "rm", "mvol", "mlabelled")


def test_mount_bind_volume_and_tmpfs_with_the_cli(engine: Engine, names: list[str], tmp_path: Path) -> None:
    (tmp_path / "host.txt").write_text("from the host\n")
    ok(
        engine.docker(
            "run", "--rm", "-v", "mvol:/v", "busybox", "sh", "-c", "mkdir -p /v/sub && echo deep > /v/sub/f"
        )
    )
    names.append("mnt")
    script = "cat /b/host.txt /s/f; touch /b/x 2>&1; df -k /t | tail -1; stat -c %a /t; ls /v"
    out = ok(
        engine.docker(
            "run",
            "--name",
            "mnt",
            "--mount",
            f"type=bind,source={tmp_path},target=/b,readonly,bind-propagation=rslave",
            "--mount",
            "type=volume,source=mvol,target=/v",
            "--mount",
            "type=volume,source=mvol,target=/s,volume-subpath=sub",
            "--mount",
            "type=tmpfs,target=/t,tmpfs-size=1048576,tmpfs-mode=1770",
            "-v",
            "/anon",
            "busybox",
            "sh",
            "-c",
            script,
        )
    )
    lines = out.splitlines()
    assert lines[:2] == ["from the host", "deep"]
    assert "Read-only file system" in lines[2]
    assert lines[3].split()[1] == "1024" and lines[4] == "1770" and lines[5] == "sub"
    mounts = {m["Destination"]: m for m in engine.json("GET", "/containers/mnt/json")["Mounts"]}
    assert mounts["/b"] == {
        "Type": "bind",
        "Source": str(tmp_path),
        "Destination": "/b",
        "Mode": "",
        "RW": False,
        "Propagation": "rslave",
    }
    assert mounts["/v"]["Type"] == "volume" and mounts["/v"]["Name"] == "mvol" and mounts["/v"]["RW"]
    assert mounts["/t"] == {
        "Type": "tmpfs",
        "Source": "",
        "Destination": "/t",
        "Mode": "",
        "RW": True,
        "Propagation": "",
    }
    assert mounts["/anon"]["Type"] == "volume"
    host = engine.json("GET", "/containers/mnt/json")["HostConfig"]["Mounts"]
    assert [m["Type"] for m in host] == ["bind", "volume", "volume", "tmpfs"]


def test_volume_nocopy_and_labels(engine: Engine, names: list[str]) -> None:
    names.append("mnocopy")
    out = ok(
        engine.docker(
            "run",
            "--name",
            "mnocopy",
            "--mount",
            "type=volume,source=mlabelled,target=/etc,volume-nocopy,volume-label=team=a",
            "busybox",
            "ls",
            "/etc",
        )
    )
    assert out.strip() == ""  # not the image's /etc
    assert engine.json("GET", "/volumes/mlabelled")["Labels"] == {"team": "a"}


@pytest.mark.parametrize(
    ("mount", "message"),
    [
        (
            {"Type": "bind", "Source": "/no/such/dir", "Target": "/x"},
            'invalid mount config for type "bind": bind source path does not exist: /no/such/dir',
        ),
        ({"Type": "bind", "Target": "/x"}, 'for type "bind": field Source must not be empty'),
        ({"Type": "nfs", "Target": "/x"}, 'invalid mount config for type "nfs": mount type unknown'),
        ({"Type": "tmpfs", "Source": "/tmp", "Target": "/x"}, "field Source must not be specified"),
        (
            {"Type": "volume", "Target": "/x", "BindOptions": {"Propagation": "shared"}},
            "field BindOptions must not be specified",
        ),
        ({"Type": "volume", "Target": "relative"}, "must be absolute"),
        ({"Type": "volume", "Target": "/x", "VolumeOptions": {"Subpath": "../up"}}, "can't contain '..'"),
        (
            {"Type": "bind", "Source": "/tmp", "Target": "/x", "BindOptions": {"Propagation": "sideways"}},
            "invalid propagation mode",
        ),
    ],
)
def test_bad_mounts_are_400s_with_dockers_messages(
    engine: Engine, mount: dict[str, object], message: str
) -> None:
    status, body = engine.request(
        "POST", "/containers/create", {"Image": "busybox", "HostConfig": {"Mounts": [mount]}}
    )
    assert status == 400 and message in json.loads(body)["message"], body


def test_mount_and_bind_on_one_target_is_a_duplicate(engine: Engine, tmp_path: Path) -> None:
    host_config = {"Binds": [f"{tmp_path}:/x"], "Mounts": [{"Type": "tmpfs", "Target": "/x"}]}
    status, body = engine.request(
        "POST", "/containers/create", {"Image": "busybox", "HostConfig": host_config}
    )
    assert status == 400 and b"Duplicate mount point: /x" in body


def test_missing_bind_source_with_the_cli(engine: Engine) -> None:
    result = engine.docker(
        "run", "--rm", "--mount", "type=bind,source=/no/such/dir,target=/x", "busybox", "true"
    )
    assert result.returncode != 0 and b"bind source path does not exist: /no/such/dir" in result.stderr


def test_mount_fields_of_the_wrong_type_are_400s(engine: Engine) -> None:
    mount = {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": "1m"}}
    status, body = engine.request(
        "POST", "/containers/create", {"Image": "busybox", "HostConfig": {"Mounts": [mount]}}
    )
    assert status == 400 and b"SizeBytes" in body


def test_nul_bytes_in_mount_and_device_paths_are_400s(engine: Engine) -> None:
    subpath = {"Type": "volume", "Target": "/x", "VolumeOptions": {"Subpath": "a\x00"}}
    for host_config in (
        {"Mounts": [{"Type": "bind", "Source": "/tmp/a\x00b", "Target": "/x"}]},
        {"Mounts": [subpath]},
        {"Devices": [{"PathOnHost": "/dev/zero\x00"}]},
    ):
        status, body = engine.request(
            "POST", "/containers/create", {"Image": "busybox", "HostConfig": host_config}
        )
        assert status == 400 and b"NUL" in body, body
