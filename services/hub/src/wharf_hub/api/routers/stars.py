"""Stars: ``PUT``/``DELETE /api/v1/repositories/{namespace}/{name}/star`` and the caller's
starred repositories. Both verbs are idempotent."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...hub import Hub
from ..deps import api_signed_in
from ..pagination import Paging
from ..schemas.common import Page
from ..schemas.repositories import RepositorySummary, StarStatus
from ..v1 import new_router, problems

STAR = "/repositories/{namespace}/{name}/star"


def router(hub: Hub) -> APIRouter:
    r = new_router("stars")

    @r.put(STAR, summary="Star a repository", responses=problems(401, 403, 404))
    def star(namespace: str, name: str, request: Request) -> StarStatus:
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            hub.social.star(s, user, repo)
            return StarStatus.of(repo, starred=True)

    @r.delete(STAR, summary="Remove a star", responses=problems(401, 403, 404))
    def unstar(namespace: str, name: str, request: Request) -> StarStatus:
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            hub.social.unstar(s, user, repo)
            return StarStatus.of(repo, starred=False)

    @r.get("/user/starred", summary="The caller's starred repositories", responses=problems(401, 403))
    def list_starred(request: Request, paging: Paging) -> Page[RepositorySummary]:
        """Most recently starred first; repositories that became private to the caller are left out."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            return paging.slice(request, hub.social.starred(s, user, user), RepositorySummary.of)

    return r


__all__ = ["router"]
