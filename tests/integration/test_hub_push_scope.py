"""Real engines push and pull through a real hub and an index-mode registry that scopes image ids
to repositories: a layer another repository pushed first is proven (sent again and compared),
never skipped on the registry's word, and what was pushed is what is pulled.

The hub and registry are stopped by pid and their roots removed at teardown, whatever happened.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from engines import Engine
from hubstack import Stack, hub_stack
from wharf_engine.distribution.v1 import V1Layer, v1_chain
from wharf_engine.distribution.v1ids import V1IdStore
from wharf_engine.images.references import ReferenceStore
from wharf_engine.images.store import ImageStore
from wharf_engine.layers.store import LayerStore
from wharf_registry.testing import make_layer, payload_checksum

pytestmark = [pytest.mark.root, pytest.mark.slow]

DEFAULT_KEY = "https://index.docker.io/v1/"
USERS = {"alice": "pa55word", "bobby": "b0bpass1", "mallory": "m4llory1"}


@pytest.fixture(scope="module", autouse=True)
def stack() -> Iterator[Stack]:
    with hub_stack("wharf-hubscope-", USERS) as built:
        yield built


def creds(user: str) -> dict[str, str]:
    return {"username": user, "password": USERS[user], "serveraddress": DEFAULT_KEY}


def stream(engine: Engine, method: str, path: str, auth: dict[str, str] | None = None) -> list[Any]:
    header = base64.urlsafe_b64encode(json.dumps(auth or {}).encode()).decode()
    status, body = engine.request(method, path, headers={"X-Registry-Auth": header})
    assert status == 200, (status, body)
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def statuses(messages: list[Any]) -> list[str]:
    assert not [m for m in messages if "error" in m], messages
    return [m["status"] for m in messages]


def commit(engine: Engine, name: str, tag: str, text: str) -> None:
    """busybox plus one layer: ``/b`` holds ``text``."""
    cmd = {"Image": "busybox", "Cmd": ["sh", "-c", f"echo {text} > /b"]}
    container = engine.json("POST", "/containers/create", cmd)["Id"]
    try:
        assert engine.request("POST", f"/containers/{container}/start")[0] == 204
        assert engine.json("POST", f"/containers/{container}/wait")["StatusCode"] == 0
        assert engine.request("POST", f"/commit?container={container}&repo={name}&tag={tag}")[0] == 201
    finally:
        engine.request("DELETE", f"/containers/{container}?force=1")


def test_base_pushed_by_another_repository_is_proven_then_pulled_whole(
    engine: Engine, engine_b: Engine, stack: Stack
) -> None:
    assert engine.request("POST", "/images/busybox/tag?repo=alice/base&tag=v1")[0] == 201
    assert "Pushed" in statuses(stream(engine, "POST", "/images/alice/base/push?tag=v1", creds("alice")))

    # bobby's image is busybox plus a layer: the busybox layer keeps the id (and the JSON) alice's
    # push gave it, the registry holds it for alice/base only, so it goes out again as the proof
    container = engine.json(
        "POST", "/containers/create", {"Image": "busybox", "Cmd": ["sh", "-c", "echo bob > /b"]}
    )["Id"]
    try:
        assert engine.request("POST", f"/containers/{container}/start")[0] == 204
        assert engine.json("POST", f"/containers/{container}/wait")["StatusCode"] == 0
        assert engine.request("POST", f"/commit?container={container}&repo=bobby/app&tag=v1")[0] == 201
    finally:
        engine.request("DELETE", f"/containers/{container}?force=1")
    out = statuses(stream(engine, "POST", "/images/bobby/app/push?tag=v1", creds("bobby")))
    assert out.count("Pushed") == 2 and "Layer already exists" not in out
    records = stack.registry.files("repositories/bobby/app/_images")
    assert len(records) == 2  # both layers are bobby/app's now

    out = statuses(stream(engine, "POST", "/images/bobby/app/push?tag=v1", creds("bobby")))
    assert out.count("Layer already exists") == 2  # its own, with its own checksums: skipped

    bob = creds("bobby")
    out = statuses(stream(engine_b, "POST", "/images/create?fromImage=bobby/app&tag=v1", bob))
    assert out.count("Pull complete") == 2
    status, body = engine_b.request("GET", "/images/bobby/app:v1/json")
    assert status == 200, body


def v1_images(engine: Engine, reference: str) -> list[V1Layer]:
    """The v1 images the engine will push for ``reference``, computed as its push does."""
    root = engine.root / "data"
    [image_id] = [i for ref, i in ReferenceStore(root).items() if ref.endswith(reference)]
    config = ImageStore(root).get(image_id)
    sizes = [LayerStore(root).get(d).size for d in config["rootfs"]["diff_ids"]]
    return v1_chain(image_id, config, sizes, V1IdStore(root))


def test_id_taken_first_by_another_user_is_never_tagged_with_their_content(
    engine: Engine, engine_b: Engine, stack: Stack
) -> None:
    """Mallory knows the id and JSON of the image Bob is about to push and pushes her own layer
    under them first: Bob's engine used to hear "already exists", skip, and tag her content."""
    commit(engine, "bobby/trap", "v1", "bob-own")
    chain = v1_images(engine, "bobby/trap:v1")
    top = chain[-1]
    with httpx.Client(base_url=stack.hub.url, timeout=30) as hub:
        mallory = ("mallory", USERS["mallory"])
        r = hub.put(
            "/v1/repositories/mallory/bait/",
            json=[{"id": top.v1_id}],
            auth=mallory,
            headers={"X-Docker-Token": "true"},
        )
        assert r.status_code == 200, r.text
        token = {"Authorization": f"Token {r.headers['x-docker-token']}"}
    evil = make_layer({"b": b"mallory's\n"})
    with httpx.Client(base_url=stack.registry.url, headers=token, timeout=30) as registry:
        for layer in chain:  # the base too, unless another test pushed it already
            r = registry.put(f"/v1/images/{layer.v1_id}/json", content=layer.raw)
            if layer is not top and r.status_code != 200:
                continue
            assert r.status_code == 200, r.text
            assert registry.put(f"/v1/images/{layer.v1_id}/layer", content=evil).status_code in (200, 409)
            checksum = {"X-Docker-Checksum-Payload": payload_checksum(layer.raw, evil)}
            registry.put(f"/v1/images/{layer.v1_id}/checksum", headers=checksum)
        assert registry.get(f"/v1/images/{top.v1_id}/json").status_code == 200  # complete, mallory's

    messages = stream(engine, "POST", "/images/bobby/trap/push?tag=v1", creds("bobby"))
    assert "Image already exists with different content" in messages[-1]["error"], messages
    assert not [
        m for m in messages if m.get("id") == top.v1_id[:12] and m.get("status") == "Layer already exists"
    ]
    status, body = engine_b.request(
        "POST",
        "/images/create?fromImage=bobby/trap&tag=v1",
        headers={"X-Registry-Auth": base64.urlsafe_b64encode(json.dumps(creds("bobby")).encode()).decode()},
    )
    assert status == 404 or b"error" in body  # no tag: nothing to pull, and never mallory's layer
    assert engine_b.request("GET", "/images/bobby/trap:v1/json")[0] == 404
