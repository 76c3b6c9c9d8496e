"""``GET /api/v1/search``: the same search as ``docker search`` and the web pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ...hub import Hub
from ..deps import api_user
from ..pagination import Paging
from ..schemas.common import Page
from ..schemas.repositories import RepositorySummary
from ..v1 import new_router, problems

QUERY = Query(max_length=200, description="Words in the name or short description; empty lists everything.")


def router(hub: Hub) -> APIRouter:
    r = new_router("search")

    @r.get("/search", summary="Search repositories", responses=problems(401))
    def search(request: Request, paging: Paging, q: Annotated[str, QUERY] = "") -> Page[RepositorySummary]:
        """Public, listed repositories (and the caller's own and shared private ones): exact
        names first, then official images, then by stars."""
        with hub.unit() as s:
            found = hub.social.search(s, api_user(hub, s, request), q, paging.page, paging.page_size)
            return paging.page_of(
                request, found.num_results, [RepositorySummary.of(r) for r in found.results]
            )

    return r


__all__ = ["router"]
