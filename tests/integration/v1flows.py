"""The v1 push and pull as an engine speaks them, over plain HTTP, for tests that need the hub's
real tokens without starting an engine: ask the hub (the index) for a token, use it on the
registry, tell the hub the push is done."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
from hubstack import Stack
from wharf_registry.testing import image_json, make_layer, payload_checksum, random_image_id

ASK_FOR_TOKEN = {"X-Docker-Token": "true"}


def basic(user: str | None, password: str) -> httpx.BasicAuth | None:
    return None if user is None else httpx.BasicAuth(user, password)


def write_token(stack: Stack, repository: str, user: str, password: str) -> dict[str, str]:
    """``PUT /v1/repositories/<repository>/`` on the hub: the registry's ``Authorization`` header."""
    r = httpx.put(
        f"{stack.hub.url}/v1/repositories/{repository}/",
        json=[],
        headers=ASK_FOR_TOKEN,
        auth=basic(user, password),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return {"Authorization": "Token " + r.headers["x-docker-token"]}


def upload_image(registry: httpx.Client, auth: dict[str, str], content: bytes = b"hello\n") -> str:
    """One new image (JSON, layer, checksum) on the registry; its id."""
    image_id = random_image_id()
    raw, layer = image_json(image_id), make_layer({"etc/motd": content})
    r = registry.put(
        f"/v1/images/{image_id}/json", content=raw, headers={**auth, "Content-Type": "application/json"}
    )
    assert r.status_code == 200, r.text

    def chunks() -> Iterator[bytes]:
        yield layer

    r = registry.put(
        f"/v1/images/{image_id}/layer",
        content=chunks(),
        headers={**auth, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 200, r.text
    r = registry.put(
        f"/v1/images/{image_id}/checksum",
        headers={**auth, "X-Docker-Checksum-Payload": payload_checksum(raw, layer)},
    )
    assert r.status_code == 200, r.text
    return image_id


def put_tag(registry: httpx.Client, auth: dict[str, str], repository: str, tag: str, image_id: str) -> int:
    r = registry.put(
        f"/v1/repositories/{repository}/tags/{tag}",
        content=json.dumps(image_id),
        headers={**auth, "Content-Type": "application/json"},
    )
    return r.status_code


def push(stack: Stack, repository: str, user: str, password: str, tag: str = "latest") -> str:
    """A whole push through hub and registry (the hub creates the repository on its first push)."""
    auth = write_token(stack, repository, user, password)
    with httpx.Client(base_url=stack.registry.url, timeout=30) as registry:
        image_id = upload_image(registry, auth)
        assert put_tag(registry, auth, repository, tag, image_id) == 200
    r = httpx.put(
        f"{stack.hub.url}/v1/repositories/{repository}/images",
        json=[{"id": image_id, "Tag": tag}],
        auth=basic(user, password),
        timeout=30,
    )
    assert r.status_code == 204, r.text
    return image_id


__all__ = ["ASK_FOR_TOKEN", "basic", "push", "put_tag", "upload_image", "write_token"]
