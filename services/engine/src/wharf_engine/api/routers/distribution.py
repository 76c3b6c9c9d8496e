"""Registry endpoints: pull (``POST /images/create?fromImage=``), push, ``POST /auth``, search.

Pull and push answer Docker's JSON progress stream. What fails before the first message
(a bad name, an unknown tag, a registry that does not answer) is a plain HTTP error, as
moby answers before it writes any progress; what fails later is the stream's last line,
``{"errorDetail": {"message": …}, "error": …}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from wharf_common import jsonsafe
from wharf_common.errors import InvalidArgument, WharfError

from wharf_engine.api.streams import error_line, json_line
from wharf_engine.distribution import AuthConfig, decode_registry_auth
from wharf_engine.distribution.progress import ProgressStream

log = structlog.get_logger(__name__)

SEARCH_LIMIT = 25


class PullBackend(Protocol):
    def image_pull(
        self, name: str, tag: str | None, auth: AuthConfig, platform: str | None = None
    ) -> ProgressStream: ...


class DistributionBackend(PullBackend, Protocol):
    def image_push(self, name: str, tag: str | None, auth: AuthConfig) -> ProgressStream: ...
    async def registry_login(self, auth: AuthConfig) -> dict[str, str]: ...
    async def image_search(self, term: str, limit: int, auth: AuthConfig) -> list[dict[str, Any]]: ...


def registry_auth(request: Request) -> AuthConfig:
    return decode_registry_auth(request.headers.get("x-registry-auth"))


async def progress_response(messages: ProgressStream) -> Response:
    """The first message is awaited here: errors before it are raised as HTTP errors."""
    try:
        first = await anext(messages)
    except StopAsyncIteration:
        first = None

    async def body() -> AsyncIterator[bytes]:
        try:
            if first is not None:
                yield json_line(first)
            async for message in messages:
                yield json_line(message)
        except WharfError as exc:
            yield error_line(exc.message)
        except Exception as exc:  # a bug: say so on the stream rather than cutting it
            log.exception("distribution.failed")
            yield error_line(f"internal error: {exc}")
        finally:
            await messages.aclose()

    return StreamingResponse(body(), media_type="application/json")


async def pull_response(backend: PullBackend, request: Request) -> Response:
    """``POST /images/create?fromImage=<name>&tag=<tag>`` (the images router hands it over)."""
    q = request.query_params
    messages = backend.image_pull(
        q["fromImage"], q.get("tag") or None, registry_auth(request), q.get("platform") or None
    )
    return await progress_response(messages)


def router(backend: DistributionBackend) -> APIRouter:
    r = APIRouter()

    @r.post("/images/{name:path}/push")
    async def push(name: str, request: Request) -> Response:
        tag = request.query_params.get("tag") or None
        return await progress_response(backend.image_push(name, tag, registry_auth(request)))

    @r.post("/auth")
    async def auth(request: Request) -> Response:
        try:
            body = jsonsafe.loads(await request.body() or b"{}")
        except ValueError:
            raise InvalidArgument("invalid JSON body for /auth") from None
        return JSONResponse(await backend.registry_login(AuthConfig.from_json(body)))

    @r.get("/images/search")
    async def search(request: Request) -> Response:
        term = request.query_params.get("term") or ""
        if not term:
            raise InvalidArgument("term is required")
        raw_limit = request.query_params.get("limit") or str(SEARCH_LIMIT)
        if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= 100:
            raise InvalidArgument("limit must be between 1 and 100")
        return JSONResponse(await backend.image_search(term, int(raw_limit), registry_auth(request)))

    return r
