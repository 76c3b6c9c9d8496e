"""Request-level dependencies: who is asking, and may they?"""

from __future__ import annotations

from fastapi import Request

from ..access import Access, Authenticator, Identity
from ..names import parse_repository


def access_for(method: str) -> Access:
    """DR ``check_token``: GET reads, DELETE deletes, everything else writes."""
    if method in ("GET", "HEAD"):
        return "read"
    if method == "DELETE":
        return "delete"
    return "write"


class Guard:
    """``Depends(Guard(auth))``: authenticate for the route's repository (if any) and method."""

    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth

    async def __call__(self, request: Request) -> Identity:
        name = request.path_params.get("repository")
        repository = str(parse_repository(name)) if isinstance(name, str) else None
        identity = await self.auth.authenticate(
            request.headers.get("authorization"), access_for(request.method), repository
        )
        request.state.identity = identity
        return identity


def identity_of(request: Request) -> Identity:
    """The caller a :class:`Guard` let through."""
    identity = getattr(request.state, "identity", None)
    return identity if isinstance(identity, Identity) else Identity(None)
