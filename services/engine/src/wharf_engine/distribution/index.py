"""The index side of a v1 registry: ``docker login`` (protocols.md A.10) and search (A.9)."""

from __future__ import annotations

from typing import Any

from .client import RegistryClient
from .endpoint import AuthConfig, Endpoint
from .errors import DefaultHubUnavailable

LOGIN_SUCCEEDED = {"Status": "Login Succeeded", "IdentityToken": ""}


async def login(endpoint: Endpoint, auth: AuthConfig) -> dict[str, str]:
    """Check the credentials with ``GET /v1/users/`` (Basic); a registry without auth says yes."""
    async with RegistryClient(endpoint, auth) as client:
        await client.login()
    return LOGIN_SUCCEEDED


def split_search_term(term: str) -> tuple[str, str]:
    """``127.0.0.1:5000/web`` → (``127.0.0.1:5000``, ``web``); a bare term names the default hub."""
    first, slash, rest = term.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    raise DefaultHubUnavailable("searching", "search a registry with host:port/term")


async def search(endpoint: Endpoint, auth: AuthConfig, query: str, limit: int) -> list[dict[str, Any]]:
    """``GET /v1/search?q=&n=``, answered as Docker's ``[{name, description, star_count, …}]``."""
    async with RegistryClient(endpoint, auth) as client:
        found = await client.search(query, limit)
    results = []
    for item in found.get("results") or []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        results.append(
            {
                "name": str(item["name"]),
                "description": str(item.get("description") or ""),
                "star_count": int(item.get("star_count") or 0),
                "is_official": bool(item.get("is_official")),
                "is_automated": False,
            }
        )
    return results[:limit]


__all__ = ["LOGIN_SUCCEEDED", "login", "search", "split_search_term"]
