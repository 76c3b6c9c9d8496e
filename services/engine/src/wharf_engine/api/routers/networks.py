"""Network endpoints: list, inspect, create, connect, disconnect, remove, prune."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from wharf_common.errors import InvalidArgument

from wharf_engine.api import schemas
from wharf_engine.api.params import json_body, qfilters


class NetworkBackend(Protocol):
    async def network_create(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def network_inspect(self, ref: str) -> dict[str, Any]: ...
    def network_list(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]: ...
    async def network_connect(self, ref: str, container: str, config: dict[str, Any] | None) -> None: ...
    async def network_disconnect(self, ref: str, container: str, *, force: bool) -> None: ...
    async def network_remove(self, ref: str) -> None: ...
    async def network_prune(self, filters: dict[str, list[str]]) -> dict[str, Any]: ...


def _container(body: dict[str, Any]) -> str:
    container = body.get("Container")
    if not container or not isinstance(container, str):
        raise InvalidArgument("Container is required")
    return container


def router(backend: NetworkBackend) -> APIRouter:
    r = APIRouter(prefix="/networks")

    @r.get("")
    async def list_(request: Request) -> Response:
        return JSONResponse(backend.network_list(qfilters(request)))

    @r.post("/create", status_code=201)
    async def create(request: Request) -> Response:
        body = await json_body(request)
        schemas.check(schemas.NetworkCreate, body)  # the daemon reads it as plain JSON
        return JSONResponse(await backend.network_create(body), status_code=201)

    @r.post("/prune")
    async def prune(request: Request) -> Response:
        return JSONResponse(await backend.network_prune(qfilters(request)))

    @r.get("/{ref}")
    async def inspect(ref: str) -> Response:
        return JSONResponse(backend.network_inspect(ref))

    @r.post("/{ref}/connect")
    async def connect(ref: str, request: Request) -> Response:
        body = await json_body(request)
        schemas.check(schemas.NetworkConnect, body)
        await backend.network_connect(ref, _container(body), body.get("EndpointConfig"))
        return Response(status_code=200)

    @r.post("/{ref}/disconnect")
    async def disconnect(ref: str, request: Request) -> Response:
        body = await json_body(request)
        schemas.check(schemas.NetworkDisconnect, body)
        await backend.network_disconnect(ref, _container(body), force=bool(body.get("Force")))
        return Response(status_code=200)

    @r.delete("/{ref}", status_code=204)
    async def remove(ref: str) -> Response:
        await backend.network_remove(ref)
        return Response(status_code=204)

    return r
