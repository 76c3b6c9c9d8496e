"""Unauthenticated bodies against real hub, registry and engine processes: an oversized body is
refused with 413 before it is buffered (the process does not grow), and deeply nested JSON is a
400 in the service's error shape, never a 500 with a RecursionError."""

from __future__ import annotations

import http.client
import json
import os
import select
import shutil
import socket
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import Engine, make_engine
from wharf_hub.testing import HubProcess
from wharf_registry.testing import RegistryProcess, image_json, random_image_id

MiB = 1 << 20
DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_SMALL = b"[" * 20_000 + b"]" * 20_000  # within the webhook callback's own 64 KiB limit
CALLBACK = "/u/alice/web/hook/0123456789abcdef/"


def vm_rss(pid: int) -> int:
    """Resident set size of ``pid`` in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _answer(sock: socket.socket) -> tuple[int, bytes]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, response.read()


def post_chunked(
    address: tuple[str, int] | str, method: str, path: str, total: int, first: bytes = b""
) -> tuple[int, bytes]:
    """Send ``total`` bytes as a chunked body (no Content-Length, so no early refusal on it) over
    TCP or a unix socket, stopping as soon as the server answers; return its answer."""
    piece = b"x" * MiB
    frame = b"%x\r\n" % len(piece) + piece + b"\r\n"
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(60)
        sock.connect(address)
    else:
        sock = socket.create_connection(address, timeout=60)
    with sock:
        head = f"{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        sock.sendall(head.encode() + b"Transfer-Encoding: chunked\r\n\r\n")
        if first:
            sock.sendall(b"%x\r\n" % len(first) + first + b"\r\n")
        sent = len(first)
        try:
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(frame)
                sent += len(piece)
            if sent >= total:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: read what it said
        return _answer(sock)


def http_request(
    address: tuple[str, int], method: str, path: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(*address, timeout=60)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# ---- hub ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub() -> Iterator[HubProcess]:
    root = Path(tempfile.mkdtemp(prefix="wharf-limits-hub-"))
    process = HubProcess(root / "hub")
    try:
        process.start()
        yield process
    finally:
        process.stop()
        shutil.rmtree(root, ignore_errors=True)


def _hub_address(hub: HubProcess) -> tuple[str, int]:
    return ("127.0.0.1", hub.port)


@pytest.mark.parametrize(("path", "problem"), [(CALLBACK, True), ("/v1/users", False)])
def test_hub_refuses_a_300_mb_chunked_post_without_growing(hub: HubProcess, path: str, problem: bool) -> None:
    assert hub.proc is not None
    before = vm_rss(hub.proc.pid)
    status, body = post_chunked(_hub_address(hub), "POST", path, 300 * MiB)
    growth = vm_rss(hub.proc.pid) - before
    assert status == 413, body
    assert growth < 64 * MiB, f"the hub grew by {growth / MiB:.0f} MiB"  # it was 330 MiB
    detail = "request body too large: the limit is 1048576 bytes"
    if problem:
        assert json.loads(body) == {
            "type": "about:blank",
            "title": "Request Entity Too Large",
            "status": 413,
            "detail": detail,
        }
    else:
        assert json.loads(body) == detail  # the v1 index answers a JSON string
    assert http_request(_hub_address(hub), "GET", "/v1/_ping", b"")[0] == 200  # still serving


def test_hub_refuses_a_large_declared_length_at_once(hub: HubProcess) -> None:
    status, body = http_request(_hub_address(hub), "POST", "/v1/users", b"{" + b" " * (2 * MiB) + b"}")
    assert status == 413 and "too large" in json.loads(body)


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/v1/users"), ("PUT", "/v1/repositories/alice/web/"), ("POST", CALLBACK)]
)
def test_hub_answers_deep_json_with_400(hub: HubProcess, method: str, path: str) -> None:
    status, body = http_request(_hub_address(hub), method, path, DEEP_SMALL if path == CALLBACK else DEEP)
    assert status == 400, body
    message = json.loads(body)
    assert "JSON" in (message["detail"] if path == CALLBACK else message)


def test_hub_api_bodies_parsed_by_fastapi_are_400_too(hub: HubProcess) -> None:
    status, body = http_request(_hub_address(hub), "POST", "/api/v1/users", DEEP)
    assert status == 400 and json.loads(body)["detail"] == "There was an error parsing the body"


# ---- registry -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryProcess]:
    process = RegistryProcess()
    try:
        process.start()
        yield process
    finally:
        process.cleanup()


def test_registry_refuses_oversized_json_bodies_with_its_error_shape(registry: RegistryProcess) -> None:
    address = ("127.0.0.1", registry.port)
    tag = "/v1/repositories/alice/web/tags/latest"  # a JSON body with no rule of its own
    status, body = post_chunked(address, "PUT", tag, 64 * MiB)
    assert status == 413
    assert json.loads(body) == {"error": "request body too large: the limit is 4194304 bytes"}
    path = f"/v1/images/{random_image_id()}/json"  # image JSON has its own, lower limit
    for status, body in (
        post_chunked(address, "PUT", path, 64 * MiB),
        http_request(address, "PUT", path, b" " * (5 * MiB)),
    ):
        error = json.loads(body)["error"]  # the JSON rule (1 MiB) or, on a declared length, the body limit
        assert status == 413 and ("1048576" in error or "4194304" in error), error
    assert registry.files("images") == []


def test_registry_layer_uploads_stream_under_their_own_limit() -> None:
    process = RegistryProcess()
    try:
        process.start(env={"WHARF_REGISTRY_UPLOADS__MAX_LAYER_SIZE": str(8 * MiB)})
        address = ("127.0.0.1", process.port)
        image_id = random_image_id()
        assert http_request(address, "PUT", f"/v1/images/{image_id}/json", image_json(image_id))[0] == 200
        status, _ = http_request(address, "PUT", f"/v1/images/{image_id}/layer", b"x" * (6 * MiB))
        assert status == 200  # over the 4 MiB JSON limit: layers have their own
        other = random_image_id()
        assert http_request(address, "PUT", f"/v1/images/{other}/json", image_json(other))[0] == 200
        status, body = post_chunked(address, "PUT", f"/v1/images/{other}/layer", 64 * MiB)
        assert status == 413 and "8388608" in json.loads(body)["error"]
        left = sorted(f.rsplit("/", 1)[1] for f in process.files(f"images/{other}"))
        assert left == ["_inprogress", "ancestry", "json"]  # what the JSON PUT made; no upload left
    finally:
        process.cleanup()


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/images/{random_image_id()}/json",
        "/v1/repositories/alice/web/tags/latest",
        "/v1/repositories/alice/web/",
        "/v1/repositories/alice/web/images",
    ],
)
def test_registry_answers_deep_json_with_400(registry: RegistryProcess, path: str) -> None:
    status, body = http_request(("127.0.0.1", registry.port), "PUT", path, DEEP)
    assert status == 400, body
    assert "error" in json.loads(body)


# ---- engine -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_engine() -> Iterator[Engine]:
    """An empty engine whose streamed uploads are limited to 2 MiB."""
    if os.geteuid() != 0:
        pytest.skip("the engine needs root")
    eng = make_engine()
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("WHARF_ENGINE_MAX_UPLOAD_BYTES", str(2 * MiB))
            eng.start()
        yield eng
    finally:
        eng.cleanup()


def test_engine_refuses_oversized_bodies_with_its_error_shape(small_engine: Engine) -> None:
    big = b"{" + b" " * (17 * MiB) + b"}"
    status, body = small_engine.request(
        "POST", "/containers/create", big, {"Content-Type": "application/json"}
    )
    assert status == 413
    assert json.loads(body) == {"message": "request body too large: the limit is 16777216 bytes"}
    # a streamed route, chunked: refused while it streams
    member = tarfile.TarInfo("blob")
    member.size = 8 * MiB  # a well-formed start of an image tarball, so only the limit stops it
    status, body = post_chunked(
        str(small_engine.socket), "POST", "/v1.45/images/load", 8 * MiB, member.tobuf(tarfile.GNU_FORMAT)
    )
    assert status == 413
    assert json.loads(body) == {"message": "request body too large: the limit is 2097152 bytes"}
    assert small_engine.json("GET", "/images/json") == []


@pytest.mark.parametrize(("path", "headers"), [("/containers/create", {}), ("/auth", {})])
def test_engine_answers_deep_json_with_400(small_engine: Engine, path: str, headers: dict[str, str]) -> None:
    status, body = small_engine.request("POST", path, DEEP, headers={"Content-Type": "application/json"})
    assert status == 400, body
    assert "JSON" in json.loads(body)["message"]
