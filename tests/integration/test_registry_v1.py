"""The real ``wharf-registry`` process on a loopback port, driven by hand with curl and httpx.

Covers the v1 push and pull sequences (protocols.md A.7, A.8), visibility of layers only
after their checksum, ranges, and bad input: every test that sends something wrong also
checks what is left in the storage root. Every process started here is stopped by pid and
every temporary directory removed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from wharf_registry.testing import (
    RegistryProcess,
    image_json,
    make_layer,
    payload_checksum,
    random_image_id,
)

CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed")


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    assert CURL is not None
    return subprocess.run([CURL, "-sS", *args], capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryProcess]:
    reg = RegistryProcess()
    try:
        reg.start()
        yield reg
        assert reg.stop() == 0, reg.log.read_text()[-2000:]  # clean SIGTERM shutdown
    finally:
        reg.cleanup()


@pytest.fixture
def http(registry: RegistryProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=registry.url, timeout=30) as client:
        yield client


def push_image(http: httpx.Client, image_id: str, layer: bytes, parent: str | None = None) -> bytes:
    """Steps 5.1-5.3 of the v1 push, as the engine does them (an existing image is skipped)."""
    raw = image_json(image_id, parent)
    r = http.put(f"/v1/images/{image_id}/json", content=raw, headers={"Content-Type": "application/json"})
    if r.status_code == 409 and r.json() == {"error": "Image already exists"}:
        return raw
    assert r.status_code == 200, r.text

    def chunked() -> Iterator[bytes]:  # a generator body goes out chunked, as the engine sends it
        for i in range(0, len(layer), 32 << 10):
            yield layer[i : i + (32 << 10)]

    r = http.put(
        f"/v1/images/{image_id}/layer",
        content=chunked(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 200, r.text
    r = http.put(
        f"/v1/images/{image_id}/checksum",
        headers={
            "X-Docker-Checksum-Payload": payload_checksum(raw, layer),
            "X-Docker-Checksum": "tarsum+sha256:" + "0" * 64,
        },
    )
    assert r.status_code == 200, r.text
    return raw


def metric(http: httpx.Client, name: str) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


def wait_for(predicate: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


# ---- the happy path ---------------------------------------------------------------------


@needs_curl
def test_ping_answers_as_a_standalone_v1_registry(registry: RegistryProcess) -> None:
    out = curl("-i", registry.url + "/v1/_ping").stdout.decode().lower()
    assert out.startswith("http/1.1 200")
    assert "x-docker-registry-version: 0.9.1" in out
    assert "x-docker-registry-standalone: true" in out
    assert "x-docker-registry-config:" in out
    out = curl("-i", registry.url + "/v2/").stdout.decode().lower()
    assert out.startswith("http/1.1 200")  # v2 beside v1 (test_registry_v2*.py)
    assert "docker-distribution-api-version: registry/2.0" in out


@needs_curl
def test_push_then_pull_by_hand(registry: RegistryProcess, http: httpx.Client) -> None:
    base, top = random_image_id(), random_image_id()
    layers = {base: make_layer({"bin/sh": b"#!/bin/sh\n"}), top: make_layer({"etc/motd": b"hello\n"})}
    # push (A.7): index PUT, then json/layer/checksum per image root first, tag, images PUT
    r = http.put(
        "/v1/repositories/alice/web/",
        json=[{"id": base}, {"id": top, "Tag": "v1"}],
        headers={"X-Docker-Token": "true"},
    )
    assert r.status_code == 200
    assert r.headers["x-docker-token"] and r.headers["x-docker-endpoints"] == f"127.0.0.1:{registry.port}"
    for image_id, parent in ((base, None), (top, base)):
        assert http.get(f"/v1/images/{image_id}/json").status_code == 404  # not pushed yet
        push_image(http, image_id, layers[image_id], parent)
    r = http.put("/v1/repositories/alice/web/tags/v1", content=json.dumps(top))
    assert (r.status_code, r.json()) == (200, True)
    r = http.put("/v1/repositories/alice/web/images", json=[], headers={"X-Docker-Token": "true"})
    assert r.status_code == 204
    # pull (A.8): images, tags, ancestry (self first), then json + layer from the root
    r = http.get("/v1/repositories/alice/web/images", headers={"X-Docker-Token": "true"})
    assert {i["id"] for i in r.json()} == {base, top}
    assert http.get("/v1/repositories/alice/web/tags").json() == {"v1": top}
    ancestry = http.get(f"/v1/images/{top}/ancestry").json()
    assert ancestry == [top, base]
    for image_id in reversed(ancestry):
        r = http.get(f"/v1/images/{image_id}/json")
        assert r.status_code == 200
        assert json.loads(r.content)["id"] == image_id
        assert int(r.headers["x-docker-size"]) == len(layers[image_id])
        got = curl("-f", registry.url + f"/v1/images/{image_id}/layer").stdout
        assert got == layers[image_id]
    assert http.get("/v1/search", params={"q": "web"}).json()["results"][0]["name"] == "alice/web"


def test_layer_visible_only_after_checksum(registry: RegistryProcess, http: httpx.Client) -> None:
    image_id, layer = random_image_id(), make_layer({"a": b"1"})
    raw = image_json(image_id)
    assert http.put(f"/v1/images/{image_id}/json", content=raw).status_code == 200
    assert http.put(f"/v1/images/{image_id}/layer", content=layer).status_code == 200
    assert http.get(f"/v1/images/{image_id}/layer").status_code == 400
    assert http.get(f"/v1/images/{image_id}/json").json() == {"error": "Image is being uploaded, retry later"}
    assert f"images/{image_id}/layer" not in registry.files()
    headers = {"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
    assert http.put(f"/v1/images/{image_id}/checksum", headers=headers).status_code == 200
    assert http.get(f"/v1/images/{image_id}/layer").content == layer


@needs_curl
def test_range_get(registry: RegistryProcess, http: httpx.Client) -> None:
    image_id, layer = random_image_id(), make_layer({"f": os.urandom(200_000)})
    push_image(http, image_id, layer)
    out = curl("-i", "-r", "100-199", registry.url + f"/v1/images/{image_id}/layer").stdout
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 206")
    assert f"content-range: bytes 100-199/{len(layer)}".encode() in head.lower()
    assert body == layer[100:200]


def test_interrupted_pull_resumes_with_range(registry: RegistryProcess, http: httpx.Client) -> None:
    image_id, layer = random_image_id(), make_layer({"big": os.urandom(3 << 20)})
    push_image(http, image_id, layer)
    got = b""
    with http.stream("GET", f"/v1/images/{image_id}/layer") as r:
        assert r.headers["accept-ranges"] == "bytes"
        for chunk in r.iter_raw(64 << 10):
            got += chunk
            if len(got) >= 1 << 20:
                break  # the client drops the connection mid-layer
    assert 0 < len(got) < len(layer)
    r = http.get(f"/v1/images/{image_id}/layer", headers={"Range": f"bytes={len(got)}-"})
    assert r.status_code == 206
    assert got + r.content == layer
    assert http.get("/v1/_ping").status_code == 200  # the server shrugged off the drop


# ---- bad input ----------------------------------------------------------------------------


def test_malformed_image_json(registry: RegistryProcess, http: httpx.Client) -> None:
    image_id = random_image_id()
    for body in (b"{not json", b'"a string"', json.dumps({"id": random_image_id()}).encode()):
        r = http.put(f"/v1/images/{image_id}/json", content=body)
        assert r.status_code == 400
        assert "error" in r.json()
    assert registry.files(f"images/{image_id}") == []


def test_image_id_not_64_hex(registry: RegistryProcess, http: httpx.Client) -> None:
    for bad in ("1234", "Z" * 64, "a" * 63):
        r = http.put(f"/v1/images/{bad}/json", content=image_json(bad))
        assert r.status_code == 400
        assert r.json()["error"].startswith("Invalid image ID")
    assert http.get(f"/v1/images/{'A' * 64}/layer").status_code == 400


def test_checksum_mismatch_stores_nothing(registry: RegistryProcess, http: httpx.Client) -> None:
    image_id, layer = random_image_id(), make_layer({"a": b"1"})
    raw = image_json(image_id)
    http.put(f"/v1/images/{image_id}/json", content=raw)
    http.put(f"/v1/images/{image_id}/layer", content=layer)
    wrong = payload_checksum(raw, layer + b"tampered")
    r = http.put(f"/v1/images/{image_id}/checksum", headers={"X-Docker-Checksum-Payload": wrong})
    assert (r.status_code, r.json()) == (400, {"error": "Checksum mismatch"})
    assert registry.files(f"images/{image_id}") == [
        f"images/{image_id}/_inprogress",
        f"images/{image_id}/ancestry",
        f"images/{image_id}/json",
    ]
    assert http.get(f"/v1/images/{image_id}/layer").status_code == 400


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_upload_cut_off_leaves_no_partial_object(
    registry: RegistryProcess, http: httpx.Client, framing: str
) -> None:
    image_id = random_image_id()
    http.put(f"/v1/images/{image_id}/json", content=image_json(image_id))
    aborted = metric(http, "wharf_registry_aborted_uploads_total")
    sent = os.urandom(300_000)
    if framing == "content-length":
        head = f"Content-Length: {len(sent) * 4}\r\n"
        body = sent
    else:
        head = "Transfer-Encoding: chunked\r\n"
        body = f"{len(sent):x}\r\n".encode() + sent + b"\r\n"  # no terminating 0-chunk
    with socket.create_connection(("127.0.0.1", registry.port)) as sock:
        sock.sendall(
            f"PUT /v1/images/{image_id}/layer HTTP/1.1\r\nHost: x\r\n{head}"
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + body
        )
        time.sleep(0.3)  # the server has the bytes; now the client dies
    wait_for(lambda: metric(http, "wharf_registry_aborted_uploads_total") > aborted)
    leftovers = [f for f in registry.files(f"images/{image_id}") if "_uploads" in f or "layer" in f]
    hidden = [p for p in (registry.data / "images" / image_id).rglob(".*")]
    assert leftovers == [] and hidden == []
    assert http.get(f"/v1/images/{image_id}/layer").status_code == 400


def test_layer_before_json(registry: RegistryProcess, http: httpx.Client) -> None:
    image_id = random_image_id()
    r = http.put(f"/v1/images/{image_id}/layer", content=make_layer({"a": b"1"}))
    assert (r.status_code, r.json()) == (404, {"error": "Image not found"})
    assert registry.files(f"images/{image_id}") == []


def test_tag_pointing_to_unknown_image(registry: RegistryProcess, http: httpx.Client) -> None:
    r = http.put("/v1/repositories/alice/ghost/tags/latest", content=json.dumps(random_image_id()))
    assert (r.status_code, r.json()) == (404, {"error": "Image not found"})
    assert http.get("/v1/repositories/alice/ghost/tags").status_code == 404
    assert registry.files("repositories/alice/ghost") == []


@needs_curl
@pytest.mark.parametrize(
    "name", ["../../etc", "%2e%2e/%2e%2e", "alice/%2E%2E", "..%2f..%2fetc", "alice/..%2f..%2f..%2fx"]
)
def test_path_traversal_in_repository_names(registry: RegistryProcess, http: httpx.Client, name: str) -> None:
    image_id = random_image_id()
    push_image(http, image_id, make_layer({"a": b"1"}))
    for method, suffix in (("GET", "/tags"), ("PUT", "/tags/latest"), ("DELETE", "/")):
        url = f"{registry.url}/v1/repositories/{name}{suffix}"
        out = curl(
            "--path-as-is", "-X", method, "-d", json.dumps(image_id), "-w", "\n%{http_code}", url
        ).stdout.decode()
        body, _, code = out.rpartition("\n")
        assert code == "400", out
        assert json.loads(body)["error"].startswith("Invalid repository name")
    assert sorted(p.name for p in registry.root.iterdir()) == ["data", "registry.log", "registry.pid"]
    assert {p.name for p in registry.data.iterdir()} <= {"images", "repositories"}


def test_ancestry_naming_a_missing_parent(registry: RegistryProcess, http: httpx.Client) -> None:
    image_id = random_image_id()
    r = http.put(f"/v1/images/{image_id}/json", content=image_json(image_id, parent=random_image_id()))
    assert (r.status_code, r.json()) == (400, {"error": "Image depends on a non existing parent"})
    assert http.get(f"/v1/images/{image_id}/ancestry").status_code == 404
    assert registry.files(f"images/{image_id}") == []


def test_concurrent_pushes_of_one_layer(registry: RegistryProcess) -> None:
    image_id, layer = random_image_id(), make_layer({"shared": os.urandom(1 << 20)})
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def pusher() -> None:
        try:
            with httpx.Client(base_url=registry.url, timeout=60) as client:
                start.wait()
                push_image(client, image_id, layer)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=pusher) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert registry.files(f"images/{image_id}") == [
        f"images/{image_id}/_checksum",
        f"images/{image_id}/ancestry",
        f"images/{image_id}/json",
        f"images/{image_id}/layer",
    ]
    assert httpx.get(f"{registry.url}/v1/images/{image_id}/layer").content == layer
