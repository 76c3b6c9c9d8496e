"""The JSON API describes itself: ``/api/openapi.json`` and ``/api/docs``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from wharf_hub.app import create_app
from wharf_hub.hub import Hub

ENDPOINTS = {
    ("post", "/api/v1/users"),
    ("get", "/api/v1/user"),
    ("delete", "/api/v1/user"),
    ("get", "/api/v1/users/{username}"),
    ("put", "/api/v1/user/password"),
    ("post", "/api/v1/user/tokens"),
    ("get", "/api/v1/user/tokens"),
    ("delete", "/api/v1/user/tokens/{token_id}"),
    ("get", "/api/v1/user/starred"),
    ("get", "/api/v1/repositories/{namespace}"),
    ("post", "/api/v1/repositories"),
    ("get", "/api/v1/repositories/{namespace}/{name}"),
    ("patch", "/api/v1/repositories/{namespace}/{name}"),
    ("delete", "/api/v1/repositories/{namespace}/{name}"),
    ("get", "/api/v1/repositories/{namespace}/{name}/tags"),
    ("get", "/api/v1/repositories/{namespace}/{name}/collaborators"),
    ("post", "/api/v1/repositories/{namespace}/{name}/collaborators"),
    ("delete", "/api/v1/repositories/{namespace}/{name}/collaborators/{username}"),
    ("put", "/api/v1/repositories/{namespace}/{name}/star"),
    ("delete", "/api/v1/repositories/{namespace}/{name}/star"),
    ("get", "/api/v1/search"),
}


@pytest.fixture
def spec(hub: Hub) -> Iterator[dict[str, Any]]:
    with TestClient(create_app(hub.settings, hub)) as c:
        response = c.get("/api/openapi.json")
        assert response.status_code == 200
        yield response.json()


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The operations of :data:`ENDPOINTS` (other routers add their own)."""
    return {
        (method, path): op
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if (method, path) in ENDPOINTS
    }


def test_every_endpoint_is_listed(spec: dict[str, Any]) -> None:
    assert set(operations(spec)) == ENDPOINTS
    assert not any(path.startswith("/v1/") for path in spec["paths"])  # the index is for engines


def test_every_operation_has_a_tag_summary_id_and_typed_success(spec: dict[str, Any]) -> None:
    ids = []
    for (method, path), op in operations(spec).items():
        assert op["tags"] and op["summary"], (method, path)
        ids.append(op["operationId"])
        [success] = [code for code in op["responses"] if code.startswith("2")]
        if success != "204":
            schema = op["responses"][success]["content"]["application/json"]["schema"]
            assert "$ref" in schema or schema.get("type") == "array", (method, path)
    assert len(set(ids)) == len(ids) and "get_repository" in ids


def test_errors_are_documented_as_problem_json_and_never_422(spec: dict[str, Any]) -> None:
    for key, op in operations(spec).items():
        assert "422" not in op["responses"], key
        for code in ("400", "default"):
            content = op["responses"][code]["content"]
            assert list(content) == ["application/problem+json"], key
            assert content["application/problem+json"]["schema"]["title"] == "Problem"
    assert "401" in operations(spec)[("get", "/api/v1/user")]["responses"]
    assert "409" in operations(spec)[("post", "/api/v1/repositories")]["responses"]


def test_pages_and_repositories_have_named_schemas(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    page = schemas["Page_RepositorySummary_"]["properties"]
    assert set(page) == {"count", "page", "page_size", "next", "previous", "results"}
    detail = schemas["RepositoryDetail"]["properties"]
    assert {"permissions", "star_count", "pull_count", "date_created", "last_updated"} <= set(detail)
    assert schemas["RepositoryCreate"]["additionalProperties"] is False


def test_interactive_docs_are_served(hub: Hub) -> None:
    with TestClient(create_app(hub.settings, hub)) as c:
        response = c.get("/api/docs")
        assert response.status_code == 200 and "/api/openapi.json" in response.text
