"""The networks router: request parsing, status codes and error mapping, against a fake backend."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from fastapi import FastAPI
from wharf_common.errors import Conflict, Forbidden
from wharf_engine.api import errors
from wharf_engine.api.routers import networks
from wharf_engine.network.store import NoSuchNetwork


class FakeBackend:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def network_create(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("create", body))
        if body["Name"] == "taken":
            raise Conflict("network with name taken already exists")
        return {"Id": "f" * 64, "Warning": ""}

    def network_inspect(self, ref: str) -> dict[str, Any]:
        raise NoSuchNetwork(ref)

    def network_list(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        self.calls.append(("list", filters))
        return [{"Name": "bridge"}]

    async def network_connect(self, ref: str, container: str, config: dict[str, Any] | None) -> None:
        self.calls.append(("connect", (ref, container, config)))
        if container == "again":
            raise Forbidden("endpoint with name again already exists in network n")

    async def network_disconnect(self, ref: str, container: str, *, force: bool) -> None:
        self.calls.append(("disconnect", (ref, container, force)))

    async def network_remove(self, ref: str) -> None:
        raise Conflict(f"error while removing network: network {ref} id x has active endpoints")

    async def network_prune(self, filters: dict[str, list[str]]) -> dict[str, Any]:
        self.calls.append(("prune", filters))
        return {"NetworksDeleted": None}


def call(method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, FakeBackend]:
    backend = FakeBackend()
    app = FastAPI()
    errors.install(app)
    app.include_router(networks.router(backend))

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://engine") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go()), backend


def test_create_returns_201_with_id() -> None:
    response, backend = call("POST", "/networks/create", json={"Name": "n1", "Labels": {"a": "b"}})
    assert response.status_code == 201 and response.json() == {"Id": "f" * 64, "Warning": ""}
    assert backend.calls == [("create", {"Name": "n1", "Labels": {"a": "b"}})]


def test_create_name_conflict_is_409_with_docker_body() -> None:
    response, _ = call("POST", "/networks/create", json={"Name": "taken"})
    assert response.status_code == 409
    assert response.json() == {"message": "network with name taken already exists"}


def test_create_with_wrong_types_is_400_not_500() -> None:
    bodies: list[Any] = [
        {"Name": "n", "Internal": "yes please"},
        {"Name": "n", "IPAM": {"Config": "10.0.0.0/8"}},
        [],
    ]
    for body in bodies:
        response, backend = call("POST", "/networks/create", json=body)
        assert response.status_code == 400, body
        assert backend.calls == []


def test_inspect_unknown_is_404() -> None:
    response, _ = call("GET", "/networks/ghost")
    assert response.status_code == 404 and response.json() == {"message": "network ghost not found"}


def test_list_passes_filters() -> None:
    response, backend = call("GET", "/networks", params={"filters": json.dumps({"label": ["a=b"]})})
    assert response.status_code == 200 and response.json() == [{"Name": "bridge"}]
    assert backend.calls == [("list", {"label": ["a=b"]})]


def test_connect_and_disconnect() -> None:
    config = {"Aliases": ["db"], "IPAMConfig": {"IPv4Address": "10.1.0.5"}}
    response, backend = call(
        "POST", "/networks/n1/connect", json={"Container": "c1", "EndpointConfig": config}
    )
    assert response.status_code == 200
    assert backend.calls == [("connect", ("n1", "c1", config))]
    response, backend = call("POST", "/networks/n1/disconnect", json={"Container": "c1", "Force": True})
    assert response.status_code == 200 and backend.calls == [("disconnect", ("n1", "c1", True))]


def test_connect_without_container_is_400_and_twice_is_403() -> None:
    response, backend = call("POST", "/networks/n1/connect", json={})
    assert response.status_code == 400 and backend.calls == []
    response, _ = call("POST", "/networks/n1/connect", json={"Container": "again"})
    assert response.status_code == 403


def test_remove_in_use_is_409_and_prune_answers() -> None:
    response, _ = call("DELETE", "/networks/n1")
    assert response.status_code == 409 and "active endpoints" in response.json()["message"]
    response, backend = call("POST", "/networks/prune", params={"filters": json.dumps({"label": ["x"]})})
    assert response.json() == {"NetworksDeleted": None} and backend.calls == [("prune", {"label": ["x"]})]
