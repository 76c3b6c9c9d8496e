"""The v2 API of a real ``wharf-registry`` beside v1 on one storage: cross-protocol pushes and pulls
(skopeo on the v2 side, the v1 protocol by hand and the wharf engine on the other), an upload cut
off half way, names with path tricks. Every process is stopped by pid, every directory removed.
"""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from engines import Engine
from ocilayout import layer_tar, random_layer, read_dir_image, write_layout
from wharf_registry.testing import RegistryProcess, image_json, make_layer, payload_checksum, random_image_id

SKOPEO, CURL = shutil.which("skopeo"), shutil.which("curl")
needs_skopeo = pytest.mark.skipif(SKOPEO is None, reason="skopeo is not installed (Debian package skopeo)")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed")


def skopeo(*args: str) -> str:
    assert SKOPEO is not None
    done = subprocess.run([SKOPEO, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryProcess]:
    reg = RegistryProcess()
    try:
        reg.start(env={"WHARF_REGISTRY_V2__UPLOAD_TTL": "3", "WHARF_REGISTRY_V2__PURGE_INTERVAL": "0"})
        yield reg
    finally:
        reg.cleanup()


@pytest.fixture
def tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="wharf-v2-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def v1_push(url: str, repository: str, tag: str, layers: list[bytes]) -> list[dict[str, Any]]:
    """The v1 push (JSON, layer, checksum per image, then the tag); the image JSONs, base first."""
    pushed: list[dict[str, Any]] = []
    parent = None
    with httpx.Client(base_url=url, timeout=60) as http:
        for i, layer in enumerate(layers):
            image_id = random_image_id()
            raw = image_json(
                image_id,
                parent,
                created=f"2024-02-0{i + 1}T00:00:00Z",
                container_config={"Cmd": ["/bin/sh", "-c", f"#(nop) step {i}"]},
                config={"Cmd": ["cat", "/etc/motd"], "Env": ["V1=yes"]},
            )
            base = f"/v1/images/{image_id}"
            assert http.put(f"{base}/json", content=raw).status_code == 200
            assert http.put(f"{base}/layer", content=layer).status_code == 200
            checksum = {"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
            assert http.put(f"{base}/checksum", headers=checksum).status_code == 200
            pushed.append(json.loads(raw))
            parent = image_id
        assert http.put(f"/v1/repositories/{repository}/tags/{tag}", json=parent).status_code == 200
    return pushed


def v1_pull(url: str, repository: str, tag: str) -> tuple[list[dict[str, Any]], list[bytes]]:
    """The v1 pull of a tag: image JSONs and layers, base first."""
    with httpx.Client(base_url=url, timeout=60) as http:
        image_id = http.get(f"/v1/repositories/{repository}/tags/{tag}").json()
        ancestry = http.get(f"/v1/images/{image_id}/ancestry").json()
        jsons = [http.get(f"/v1/images/{i}/json").json() for i in reversed(ancestry)]
        layers = [http.get(f"/v1/images/{i}/layer").content for i in reversed(ancestry)]
    return jsons, layers


@needs_skopeo
def test_v1_push_then_skopeo_pull_gives_the_same_layers_and_config(
    registry: RegistryProcess, tmp: Path
) -> None:
    layers = [make_layer({"etc/motd": b"pushed over v1\n"}), make_layer({"etc/two": b"2\n"})]
    pushed = v1_push(registry.url, "alice/old", "1", layers)
    ref = f"docker://127.0.0.1:{registry.port}/alice/old:1"
    skopeo("copy", "--src-tls-verify=false", ref, f"dir:{tmp / 'out'}")
    _manifest, config, got = read_dir_image(tmp / "out")
    assert got == layers  # byte for byte: the v1 layer files themselves
    image_config = json.loads(config)
    assert image_config["config"] == pushed[-1]["config"]
    assert [h["created_by"] for h in image_config["history"]] == [
        "/bin/sh -c #(nop) step 0",
        "/bin/sh -c #(nop) step 1",
    ]
    digests = {json.loads(skopeo("inspect", "--tls-verify=false", ref))["Digest"] for _ in range(2)}
    assert len(digests) == 1  # stable
    # and back over v1: the same images
    jsons, v1_layers = v1_pull(registry.url, "alice/old", "1")
    assert [j["id"] for j in jsons] == [p["id"] for p in pushed] and v1_layers == layers


@needs_skopeo
def test_skopeo_push_then_v1_pull_gives_the_same_layers_and_config(
    registry: RegistryProcess, tmp: Path
) -> None:
    layout = write_layout(
        tmp / "layout", [gzip.compress(layer_tar({"etc/motd": b"v2\n"})), random_layer(50_000)]
    )
    skopeo("copy", "--dest-tls-verify=false", layout.ref(), f"docker://127.0.0.1:{registry.port}/alice/new:2")
    jsons, layers = v1_pull(registry.url, "alice/new", "2")
    assert layers == layout.layers
    assert jsons[-1]["config"] == json.loads(layout.config)["config"]
    assert jsons[0]["id"] == jsons[1]["parent"]
    assert v1_pull(registry.url, "alice/new", "2")[0] == jsons  # stable ids
    tags = httpx.get(f"{registry.url}/v2/alice/new/tags/list").json()["tags"]
    assert tags == ["2"]


@pytest.mark.root
@pytest.mark.slow
@needs_skopeo
def test_engine_pulls_and_runs_an_image_pushed_by_skopeo(
    registry: RegistryProcess, engine: Engine, busybox_tar: Path, tmp: Path
) -> None:
    """The wharf engine as the old client: it pulls over v1 what skopeo pushed over v2."""
    rootfs = gzip.compress(busybox_tar.read_bytes(), compresslevel=1)
    motd = gzip.compress(layer_tar({"etc/motd": b"pushed by skopeo, pulled over v1\n"}))
    layout = write_layout(tmp / "layout", [rootfs, motd], cmd="cat")
    name = f"127.0.0.1:{registry.port}/alice/run"
    skopeo("copy", "--dest-tls-verify=false", layout.ref(), f"docker://{name}:1")
    query = urllib.parse.urlencode({"fromImage": name, "tag": "1"})
    status, body = engine.request("POST", f"/images/create?{query}")
    assert status == 200 and b'"error"' not in body, body[-2000:]
    done = engine.docker("run", "--rm", f"{name}:1", "cat", "/etc/motd")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"pushed by skopeo, pulled over v1\n"
    engine.docker("rmi", f"{name}:1")


def test_interrupted_upload_leaves_nothing_and_expires(registry: RegistryProcess) -> None:
    blobs_before = [f for f in registry.files() if f.startswith("blobs/")]
    r = httpx.post(f"{registry.url}/v2/alice/cut/blobs/uploads/")
    location = r.headers["location"]
    with socket.create_connection(("127.0.0.1", registry.port), timeout=10) as sock:
        head = (
            f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        sock.sendall(head.encode() + b"x" * 200_000)
    time.sleep(0.5)
    status = httpx.get(registry.url + location)
    assert status.status_code == 204 and status.headers["range"] == "0-0"  # nothing of the cut chunk
    assert [f for f in registry.files() if f.startswith("blobs/")] == blobs_before
    upload_id = location.rsplit("/", 1)[1]
    assert [f for f in registry.files("uploads") if upload_id in f] == [f"uploads/{upload_id}/info"]
    time.sleep(3.2)  # past WHARF_REGISTRY_V2__UPLOAD_TTL
    gone = httpx.get(registry.url + location)
    assert gone.status_code == 404 and gone.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"
    httpx.post(f"{registry.url}/v2/alice/other/blobs/uploads/")  # a POST purges expired sessions
    assert not [f for f in registry.files("uploads") if upload_id in f]


@needs_curl
def test_names_with_path_tricks_are_refused(registry: RegistryProcess) -> None:
    assert CURL is not None
    paths = [
        "/v2/../../etc/passwd",
        "/v2/alice/../../blobs/uploads/",
        "/v2/alice/%2e%2e/x/tags/list",
        "/v2/alice/..%2f..%2fimages/tags/list",
        "/v2/alice/web/blobs/sha256:..%2f..%2fx",
        "/v2/alice/web/manifests/..%2f..%2fetc",
        "/v2/ALICE/web/tags/list",
        "/v2/a/b/c/tags/list",
    ]
    for path in paths:
        for method in ("GET", "POST", "PUT"):
            argv = [CURL, "-s", "-o", "/dev/null", "-w", "%{http_code}", "--path-as-is", "-X", method]
            done = subprocess.run([*argv, registry.url + path], capture_output=True, text=True, timeout=30)
            assert done.stdout in ("400", "401", "404", "405"), (method, path, done.stdout)
    stored = registry.files()
    assert not [f for f in stored if not f.startswith(("uploads/", "blobs/", "repositories/", "images/"))]
