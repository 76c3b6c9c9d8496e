"""Request-level dependencies: who is asking, and may they?"""

from __future__ import annotations

from typing import Protocol

from fastapi import Request
from wharf_common.tokens import Access

from ..access import AccessScope, Identity
from ..names import parse_repository


class Authority(Protocol):
    """Standalone :class:`~wharf_registry.access.Authenticator` or index-mode
    :class:`~wharf_registry.index_access.IndexAuthority`."""

    async def authorize(self, authorization: str | None, scope: AccessScope) -> Identity: ...


def access_for(method: str) -> Access:
    """DR ``check_token``: GET reads, DELETE deletes, everything else writes."""
    if method in ("GET", "HEAD"):
        return "read"
    if method == "DELETE":
        return "delete"
    return "write"


def scope_of(request: Request) -> AccessScope:
    """The access the request's method needs, on the repository or image its route names."""
    name = request.path_params.get("repository")
    image_id = request.path_params.get("image_id")
    return AccessScope(
        access=access_for(request.method),
        repository=str(parse_repository(name)) if isinstance(name, str) else None,
        image_id=image_id if isinstance(image_id, str) else None,
    )


class Guard:
    """``Depends(Guard(authority))``: authorize the request for its route and method."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority

    async def __call__(self, request: Request) -> Identity:
        identity = await self.authority.authorize(request.headers.get("authorization"), scope_of(request))
        request.state.identity = identity
        return identity


def identity_of(request: Request) -> Identity:
    """The caller a :class:`Guard` let through."""
    identity = getattr(request.state, "identity", None)
    return identity if isinstance(identity, Identity) else Identity(None)
