"""``/v1/repositories/<name>/tags…`` (protocols.md A.5; DR ``tags.py``)."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ...names import RepositoryName, parse_repository
from ..deps import Guard
from ..responses import json_response


class TagsBackend(Protocol):
    async def tags(self, repo: RepositoryName) -> dict[str, str]: ...
    async def tag(self, repo: RepositoryName, tag: str) -> str: ...
    async def tag_json(self, repo: RepositoryName, tag: str) -> dict[str, Any]: ...
    async def put_tag(self, repo: RepositoryName, tag: str, body: bytes, user_agent: str = "") -> None: ...
    async def delete_tag(self, repo: RepositoryName, tag: str) -> None: ...
    async def delete_repository(self, repo: RepositoryName) -> None: ...


def router(backend: TagsBackend, guard: Guard) -> APIRouter:
    api = APIRouter(prefix="/v1/repositories", dependencies=[Depends(guard)])

    @api.get("/{repository:path}/tags")
    async def get_tags(repository: str) -> Response:
        return json_response(await backend.tags(parse_repository(repository)))

    @api.delete("/{repository:path}/tags")
    async def delete_all_tags(repository: str) -> Response:
        await backend.delete_repository(parse_repository(repository))
        return json_response(True)

    @api.get("/{repository:path}/tags/{tag}/json")
    async def get_tag_json(repository: str, tag: str) -> Response:
        return json_response(await backend.tag_json(parse_repository(repository), tag))

    @api.get("/{repository:path}/tags/{tag}")
    async def get_tag(repository: str, tag: str) -> Response:
        return json_response(await backend.tag(parse_repository(repository), tag))

    @api.put("/{repository:path}/tags/{tag}")
    async def put_tag(repository: str, tag: str, request: Request) -> Response:
        repo = parse_repository(repository)
        await backend.put_tag(repo, tag, await request.body(), request.headers.get("user-agent", ""))
        return json_response(True)

    @api.delete("/{repository:path}/tags/{tag}")
    async def delete_tag(repository: str, tag: str) -> Response:
        await backend.delete_tag(parse_repository(repository), tag)
        return json_response(True)

    @api.get("/{repository:path}/json")
    async def get_repository_json(repository: str) -> Response:
        return json_response(await backend.tag_json(parse_repository(repository), "latest"))

    return api


def delete_router(backend: TagsBackend, guard: Guard) -> APIRouter:
    """``DELETE /v1/repositories/<name>/`` with a delete token (A.11 step 2), in index mode.

    Standalone mode serves the same route from its index, with token headers.
    """
    api = APIRouter(prefix="/v1/repositories", dependencies=[Depends(guard)])

    @api.delete("/{repository:path}/")
    async def delete_repository(repository: str) -> Response:
        await backend.delete_repository(parse_repository(repository))
        return json_response(True)

    return api
