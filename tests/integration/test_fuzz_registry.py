"""schemathesis against a real registry process, standalone and in index mode, filesystem storage.

The registry serves no OpenAPI document (``openapi_url=None``): the description is the one its
FastAPI app generates, built here from the same settings as the process. Its routes read raw
bodies and headers, so :func:`describe_bodies` adds what the v1 protocol sends (image JSON,
layer bytes, checksum headers, a tag's image id, a repository's image list, ``Range``).
The fuzzer's examples name an image, a repository and a tag pushed before the run; in index
mode every request carries a write token for that repository, signed with a key made here.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fuzzing import Fuzzer, destructive_last, message_shape
from schemathesis import Response
from wharf_common.tokens import TokenSigner, public_key_pem
from wharf_registry.app import create_app
from wharf_registry.index_access import IndexSettings
from wharf_registry.settings import Settings
from wharf_registry.testing import RegistryProcess, image_json, make_layer, payload_checksum, random_image_id

pytestmark = pytest.mark.slow

REPOSITORY, TAG = "library/fuzz", "latest"
JSON = "application/json"


@dataclass
class Registry:
    process: RegistryProcess
    spec: dict[str, Any]
    headers: dict[str, str]
    image_id: str


def push_image(url: str, headers: dict[str, str]) -> str:
    """One image with a layer, tagged ``library/fuzz:latest``: what the examples name."""
    image_id = random_image_id()
    body, layer = image_json(image_id), make_layer({"etc/fuzz": b"fuzz\n"})
    base = f"{url}/v1/images/{image_id}"
    steps = [
        ("json", body, {}),
        ("layer", layer, {}),
        ("checksum", b"", {"X-Docker-Checksum-Payload": payload_checksum(body, layer)}),
    ]
    for step, data, extra in steps:
        done = requests.put(f"{base}/{step}", data=data, headers={**headers, **extra}, timeout=30)
        assert done.status_code == 200, (step, done.text)
    tagged = requests.put(
        f"{url}/v1/repositories/{REPOSITORY}/tags/{TAG}", json=image_id, headers=headers, timeout=30
    )
    assert tagged.status_code == 200, tagged.text
    return image_id


@pytest.fixture(scope="module", params=["standalone", "index"])
def registry(request: pytest.FixtureRequest) -> Iterator[Registry]:
    root = Path(tempfile.mkdtemp(prefix="wharf-fuzz-registry-"))
    process = RegistryProcess(root=root)
    settings = Settings(data_root=root / "spec-data")
    headers: dict[str, str] = {}
    if request.param == "index":
        key = Ed25519PrivateKey.generate()
        pem = root / "index.pub.pem"
        pem.write_bytes(public_key_pem(key.public_key()))
        process.index_public_key = pem
        settings = Settings(data_root=root / "spec-data", index=IndexSettings(public_key=pem))
        token = TokenSigner(key).issue(REPOSITORY, "write", "fuzzer", 3600)
        headers = {"Authorization": f"Token {token}"}
    try:
        process.start()
        image_id = push_image(process.url, headers)
        spec = describe_bodies(create_app(settings).openapi(), image_id)
        yield Registry(process, spec, headers, image_id)
    finally:
        process.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def _body(media_type: str, schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"required": True, "content": {media_type: content}}


def _header(name: str, example: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "example": example}


def describe_bodies(spec: dict[str, Any], image_id: str) -> dict[str, Any]:
    """The bodies and headers the routes read themselves, and examples naming the pushed image."""
    image = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "parent": {"type": "string"},
            "created": {"type": "string"},
            "Size": {"type": "integer"},
            "container_config": {"type": "object"},
        },
    }
    images = {
        "type": "array",
        "items": {"type": "object", "properties": {"id": {"type": "string"}, "checksum": {"type": "string"}}},
    }
    bodies = {
        ("put", "/v1/images/{image_id}/json"): _body(JSON, image, json.loads(image_json(image_id))),
        ("put", "/v1/images/{image_id}/layer"): _body(
            "application/octet-stream", {"type": "string", "format": "binary"}
        ),
        ("put", "/v1/repositories/{repository}/tags/{tag}"): _body(JSON, {"type": "string"}, image_id),
        ("put", "/v1/repositories/{repository}/images"): _body(JSON, images, [{"id": image_id}]),
        ("put", "/v1/repositories/{repository}/"): _body(JSON, images, [{"id": image_id}]),
        ("post", "/v1/users/"): _body(
            JSON,
            {
                "type": "object",
                "properties": {
                    "username": {"type": "string"},
                    "password": {"type": "string"},
                    "email": {"type": "string"},
                },
            },
        ),
    }
    headers = {
        ("get", "/v1/images/{image_id}/layer"): [_header("Range", "bytes=0-9")],
        ("put", "/v1/images/{image_id}/checksum"): [
            _header("X-Docker-Checksum-Payload", "sha256:" + "0" * 64),
            _header("X-Docker-Checksum", "tarsum+sha256:" + "0" * 64),
        ],
    }
    examples = {"image_id": image_id, "repository": REPOSITORY, "tag": TAG}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if (method, path) in bodies:
                operation["requestBody"] = bodies[method, path]
            operation.setdefault("parameters", []).extend(headers.get((method, path), []))
            for parameter in operation["parameters"]:
                if parameter["in"] == "path" and parameter["name"] in examples:
                    parameter["example"] = examples[parameter["name"]]
    return spec


V1_SHAPE = message_shape("error")


def registry_error_shape(response: Response) -> str | None:
    """v1's ``{"error": str}``, or under ``/v2`` the distribution spec's ``{"errors": [{"code", ...}]}``."""
    path = urllib.parse.urlsplit(str(response.request.url)).path
    if path != "/v2" and not path.startswith("/v2/"):
        return V1_SHAPE(response)
    if response.request.method == "HEAD":
        return None  # no body, as HTTP says
    try:
        errors = json.loads(response.content).get("errors")
    except (ValueError, AttributeError):
        errors = None
    if (
        isinstance(errors, list)
        and errors
        and all(
            isinstance(e, dict) and isinstance(e.get("code"), str) and isinstance(e.get("message"), str)
            for e in errors
        )
    ):
        return None
    return 'not {"errors": [{"code": str, "message": str, ...}]}'


def test_registry_answers_fuzzed_requests_without_server_errors(registry: Registry) -> None:
    schema = schemathesis.openapi.from_dict(destructive_last(registry.spec))
    fuzzer = Fuzzer(registry.process.url, registry_error_shape, headers=registry.headers)
    failures = fuzzer.run(schema)
    log = "\n".join(registry.process.log.read_text(errors="replace").splitlines()[-15:])
    assert not failures, "\n\n".join(failures) + "\n\nregistry log:\n" + log


# what the fuzzer found, one plain request each


def test_unsatisfiable_range_answers_the_error_shape(registry: Registry) -> None:
    """``Range: bytes=<size>-`` was a 416 with an empty body."""
    url = f"{registry.process.url}/v1/images/{registry.image_id}/layer"
    size = len(requests.get(url, headers=registry.headers, timeout=30).content)
    r = requests.get(url, headers={**registry.headers, "Range": f"bytes={size}-"}, timeout=30)
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
    assert r.json() == {"error": "Requested range not satisfiable"}
