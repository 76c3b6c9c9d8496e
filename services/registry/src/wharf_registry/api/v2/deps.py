"""Per request: which repository, which actions, and who is asking (:class:`V2Authority`)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from ...names import RepositoryName
from ...v2 import names
from ...v2.access import CATALOG, DELETE, PULL, PUSH, V2Authority


def actions_for(method: str) -> frozenset[str]:
    if method in ("GET", "HEAD"):
        return frozenset({PULL})
    if method == "DELETE":
        return frozenset({DELETE})
    return frozenset({PULL, PUSH})


@dataclass(frozen=True, slots=True)
class Caller:
    user: str | None
    name: str
    """The repository name as the client wrote it (echoed in URLs and bodies)."""
    repo: RepositoryName


class RepositoryGuard:
    """``Depends(RepositoryGuard(authority))`` on every ``/v2/<name>/...`` route."""

    def __init__(self, authority: V2Authority) -> None:
        self.authority = authority

    async def __call__(self, request: Request) -> Caller:
        name = str(request.path_params.get("name", ""))
        repo = names.repository(name)
        user = await self.authority.authorize(request.headers, str(repo), actions_for(request.method))
        return Caller(user, name, repo)


class RegistryGuard:
    """``/v2/`` (no actions: any valid caller) and ``/v2/_catalog`` (``catalog``)."""

    def __init__(self, authority: V2Authority, *, catalog: bool = False) -> None:
        self.authority = authority
        self.actions = frozenset({CATALOG}) if catalog else frozenset()

    async def __call__(self, request: Request) -> str | None:
        return await self.authority.authorize(request.headers, None, self.actions)
