"""Router tests for tags, the standalone index routes, search, ping and metrics."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from wharf_registry.settings import Settings
from wharf_registry.testing import image_json, make_layer, payload_checksum, random_image_id

pytestmark = pytest.mark.anyio


async def pushed_image(client: httpx.AsyncClient) -> str:
    image_id, layer = random_image_id(), make_layer({"a": b"1"})
    raw = image_json(image_id)
    await client.put(f"/v1/images/{image_id}/json", content=raw)
    await client.put(f"/v1/images/{image_id}/layer", content=layer)
    headers = {"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
    assert (await client.put(f"/v1/images/{image_id}/checksum", headers=headers)).status_code == 200
    return image_id


async def test_tags_put_get_delete(client: httpx.AsyncClient) -> None:
    image_id = await pushed_image(client)
    r = await client.put("/v1/repositories/alice/web/tags/v1", content=json.dumps(image_id))
    assert r.status_code == 200
    assert r.json() is True
    assert (await client.get("/v1/repositories/alice/web/tags")).json() == {"v1": image_id}
    assert (await client.get("/v1/repositories/alice/web/tags/v1")).json() == image_id
    assert (await client.delete("/v1/repositories/alice/web/tags/v1")).status_code == 200
    r = await client.get("/v1/repositories/alice/web/tags/v1")
    assert r.status_code == 404
    assert r.json() == {"error": "Tag not found"}


def stored_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def write_older_layout(repo: Path, image_id: str) -> None:
    """Tag ``_v1``, and its metadata where older registries kept it."""
    repo.mkdir(parents=True)
    (repo / "tag__v1").write_text(image_id)
    (repo / "tag_v1_json").write_text(json.dumps({"last_update": 1400000000, "docker_version": "1.4.1"}))


async def test_tags_named_like_metadata_files_are_distinct(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """``_v1``'s metadata was stored as ``tag_v1_json``: the tag file of tag ``v1_json``."""
    first, second = await pushed_image(client), await pushed_image(client)
    ua = {"User-Agent": "docker/1.5.0 go/go1.4.1 kernel/3.16 os/linux arch/amd64"}
    for tag, image_id in (("_v1", first), ("v1_json", second), ("_", first), ("_json", second)):
        r = await client.put(
            f"/v1/repositories/alice/web/tags/{tag}", content=json.dumps(image_id), headers=ua
        )
        assert r.status_code == 200
    expected = {"_v1": first, "v1_json": second, "_": first, "_json": second}
    assert (await client.get("/v1/repositories/alice/web/tags")).json() == expected
    for tag, image_id in expected.items():
        assert (await client.get(f"/v1/repositories/alice/web/tags/{tag}")).json() == image_id
        meta = (await client.get(f"/v1/repositories/alice/web/tags/{tag}/json")).json()
        assert meta["docker_version"] == "1.5.0"
    assert (await client.delete("/v1/repositories/alice/web/tags/_v1")).status_code == 200
    assert (await client.get("/v1/repositories/alice/web/tags/v1_json")).json() == second
    assert stored_files(settings.data_root / "repositories" / "alice" / "web") == [
        "_tag_json/_",
        "_tag_json/_json",
        "_tag_json/v1_json",
        "tag__",
        "tag__json",
        "tag_v1_json",
    ]


