"""``/api/v1/repositories/{namespace}/{name}/collaborators``: who else may push.

Only the owner (or an administrator) may list, add or remove collaborators; a collaborator
who tries gets 403, anyone who may not see the repository 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...hub import Hub
from ..deps import api_signed_in
from ..schemas.repositories import CollaboratorAdd, CollaboratorInfo
from ..v1 import new_router, problems

COLLABORATORS = "/repositories/{namespace}/{name}/collaborators"


def router(hub: Hub) -> APIRouter:
    r = new_router("collaborators")

    @r.get(COLLABORATORS, summary="List collaborators", responses=problems(401, 403, 404))
    def list_collaborators(namespace: str, name: str, request: Request) -> list[CollaboratorInfo]:
        """Oldest first."""
        with hub.unit() as s:
            repo = hub.repos.get_admin(s, api_signed_in(hub, s, request), namespace, name)
            return [CollaboratorInfo.of(c) for c in hub.repos.collaborators(s, repo)]

    @r.post(
        COLLABORATORS, status_code=201, summary="Add a collaborator", responses=problems(401, 403, 404, 409)
    )
    def add_collaborator(
        namespace: str, name: str, body: CollaboratorAdd, request: Request
    ) -> CollaboratorInfo:
        """The collaborator may push and pull (also when the repository is private)."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            return CollaboratorInfo.of(hub.repos.add_collaborator(s, user, repo, body.username))

    @r.delete(
        f"{COLLABORATORS}/{{username}}",
        status_code=204,
        summary="Remove a collaborator",
        responses=problems(401, 403, 404),
    )
    def remove_collaborator(namespace: str, name: str, username: str, request: Request) -> None:
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            hub.repos.remove_collaborator(s, user, repo, username)

    return r


__all__ = ["router"]
