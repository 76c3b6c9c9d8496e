"""``/api/v1/repositories``: list, create, read, change and delete repositories; their tags.

Official images live in the namespace ``library`` (``/api/v1/repositories/library/busybox``).
A private repository is "not found" to whoever may not pull it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ...hub import Hub
from ...services.repositories import Settings
from ..deps import api_signed_in, api_user
from ..pagination import Paging
from ..schemas.common import Page
from ..schemas.repositories import (
    RepositoryCreate,
    RepositoryDetail,
    RepositorySummary,
    RepositoryUpdate,
    TagInfo,
)
from ..v1 import new_router, problems

REPOSITORY = "/repositories/{namespace}/{name}"


def router(hub: Hub) -> APIRouter:
    r = new_router("repositories")

    @r.get("/repositories/{namespace}", summary="List a namespace's repositories", responses=problems(401))
    def list_repositories(namespace: str, request: Request, paging: Paging) -> Page[RepositorySummary]:
        """Sorted by name; private ones only for those who may pull them."""
        with hub.unit() as s:
            repos = hub.repos.list_namespace(s, api_user(hub, s, request), namespace)
            return paging.slice(request, repos, RepositorySummary.of)

    @r.post(
        "/repositories",
        status_code=201,
        summary="Create a repository",
        responses=problems(401, 403, 409),
    )
    def create_repository(body: RepositoryCreate, request: Request, response: Response) -> RepositoryDetail:
        """In the caller's namespace, an organisation's they belong to, or ``library``
        (administrators). A first ``docker push`` creates one too."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.create(
                s,
                user,
                body.namespace,
                body.name,
                description=body.description,
                full_description=body.full_description,
                is_private=body.is_private,
            )
            response.headers["Location"] = str(
                request.url_for("get_repository", namespace=repo.namespace, name=repo.name)
            )
            return RepositoryDetail.with_role(repo, hub.repos.role(s, user, repo))

    @r.get(REPOSITORY, summary="A repository", responses=problems(401, 404))
    def get_repository(namespace: str, name: str, request: Request) -> RepositoryDetail:
        """With ``permissions``: what the caller may do with it."""
        with hub.unit() as s:
            user = api_user(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            return RepositoryDetail.with_role(repo, hub.repos.role(s, user, repo))

    @r.patch(REPOSITORY, summary="Change a repository's settings", responses=problems(401, 403, 404))
    def update_repository(
        namespace: str, name: str, body: RepositoryUpdate, request: Request
    ) -> RepositoryDetail:
        """The owner (or an administrator) only; ``is_official`` only an administrator."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            hub.repos.update(s, user, repo, Settings(**body.model_dump()))
            return RepositoryDetail.with_role(repo, hub.repos.role(s, user, repo))

    @r.delete(REPOSITORY, status_code=204, summary="Delete a repository", responses=problems(401, 403, 404))
    def delete_repository(namespace: str, name: str, request: Request) -> None:
        """The owner (or an administrator) only: tags, stars, collaborators and webhooks go
        with it, and the registry's copy is deleted in the background."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            hub.repos.delete(s, user, hub.repos.get(s, user, namespace, name))

    @r.get(f"{REPOSITORY}/tags", summary="A repository's tags", responses=problems(401, 404))
    def list_tags(namespace: str, name: str, request: Request, paging: Paging) -> Page[TagInfo]:
        """Most recently pushed first."""
        with hub.unit() as s:
            repo = hub.repos.get(s, api_user(hub, s, request), namespace, name)
            return paging.slice(request, hub.repos.tags(s, repo), TagInfo.of)

    return r


__all__ = ["router"]
