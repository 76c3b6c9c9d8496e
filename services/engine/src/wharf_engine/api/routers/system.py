"""_ping, version, info."""

from __future__ import annotations

import platform
import sys
from typing import Any, Protocol

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from wharf_engine.settings import API_VERSION, ENGINE_VERSION, MIN_API_VERSION

PING_HEADERS = {
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Pragma": "no-cache",
    "Builder-Version": "1",
    "Swarm": "inactive",
}


class SystemBackend(Protocol):
    def info(self) -> dict[str, Any]: ...


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

    @r.get("/info")
    async def info() -> Response:
        return JSONResponse(backend.info())

    return r
