"""``--userns-remap`` and images: builds, commits, saves, loads, pushes and pulls, ``cp``.

Whatever a remapped engine writes into a layer carries the ids the container sees, so an
image leaves it as it would leave a normal engine; both storage modes are run.
"""

from __future__ import annotations

import io
import secrets
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import Engine, make_engine, needs_docker
from remap import (
    RemapUser,
    layer_members,
    mapped_start,
    ok,
    running,
)
from wharf_registry.testing import RegistryProcess

pytestmark = [pytest.mark.root, needs_docker]


def test_layers_on_disk_are_shifted_only_when_chowned(remapped: Engine, remap_user: RemapUser) -> None:
    info = remapped.json("GET", "/info")
    layers = Path(info["DockerRootDir"]) / "layers"
    owners = {p.stat().st_uid for p in layers.glob("*/diff/bin/busybox")}
    if remapped.json("GET", "/info")["DockerRootDir"].endswith(f"/{remap_user.start}.{remap_user.start}"):
        assert owners == {remap_user.start}  # dockerd's way: <data-root>/<uid>.<gid>, chowned at unpack
    else:
        assert info["DockerRootDir"] == str(remapped.root / "data")
        assert owners == {0}  # as the image has them: shifted by the idmapped mount


def test_build_runs_remapped_and_layers_keep_in_container_ids(remapped: Engine, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nRUN touch /x && chown 1000:1000 /x && cat /proc/self/uid_map > /map\nCOPY f /f\n"
    )
    (tmp_path / "f").write_text("copied\n")
    tag = "remapped-build-" + secrets.token_hex(3)
    build = remapped.docker("build", "-q", "-t", tag, str(tmp_path), timeout=180)
    assert build.returncode == 0, build.stderr
    saved = subprocess.run(["docker", "save", tag], env=remapped.env, capture_output=True, timeout=60)
    assert saved.returncode == 0, saved.stderr
    members = layer_members(saved.stdout)
    assert (members["x"].uid, members["x"].gid) == (1000, 1000)
    assert (members["f"].uid, members["map"].uid) == (0, 0)
    # the RUN step ran in the user namespace: it saw the mapping
    out = ok(remapped.docker("run", "--rm", tag, "cat", "/map"))
    assert out.split()[:2] == ["0", str(mapped_start(remapped))]

    # saved, removed and loaded again, the image runs: the ids are shifted only at mount time
    ok(remapped.docker("rmi", tag))
    ok(remapped.docker("load", input=saved.stdout))
    cid, pid = running(remapped, tag, "sleep", "60")
    try:
        assert ok(remapped.docker("exec", cid, "stat", "-c", "%u", "/x")).strip() == "1000"
        assert Path(f"/proc/{pid}/root/x").stat().st_uid == mapped_start(remapped) + 1000
    finally:
        remapped.docker("rm", "-f", cid)
        remapped.docker("rmi", tag)


def test_commit_of_a_remapped_container_keeps_in_container_ids(remapped: Engine) -> None:
    cid = ok(
        remapped.docker("run", "-d", "busybox", "sh", "-c", "touch /c && chown 7:8 /c && sleep 60")
    ).strip()
    try:
        tag = "remapped-commit-" + secrets.token_hex(3)
        ok(remapped.docker("exec", cid, "true"))
        ok(remapped.docker("commit", cid, tag))
        saved = subprocess.run(["docker", "save", tag], env=remapped.env, capture_output=True, timeout=60)
        member = layer_members(saved.stdout)["c"]
        assert (member.uid, member.gid) == (7, 8)
    finally:
        remapped.docker("rm", "-f", cid)


def test_cp_and_export_of_a_running_container_carry_in_container_ids(
    remapped: Engine, tmp_path: Path
) -> None:
    cid = ok(
        remapped.docker("run", "-d", "busybox", "sh", "-c", "touch /own && chown 5:6 /own && sleep 60")
    ).strip()
    try:
        ok(remapped.docker("exec", cid, "true"))
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo("in.txt")
            info.size, info.uid, info.gid = 3, 1000, 1001
            tar.addfile(info, io.BytesIO(b"hi\n"))
        put = remapped.request(
            "PUT",
            f"/containers/{cid}/archive?path=/tmp",
            buf.getvalue(),
            {"Content-Type": "application/x-tar"},
        )
        assert put[0] == 200, put
        assert ok(remapped.docker("exec", cid, "stat", "-c", "%u:%g", "/tmp/in.txt")).strip() == "1000:1001"
        status, got = remapped.request("GET", f"/containers/{cid}/archive?path=/own")
        assert status == 200
        with tarfile.open(fileobj=io.BytesIO(got)) as tar:
            assert (tar.getmember("own").uid, tar.getmember("own").gid) == (5, 6)
        status, exported = remapped.request("GET", f"/containers/{cid}/export")
        assert status == 200
        with tarfile.open(fileobj=io.BytesIO(exported)) as tar:
            owners = {m.name: (m.uid, m.gid) for m in tar.getmembers()}
        assert owners["own"] == (5, 6)
        assert owners["tmp/in.txt"] == (1000, 1001)
        assert owners["bin/busybox"] == (0, 0)
    finally:
        remapped.docker("rm", "-f", cid)


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryProcess]:
    reg = RegistryProcess()
    try:
        reg.start()
        yield reg
    finally:
        reg.cleanup()


def test_pushed_image_is_the_same_as_a_normal_engines_and_pulls_work(
    remapped: Engine, registry: RegistryProcess, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN touch /x && chown 1000:1000 /x\n")
    name = f"127.0.0.1:{registry.port}/remap/img{secrets.token_hex(3)}:t"
    ok(remapped.docker("build", "-q", "-t", name, str(tmp_path), timeout=180))
    ok(remapped.docker("push", name, timeout=120))

    plain = make_engine()  # an engine without remapping pulls the very same image
    try:
        plain.start()
        ok(plain.docker("pull", name, timeout=120))
        # the same layers, byte for byte (diff ids), as a normal engine would have pushed
        layers = "{{json .RootFS.Layers}}"
        assert ok(plain.docker("inspect", "-f", layers, name)) == ok(
            remapped.docker("inspect", "-f", layers, name)
        )
        assert ok(plain.docker("run", "--rm", name, "stat", "-c", "%u:%g", "/x")).strip() == "1000:1000"
    finally:
        plain.cleanup()

    ok(remapped.docker("rmi", name))  # and the remapped engine pulls it back and runs it
    ok(remapped.docker("pull", name, timeout=120))
    cid, pid = running(remapped, name, "sleep", "60")
    try:
        assert ok(remapped.docker("exec", cid, "stat", "-c", "%u", "/x")).strip() == "1000"
        assert Path(f"/proc/{pid}/root/x").stat().st_uid == mapped_start(remapped) + 1000
    finally:
        remapped.docker("rm", "-f", cid)
