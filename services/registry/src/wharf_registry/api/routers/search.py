"""``GET /v1/search?q=&n=&page=`` (protocols.md A.9)."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from ...search import SearchQuery
from ..deps import Guard
from ..responses import json_response


class SearchBackend(Protocol):
    async def search(self, query: SearchQuery) -> dict[str, Any]: ...


def router(backend: SearchBackend, guard: Guard) -> APIRouter:
    api = APIRouter(dependencies=[Depends(guard)])

    @api.get("/v1/search")
    async def search(q: str = "", n: str | None = None, page: str | None = None) -> Response:
        return json_response(await backend.search(SearchQuery.parse(q, n, page)))

    return api
