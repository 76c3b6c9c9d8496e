"""Volume endpoints: list, create, inspect, remove, prune."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from wharf_engine.api import schemas
from wharf_engine.api.params import json_body, qbool, qfilters


class VolumeBackend(Protocol):
    def volume_create(
        self,
        name: str | None,
        labels: dict[str, str],
        *,
        driver: str = "",
        driver_opts: dict[str, str] | None = None,
    ) -> dict[str, Any]: ...
    def volume_list(self, filters: dict[str, list[str]]) -> dict[str, Any]: ...
    def volume_inspect(self, name: str) -> dict[str, Any]: ...
    def volume_remove(self, name: str, *, force: bool) -> None: ...
    def volume_prune(self, *, all_volumes: bool = False) -> dict[str, Any]: ...


def router(backend: VolumeBackend) -> APIRouter:
    r = APIRouter(prefix="/volumes")

    @r.get("")
    async def list_(request: Request) -> Response:
        return JSONResponse(backend.volume_list(qfilters(request)))

    @r.post("/create", status_code=201)
    async def create(request: Request) -> Response:
        body = schemas.check(schemas.VolumeCreate, await json_body(request, required=False))
        labels = {str(k): str(v) for k, v in (body.get("Labels") or {}).items()}
        created = backend.volume_create(
            body.get("Name") or None,
            labels,
            driver=body.get("Driver") or "",
            driver_opts=body.get("DriverOpts"),
        )
        return JSONResponse(created, status_code=201)

    @r.post("/prune")
    async def prune(request: Request) -> Response:
        wanted = qfilters(request).get("all") or ["false"]
        return JSONResponse(backend.volume_prune(all_volumes=wanted[0].lower() in ("true", "1")))

    @r.get("/{name}")
    async def inspect(name: str) -> Response:
        return JSONResponse(backend.volume_inspect(name))

    @r.delete("/{name}", status_code=204)
    async def remove(name: str, request: Request) -> Response:
        backend.volume_remove(name, force=qbool(request, "force"))
        return Response(status_code=204)

    return r