async def test_tag_metadata_of_the_older_layout_stays_readable(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    image_id = await pushed_image(client)
    repo = settings.data_root / "repositories" / "alice" / "old"
    write_older_layout(repo, image_id)
    assert (await client.get("/v1/repositories/alice/old/tags")).json() == {"_v1": image_id}
    meta = (await client.get("/v1/repositories/alice/old/tags/_v1/json")).json()
    assert (meta["last_update"], meta["docker_version"]) == (1400000000, "1.4.1")
    r = await client.put("/v1/repositories/alice/old/tags/_v1", content=json.dumps(image_id))
    assert r.status_code == 200  # rewritten in the new layout, the old file dropped
    assert not (repo / "tag_v1_json").exists()
    assert (await client.get("/v1/repositories/alice/old/tags")).json() == {"_v1": image_id}


async def test_single_component_names_map_to_library(client: httpx.AsyncClient) -> None:
    image_id = await pushed_image(client)
    await client.put("/v1/repositories/ubuntu/tags/latest", content=json.dumps(image_id))
    r = await client.get("/v1/repositories/library/ubuntu/tags")
    assert r.json() == {"latest": image_id}


async def test_tag_pointing_to_unknown_image_is_404(client: httpx.AsyncClient) -> None:
    r = await client.put("/v1/repositories/alice/web/tags/v1", content=json.dumps(random_image_id()))
    assert r.status_code == 404
    assert r.json() == {"error": "Image not found"}
    assert (await client.get("/v1/repositories/alice/web/tags")).status_code == 404


async def test_tag_pointing_to_incomplete_image_is_404(client: httpx.AsyncClient) -> None:
    image_id = random_image_id()
    await client.put(f"/v1/images/{image_id}/json", content=image_json(image_id))
    r = await client.put("/v1/repositories/alice/web/tags/v1", content=json.dumps(image_id))
    assert r.status_code == 404


@pytest.mark.parametrize("body", [b"", b"not json", b"42", b'{"id": "x"}'])
async def test_tag_body_must_be_a_json_string(client: httpx.AsyncClient, body: bytes) -> None:
    r = await client.put("/v1/repositories/alice/web/tags/v1", content=body)
    assert r.status_code == 400
    assert r.json() == {"error": "Invalid data"}


async def test_invalid_tag_name_rejected(client: httpx.AsyncClient) -> None:
    image_id = await pushed_image(client)
    r = await client.put("/v1/repositories/alice/web/tags/-bad", content=json.dumps(image_id))
    assert r.status_code == 400


@pytest.mark.parametrize(
    "name",
    [
        "a/b/c",
        "Alice/web",
        "alice/.hidden",
        "alice/a..b",
        "%2e%2e",
        "%2e%2e/etc",
        "alice/%2E%2E",
        "-x-/web",
        "alice/we b",
    ],
)
async def test_invalid_repository_names_rejected(client: httpx.AsyncClient, name: str) -> None:
    r = await client.get(f"/v1/repositories/{name}/tags")
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("Invalid repository name")


async def test_delete_repository_keeps_images(client: httpx.AsyncClient) -> None:
    image_id = await pushed_image(client)
    await client.put("/v1/repositories/alice/web/tags/v1", content=json.dumps(image_id))
    assert (await client.delete("/v1/repositories/alice/web/")).status_code == 200
    assert (await client.get("/v1/repositories/alice/web/tags")).status_code == 404
    assert (await client.get(f"/v1/images/{image_id}/json")).status_code == 200
    assert (await client.delete("/v1/repositories/alice/web/")).status_code == 404


async def test_index_routes_issue_token_headers(client: httpx.AsyncClient) -> None:
    image_id = random_image_id()
    r = await client.put("/v1/repositories/alice/web/", json=[{"id": image_id, "Tag": "latest"}])
    assert r.status_code == 200
    assert 'repository="alice/web"' in r.headers["x-docker-token"]
    assert "access=write" in r.headers["x-docker-token"]
    assert r.headers["x-docker-endpoints"] == "registry.test"
    r = await client.put("/v1/repositories/alice/web/images", json=[{"id": image_id, "checksum": "sha256:x"}])
    assert r.status_code == 204
    r = await client.get("/v1/repositories/alice/web/images")
    assert r.json() == [{"id": image_id, "checksum": "sha256:x"}]
    assert "access=read" in r.headers["x-docker-token"]
    assert (await client.get("/v1/repositories/alice/nothing/images")).status_code == 404


async def test_search_finds_repositories(client: httpx.AsyncClient) -> None:
    image_id = await pushed_image(client)
    for repo in ("ubuntu", "alice/webapp", "bobby/db"):
        await client.put(f"/v1/repositories/{repo}/tags/latest", content=json.dumps(image_id))
    r = await client.get("/v1/search", params={"q": "web"})
    body = r.json()
    assert body["num_results"] == 1
    assert body["results"][0]["name"] == "alice/webapp"
    assert body["results"][0]["is_official"] is False
    r = await client.get("/v1/search", params={"q": "", "n": "2", "page": "2"})
    body = r.json()
    assert (body["num_results"], body["num_pages"], body["page"]) == (3, 2, 2)
    assert [x["name"] for x in body["results"]] == ["ubuntu"]
    assert body["results"][0]["is_official"] is True
    assert (await client.get("/v1/search", params={"n": "1000"})).status_code == 400


async def test_ping_headers(client: httpx.AsyncClient) -> None:
    for path in ("/v1/_ping", "/_ping"):
        r = await client.get(path)
        assert r.status_code == 200
        assert r.json() == {}
        assert r.headers["x-docker-registry-version"] == "0.9.1"
        assert r.headers["x-docker-registry-standalone"] == "true"
        assert r.headers["x-docker-registry-config"] == "default"
        assert r.headers["x-request-id"]


async def test_v2_base_answers_beside_v1(client: httpx.AsyncClient) -> None:
    r = await client.get("/v2/")
    assert r.status_code == 200
    assert r.headers["docker-distribution-api-version"] == "registry/2.0"
    assert r.json() == {}
    assert "docker-distribution-api-version" not in (await client.get("/v1/_ping")).headers


async def test_metrics_count_requests_and_bytes(client: httpx.AsyncClient) -> None:
    await client.get("/v1/_ping")
    await client.get("/v1/repositories/alice/none/tags")
    await client.put(f"/v1/images/{random_image_id()}/json", content=b"{bad")
    text = (await client.get("/metrics")).text
    assert 'wharf_registry_http_requests_total{method="GET",status="200"}' in text
    assert 'wharf_registry_http_errors_total{method="GET",status="404"} 1' in text
    assert "wharf_registry_http_request_bytes_total 4" in text
    assert "# TYPE wharf_registry_http_response_bytes_total counter" in text
