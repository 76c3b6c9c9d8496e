"""Pull and push over v2 between real wharf engines and a v2 registry, with no auth: Debian's Go
registry (v2 only) and wharf's own registry in standalone mode.

Engine A (the module's seeded engine) pushes busybox and a committed two-layer image with the
docker CLI; engine B pulls them (docker CLI, by tag and by digest, and docker-py). The
registry's request log says what was uploaded.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from typing import Any

import docker
import pytest
from engines import Engine, needs_docker
from goregistry import GoRegistry, WharfV2Registry, needs_go_registry

Registry = GoRegistry | WharfV2Registry

pytestmark = [pytest.mark.root, pytest.mark.slow, needs_docker, needs_go_registry]

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DIGEST_LINE = re.compile(
    r"^(?P<tag>[\w.-]+): digest: (?P<digest>sha256:[0-9a-f]{64}) size: (?P<size>\d+)$", re.M
)


@pytest.fixture(scope="module", params=["go", "wharf"])
def goreg(request: pytest.FixtureRequest) -> Iterator[Registry]:
    reg: Registry = GoRegistry() if request.param == "go" else WharfV2Registry()
    try:
        reg.start()
        yield reg
    finally:
        reg.cleanup()


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout.decode()


def manifest(reg: Registry, repository: str, reference: str) -> bytes:
    request = urllib.request.Request(
        f"http://{reg.domain}/v2/{repository}/manifests/{reference}",
        headers={"Accept": MANIFEST},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body: bytes = response.read()
        return body


def inspect(engine: Engine, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = json.loads(ok(engine.docker("image", "inspect", name)))
    return found[0]


def commit(engine: Engine, name: str, text: str) -> str:
    """busybox plus a layer whose ``/greeting`` holds ``text``; CMD cats it."""
    container = ok(engine.docker("create", "busybox", "sh", "-c", f"echo {text} > /greeting")).strip()
    try:
        ok(engine.docker("start", "-a", container))
        return ok(engine.docker("commit", "--change", 'CMD ["cat", "/greeting"]', container, name)).strip()
    finally:
        engine.docker("rm", "-f", container)


@pytest.fixture(scope="module")
def pushed(engine: Engine, goreg: Registry) -> dict[str, str]:
    """``web``: a two-layer image pushed to ``<registry>/alice/web``; its digest and image id."""
    name = f"{goreg.domain}/alice/web"
    image_id = commit(engine, name, "hello-v2")
    out = ok(engine.docker("push", name))
    match = DIGEST_LINE.search(out)
    assert match is not None, out
    return {"name": name, "digest": match["digest"], "image_id": image_id, "out": out}


def test_docker_push_prints_the_manifest_digest_and_size(engine: Engine, goreg: Registry) -> None:
    name = f"{goreg.domain}/busybox"
    ok(engine.docker("tag", "busybox", name))
    out = ok(engine.docker("push", name))
    assert f"The push refers to repository [{name}]" in out
    assert re.search(r"^[0-9a-f]{12}: Pushed$", out, re.M), out
    match = DIGEST_LINE.search(out)
    assert match is not None and match["tag"] == "latest", out
    stored = manifest(goreg, "busybox", "latest")  # what the registry holds is what was announced
    assert "sha256:" + hashlib.sha256(stored).hexdigest() == match["digest"]
    assert len(stored) == int(match["size"])
    assert f"{name}@{match['digest']}" in inspect(engine, name)["RepoDigests"]


def test_push_stream_has_the_aux_result(engine: Engine, goreg: Registry) -> None:
    name = f"{goreg.domain}/busybox"
    ok(engine.docker("tag", "busybox", f"{name}:aux"))
    status, body = engine.request("POST", f"/images/{name}/push?tag=aux", headers={"X-Registry-Auth": "e30="})
    assert status == 200, body
    messages = [json.loads(line) for line in body.splitlines() if line.strip()]
    aux = [m["aux"] for m in messages if "aux" in m]
    assert len(aux) == 1 and aux[0]["Tag"] == "aux", messages
    assert {"status": f"aux: digest: {aux[0]['Digest']} size: {aux[0]['Size']}"} in messages
    assert "Layer already exists" in {m.get("status") for m in messages}


def test_second_push_uploads_nothing(engine: Engine, goreg: Registry, pushed: dict[str, str]) -> None:
    before = len(goreg.requests())
    out = ok(engine.docker("push", pushed["name"]))
    sent = goreg.requests()[before:]
    assert not [r for r in sent if r.startswith(("PUT /v2/alice/web/blobs", "PATCH"))], sent
    assert out.count("Layer already exists") == 2, out
    assert DIGEST_LINE.search(out)["digest"] == pushed["digest"]  # type: ignore[index]


def test_push_to_another_repository_mounts_the_layers(
    engine: Engine, goreg: Registry, pushed: dict[str, str]
) -> None:
    other = f"{goreg.domain}/bob/copy"
    ok(engine.docker("tag", pushed["name"], other))
    before = len(goreg.requests())
    out = ok(engine.docker("push", other))
    sent = goreg.requests()[before:]
    assert out.count("Mounted from alice/web") == 2, out
    assert len([r for r in sent if r.startswith("PUT /v2/bob/copy/blobs/uploads")]) == 1, sent  # the config
    assert DIGEST_LINE.search(out)["digest"] == pushed["digest"]  # type: ignore[index]


def test_pull_into_an_empty_engine_runs_with_digests(engine_b: Engine, pushed: dict[str, str]) -> None:
    out = ok(engine_b.docker("pull", pushed["name"]))
    for line in (
        "latest: Pulling from alice/web",
        "Pull complete",
        f"Digest: {pushed['digest']}",
        f"Status: Downloaded newer image for {pushed['name']}:latest",
    ):
        assert line in out, out
    assert ok(engine_b.docker("run", "--rm", pushed["name"])).strip() == "hello-v2"
    found = inspect(engine_b, pushed["name"])
    assert found["Id"] == pushed["image_id"]  # the config travels byte for byte
    assert found["RepoDigests"] == [f"{pushed['name']}@{pushed['digest']}"]
    listing = ok(engine_b.docker("images", "--digests", "--format", "{{.Repository}} {{.Digest}}"))
    assert f"{pushed['name']} {pushed['digest']}" in listing
    again = ok(engine_b.docker("pull", pushed["name"]))
    assert f"Status: Image is up to date for {pushed['name']}:latest" in again


def test_pull_by_digest(engine_b: Engine, pushed: dict[str, str]) -> None:
    by_digest = f"{pushed['name']}@{pushed['digest']}"
    engine_b.docker("rmi", "-f", pushed["name"])
    out = ok(engine_b.docker("pull", by_digest))
    assert f"Status: Downloaded newer image for {by_digest}" in out, out
    assert ok(engine_b.docker("run", "--rm", by_digest)).strip() == "hello-v2"
    assert inspect(engine_b, by_digest)["RepoDigests"] == [by_digest]
    ok(engine_b.docker("image", "prune", "-f"))  # a name@digest reference keeps it, as in Docker
    assert inspect(engine_b, by_digest)["RepoDigests"] == [by_digest]
    assert ok(engine_b.docker("rmi", by_digest)).splitlines()[0] == f"Untagged: {by_digest}"
    wrong = pushed["name"] + "@sha256:" + "0" * 64
    result = engine_b.docker("pull", wrong)
    assert result.returncode != 0 and b"manifest unknown" in result.stderr, result


def test_pull_of_an_unknown_tag_says_manifest_unknown(engine_b: Engine, goreg: Registry) -> None:
    result = engine_b.docker("pull", f"{goreg.domain}/alice/web:nope")
    assert result.returncode != 0
    assert f"manifest for {goreg.domain}/alice/web:nope not found: manifest unknown" in result.stderr.decode()


def test_docker_py_pulls_and_pushes(engine_b: Engine, goreg: Registry, pushed: dict[str, str]) -> None:
    client = docker.DockerClient(base_url=engine_b.host, version="1.41", timeout=60)
    try:
        image = client.images.pull(pushed["name"], tag="latest")
        assert image.id == pushed["image_id"]
        assert f"{pushed['name']}@{pushed['digest']}" in image.attrs["RepoDigests"]
        image.tag(f"{goreg.domain}/carol/py", "v1")
        lines = list(client.images.push(f"{goreg.domain}/carol/py", tag="v1", stream=True, decode=True))
        assert not [m for m in lines if "error" in m], lines
        aux = [m["aux"] for m in lines if "aux" in m]
        assert aux and aux[0]["Digest"] == pushed["digest"] and aux[0]["Tag"] == "v1", lines
    finally:
        client.close()


def test_manifest_list_resolves_to_linux_amd64_or_the_platform_asked(
    engine: Engine, engine_b: Engine, goreg: Registry
) -> None:
    name = f"{goreg.domain}/multi/busybox"
    ok(engine.docker("tag", "busybox", name))
    match = DIGEST_LINE.search(ok(engine.docker("push", name)))
    assert match is not None
    entry = {"mediaType": MANIFEST, "digest": match["digest"], "size": int(match["size"])}
    arm64 = {"architecture": "arm64", "os": "linux", "variant": "v8"}
    amd64 = {"architecture": "amd64", "os": "linux"}
    manifests = [{**entry, "platform": arm64}, {**entry, "platform": amd64}]
    index = json.dumps({"schemaVersion": 2, "mediaType": LIST, "manifests": manifests}).encode()
    url = f"http://{goreg.domain}/v2/multi/busybox/manifests/multi"
    request = urllib.request.Request(url, data=index, method="PUT", headers={"Content-Type": LIST})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    list_digest = "sha256:" + hashlib.sha256(index).hexdigest()

    out = ok(engine_b.docker("pull", f"{name}:multi"))
    assert f"Digest: {list_digest}" in out  # the tag's digest is the list's, as Docker records it
    assert f"{name}@{list_digest}" in inspect(engine_b, f"{name}:multi")["RepoDigests"]
    wrong = engine_b.docker("pull", "--platform", "linux/arm64", f"{name}:multi")  # its config says amd64
    assert wrong.returncode != 0 and b"does not match the specified platform" in wrong.stderr, wrong
    missing = engine_b.docker("pull", "--platform", "linux/s390x", f"{name}:multi")
    assert missing.returncode != 0 and b"no matching manifest for linux/s390x" in missing.stderr, missing
