"""/images/load as Docker streams it (chunked JSON lines, errors in a 200), and image inspect's
ContainerConfig for the API versions that had it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from engines import Engine, UnixConnection, needs_docker

pytestmark = [pytest.mark.root]


def post(engine: Engine, path: str, body: bytes) -> tuple[int, dict[str, str], list[dict[str, Any]]]:
    conn = UnixConnection(str(engine.socket))
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/x-tar"})
        resp = conn.getresponse()
        data = resp.read()
        headers = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, headers, [json.loads(line) for line in data.splitlines() if line.strip()]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def saved(engine: Engine) -> bytes:
    status, archive = engine.request("GET", "/images/get?names=busybox:latest")
    assert status == 200
    return archive


def test_load_streams_chunked_json_lines(engine: Engine, saved: bytes) -> None:
    status, headers, lines = post(engine, "/images/load", saved)
    assert status == 200 and headers.get("transfer-encoding") == "chunked"
    assert headers["content-type"] == "application/json"
    assert lines == [{"stream": "Loaded image: busybox:latest\n"}]


def test_load_not_quiet_reports_each_new_layer(engine: Engine) -> None:
    cid = engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["sh", "-c", "echo x > /f"]})[
        "Id"
    ]
    engine.request("POST", f"/containers/{cid}/start")
    engine.request("POST", f"/containers/{cid}/wait")
    engine.json("POST", f"/commit?container={cid}&repo=loadme&tag=v1")
    engine.request("DELETE", f"/containers/{cid}")
    status, archive = engine.request("GET", "/images/get?names=loadme:v1")
    assert status == 200
    assert engine.request("DELETE", "/images/loadme:v1")[0] == 200
    try:
        status, _, lines = post(engine, "/images/load?quiet=0", archive)
        assert status == 200
        assert [line["status"] for line in lines[:-1]] == ["Loading layer"]
        assert lines[-1] == {"stream": "Loaded image: loadme:v1\n"}
        status, _, lines = post(engine, "/images/load?quiet=1", archive)  # the layer is there now anyway
        assert lines == [{"stream": "Loaded image: loadme:v1\n"}]
    finally:
        engine.request("DELETE", "/images/loadme:v1")


def test_load_of_a_bad_archive_is_an_error_line_in_a_200(engine: Engine) -> None:
    status, _, lines = post(engine, "/images/load", b"not a tar at all" * 64)
    assert status == 200 and len(lines) == 1
    assert lines[0]["error"] and lines[0]["errorDetail"] == {"message": lines[0]["error"]}


@needs_docker
def test_docker_load_prints_loaded_and_fails_on_garbage(engine: Engine, saved: bytes, tmp_path: Path) -> None:
    archive = tmp_path / "busybox.tar"
    archive.write_bytes(saved)
    result = engine.docker("load", "-i", str(archive))
    assert result.returncode == 0 and b"Loaded image: busybox:latest" in result.stdout, result
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"garbage" * 100)
    result = engine.docker("load", "-i", str(garbage))
    assert result.returncode != 0 and result.stderr.strip(), result


def test_docker_py_load(engine: Engine, saved: bytes) -> None:
    import docker
    from docker.errors import ImageLoadError

    client = docker.DockerClient(base_url=engine.host, version="auto")
    try:
        images = client.images.load(saved)
        assert [image.tags for image in images] == [["busybox:latest"]]
        with pytest.raises(ImageLoadError):
            client.images.load(b"garbage" * 100)
    finally:
        client.close()


def test_image_inspect_has_container_config_at_every_version(engine: Engine) -> None:
    """Docker 26 (API 1.45) dropped both, and docker-compose 1.29 then fails every recreate:
    wharf keeps them at every version, as Docker 25 and podman do."""
    old = engine.json("GET", "/v1.44/images/busybox/json")
    assert "ContainerConfig" in old and "Container" in old
    assert isinstance(old["ContainerConfig"], dict) and "Cmd" in old["ContainerConfig"]
    new = engine.json("GET", "/v1.45/images/busybox/json")
    assert new["ContainerConfig"] == old["ContainerConfig"] and new["Container"] == old["Container"]
    cid = engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["echo", "committed"]})["Id"]
    try:
        image = engine.json("POST", f"/commit?container={cid}&repo=ccfg")["Id"]
        committed = engine.json("GET", "/v1.44/images/ccfg/json")
        assert committed["Container"] == cid and committed["ContainerConfig"]["Cmd"] == ["echo", "committed"]
        engine.request("DELETE", f"/images/{image}")
    finally:
        engine.request("DELETE", f"/containers/{cid}")
