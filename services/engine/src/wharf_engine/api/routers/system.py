"""_ping, version, info."""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import AsyncIterator
from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from wharf_common.errors import InvalidArgument

from wharf_engine.api.params import qfilters
from wharf_engine.logs.jsonfile import parse_time
from wharf_engine.settings import API_VERSION, ENGINE_VERSION, MIN_API_VERSION

PING_HEADERS = {
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Pragma": "no-cache",
    "Builder-Version": "1",
    "Swarm": "inactive",
}


class SystemBackend(Protocol):
    def info(self) -> dict[str, Any]: ...
    def system_df(self, kinds: list[str]) -> dict[str, Any]: ...
    def system_events(
        self, *, since: float, until: float, filters: dict[str, list[str]]
    ) -> AsyncIterator[dict[str, Any]]: ...


def _when(value: str | None) -> float:
    """Unix seconds (fractional), or an RFC3339 time, as ``docker events --since`` sends."""
    if not value:
        return 0.0
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parse_time(value)
    except ValueError:
        raise InvalidArgument(f"invalid time: {value!r}") from None


def router(backend: SystemBackend) -> APIRouter:
    r = APIRouter()

    @r.get("/_ping")
    async def ping() -> Response:
        return PlainTextResponse("OK", headers=PING_HEADERS)

    @r.head("/_ping")
    async def ping_head() -> Response:
        return Response(
            b"", media_type="text/plain; charset=utf-8", headers={**PING_HEADERS, "Content-Length": "0"}
        )

    @r.get("/version")
    async def version() -> Response:
        uname = platform.uname()
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(uname.machine, uname.machine)
        details = {
            "ApiVersion": API_VERSION,
            "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": "wharf",
            "GoVersion": "python" + sys.version.split()[0],
            "Os": "linux",
            "Arch": arch,
            "KernelVersion": uname.release,
        }
        return JSONResponse(
            {
                "Platform": {"Name": "wharf engine"},
                "Components": [{"Name": "Engine", "Version": ENGINE_VERSION, "Details": details}],
                "Version": ENGINE_VERSION,
                **details,
                "Experimental": False,
                "BuildTime": "",
            }
        )

    @r.get("/events")
    async def events(request: Request) -> Response:
        since, until = _when(request.query_params.get("since")), _when(request.query_params.get("until"))
        stream = backend.system_events(since=since, until=until, filters=qfilters(request))

        async def body() -> AsyncIterator[bytes]:
            async for event in stream:
                yield json.dumps(event).encode() + b"\n"

        return StreamingResponse(body(), media_type="application/json")

    @r.get("/system/df")
    async def df(request: Request) -> Response:
        return JSONResponse(backend.system_df(request.query_params.getlist("type")))

    @r.get("/info")
    async def info() -> Response:
        return JSONResponse(backend.info())

    return r
