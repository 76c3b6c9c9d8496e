"""The registry process as operators run it: auth, S3 storage from env, logs and metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_registry_v1 import curl, http, needs_curl, push_image, registry, wait_for
from wharf_registry.testing import RegistryProcess, free_port, make_layer, random_image_id

VENV_BIN = Path(sys.executable).parent
__all__ = ["http", "registry"]  # fixtures shared with test_registry_v1


def test_one_log_line_per_request_with_request_id(registry: RegistryProcess, http: httpx.Client) -> None:
    r = http.get("/v1/_ping", headers={"X-Request-Id": "trace-me-123"})
    assert r.headers["x-request-id"] == "trace-me-123"
    wait_for(lambda: "trace-me-123" in registry.log.read_text())
    lines = [line for line in registry.log.read_text().splitlines() if "trace-me-123" in line]
    assert len(lines) == 1 and "http.request" in lines[0] and "status=200" in lines[0]
    text = http.get("/metrics").text
    assert 'wharf_registry_http_requests_total{method="GET",status="200"}' in text


@needs_curl
def test_basic_auth_with_users_file() -> None:
    reg = RegistryProcess()
    try:
        users = reg.root / "users"
        subprocess.run(
            [str(VENV_BIN / "wharf-registry"), "adduser", str(users), "alice"],
            input=b"pa55word\n",
            check=True,
            capture_output=True,
        )
        reg.start({"WHARF_REGISTRY_AUTH__USERS_FILE": str(users)})
        out = curl("-i", reg.url + "/v1/repositories/alice/web/tags").stdout.decode()
        assert out.startswith("HTTP/1.1 401")
        assert 'www-authenticate: basic realm="wharf-registry"' in out.lower()
        out = curl("-i", "-u", "alice:wrong", reg.url + "/v1/search").stdout.decode()
        assert out.startswith("HTTP/1.1 401")
        out = curl("-i", "-u", "alice:pa55word", reg.url + "/v1/search").stdout.decode()
        assert out.startswith("HTTP/1.1 200")
        assert curl("-i", reg.url + "/v1/_ping").stdout.startswith(b"HTTP/1.1 200")
        assert reg.stop() == 0
    finally:
        reg.cleanup()


@pytest.fixture
def moto_endpoint(tmp_path: Path) -> Iterator[str]:
    server = VENV_BIN / "moto_server"
    if not server.exists():
        pytest.skip("moto_server is not installed (dev dependency moto[server])")
    port = free_port()
    with (tmp_path / "moto.log").open("wb") as out:
        proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out)
    try:
        endpoint = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(endpoint + "/", timeout=1).status_code < 500
            except httpx.HTTPError:
                return False

        wait_for(up, 30)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_push_pull_on_s3_storage(moto_endpoint: str) -> None:
    import boto3

    reg = RegistryProcess()
    env = {
        "WHARF_REGISTRY_STORAGE__DRIVER": "s3",
        "WHARF_REGISTRY_STORAGE__BUCKET": "layers",
        "WHARF_REGISTRY_STORAGE__ENDPOINT_URL": moto_endpoint,
        "WHARF_REGISTRY_STORAGE__REGION": "us-east-1",
        "WHARF_REGISTRY_STORAGE__ACCESS_KEY": "test",
        "WHARF_REGISTRY_STORAGE__SECRET_KEY": "test",
        "WHARF_REGISTRY_STORAGE__PART_SIZE": str(5 << 20),
        "WHARF_REGISTRY_STORAGE__CREATE_BUCKET": "true",
    }
    try:
        reg.start(env)
        with httpx.Client(base_url=reg.url, timeout=60) as http:
            image_id, layer = random_image_id(), make_layer({"big": os.urandom(12 << 20)})
            push_image(http, image_id, layer)
            assert (
                http.put("/v1/repositories/ubuntu/tags/latest", content=json.dumps(image_id)).status_code
                == 200
            )
            assert http.get("/v1/repositories/ubuntu/tags").json() == {"latest": image_id}
            assert http.get(f"/v1/images/{image_id}/layer").content == layer
            r = http.get(f"/v1/images/{image_id}/layer", headers={"Range": "bytes=5-9"})
            assert (r.status_code, r.content) == (206, layer[5:10])
        s3 = boto3.client(
            "s3",
            endpoint_url=moto_endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="layers").get("Contents", []))
        assert f"images/{image_id}/layer" in keys
        assert not [k for k in keys if "_uploads" in k]
        assert s3.list_multipart_uploads(Bucket="layers").get("Uploads", []) == []
        assert not reg.data.exists() or reg.files() == []
        assert reg.stop() == 0
    finally:
        reg.cleanup()
