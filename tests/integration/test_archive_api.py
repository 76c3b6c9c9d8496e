"""The archive API (docker cp) on created and stopped containers, their volumes and binds included."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import Engine, needs_docker, wait_for

pytestmark = [pytest.mark.root]


def tar_of(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def read_tar(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: (tar.extractfile(m) or io.BytesIO()).read() for m in tar.getmembers() if m.isfile()}


def path_stat(engine: Engine, cid: str, path: str) -> dict[str, object]:
    conn_status, headers = head(engine, f"/containers/{cid}/archive?path={path}")
    assert conn_status == 200, (conn_status, path)
    stat: dict[str, object] = json.loads(base64.b64decode(headers["x-docker-container-path-stat"]))
    return stat


def head(engine: Engine, path: str) -> tuple[int, dict[str, str]]:
    from engines import UnixConnection

    conn = UnixConnection(str(engine.socket))
    try:
        conn.request("HEAD", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


@pytest.fixture
def with_volumes(engine: Engine, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A created container with a named volume at /data and a bind mount at /bind."""
    bind = tmp_path / "bind"
    bind.mkdir()
    (bind / "host.txt").write_bytes(b"from the host\n")
    cid = engine.json(
        "POST",
        "/containers/create",
        {
            "Image": "busybox",
            "Cmd": ["sh", "-c", "cat /data/put.txt /bind/put.txt; echo vol > /data/v.txt"],
            "HostConfig": {"Binds": ["archvol:/data", f"{bind}:/bind"]},
        },
    )["Id"]
    yield str(cid), bind
    engine.request("DELETE", f"/containers/{cid}?force=1&v=1")
    engine.request("DELETE", "/volumes/archvol")


def test_archive_on_a_created_container_reaches_its_volume_and_bind(
    engine: Engine, with_volumes: tuple[str, Path]
) -> None:
    cid, bind = with_volumes
    stat = path_stat(engine, cid, "/bind/host.txt")
    assert stat["name"] == "host.txt" and stat["size"] == 14 and set(stat) >= {"mode", "mtime", "linkTarget"}
    status, body = engine.request("GET", f"/containers/{cid}/archive?path=/bind/host.txt")
    assert status == 200 and read_tar(body) == {"host.txt": b"from the host\n"}
    assert path_stat(engine, cid, "/data")["mode"] == (1 << 31) | 0o755
    for where in ("/data", "/bind"):
        status, body = engine.request(
            "PUT", f"/containers/{cid}/archive?path={where}", tar_of("put.txt", f"put {where}\n".encode())
        )
        assert status == 200, body
    assert (bind / "put.txt").read_bytes() == b"put /bind\n"
    engine.request("POST", f"/containers/{cid}/start")
    wait_for(lambda: not engine.json("GET", f"/containers/{cid}/json")["State"]["Running"])
    _, logs = engine.request("GET", f"/containers/{cid}/logs?stdout=1")
    assert b"put /data\n" in logs and b"put /bind\n" in logs  # the volume held what was put before start


def test_archive_on_a_stopped_container_reads_and_writes_its_volume(
    engine: Engine, with_volumes: tuple[str, Path]
) -> None:
    cid, _ = with_volumes
    engine.request("POST", f"/containers/{cid}/start")
    wait_for(lambda: not engine.json("GET", f"/containers/{cid}/json")["State"]["Running"])
    status, body = engine.request("GET", f"/containers/{cid}/archive?path=/data/v.txt")
    assert status == 200 and read_tar(body) == {"v.txt": b"vol\n"}
    assert engine.request("GET", f"/containers/{cid}/archive?path=/data/missing")[0] == 404
    assert head(engine, f"/containers/{cid}/archive?path=/data/missing")[0] == 404
    status, _ = engine.request("PUT", f"/containers/{cid}/archive?path=/data", tar_of("late.txt", b"late\n"))
    assert status == 200
    reader = engine.json(
        "POST",
        "/containers/create",
        {"Image": "busybox", "Cmd": ["cat", "/data/late.txt"], "HostConfig": {"Binds": ["archvol:/data"]}},
    )["Id"]
    try:
        engine.request("POST", f"/containers/{reader}/start")
        assert engine.json("POST", f"/containers/{reader}/wait")["StatusCode"] == 0
        assert engine.request("GET", f"/containers/{reader}/logs?stdout=1")[1].endswith(b"late\n")
    finally:
        engine.request("DELETE", f"/containers/{reader}?force=1")
    # nothing of the volume is left mounted in the stopped container's root
    with open("/proc/self/mounts") as mounts:
        assert not [line for line in mounts if cid in line]


@needs_docker
def test_docker_cp_to_and_from_a_stopped_container(
    engine: Engine, with_volumes: tuple[str, Path], tmp_path: Path
) -> None:
    cid, _ = with_volumes
    engine.request("POST", f"/containers/{cid}/start")
    wait_for(lambda: not engine.json("GET", f"/containers/{cid}/json")["State"]["Running"])
    out = tmp_path / "out"
    result = engine.docker("cp", f"{cid}:/data/v.txt", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == b"vol\n"
    src = tmp_path / "in.txt"
    src.write_bytes(b"copied in\n")
    assert engine.docker("cp", str(src), f"{cid}:/data/in.txt").returncode == 0
    assert engine.docker("cp", str(src), f"{cid}:/rootfile.txt").returncode == 0
    result = engine.docker("cp", f"{cid}:/data/in.txt", "-")
    assert result.returncode == 0 and read_tar(result.stdout) == {"in.txt": b"copied in\n"}
    result = engine.docker("cp", f"{cid}:/rootfile.txt", "-")
    assert read_tar(result.stdout) == {"rootfile.txt": b"copied in\n"}
    result = engine.docker("cp", f"{cid}:/data/nope", str(tmp_path / "nope"))
    assert result.returncode != 0 and b"Could not find the file /data/nope" in result.stderr


def test_put_into_a_read_only_volume_is_refused(engine: Engine, tmp_path: Path) -> None:
    cid = engine.json(
        "POST",
        "/containers/create",
        {"Image": "busybox", "Cmd": ["sleep", "30"], "HostConfig": {"Binds": [f"{tmp_path}:/ro:ro"]}},
    )["Id"]
    try:
        for _ in ("created", "running"):
            status, body = engine.request("PUT", f"/containers/{cid}/archive?path=/ro", tar_of("x.txt", b"x"))
            assert status == 403 and b"read-only" in body, (status, body)
            assert not (tmp_path / "x.txt").exists()
            engine.request("POST", f"/containers/{cid}/start")
    finally:
        engine.request("DELETE", f"/containers/{cid}?force=1")
