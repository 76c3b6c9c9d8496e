"""Swarm-mode endpoints: this engine is never part of a swarm, so each answers as a Docker
daemon outside a swarm does (503 with Docker's message), never 404."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from wharf_common.errors import Unavailable

NOT_A_MANAGER = (
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect '
    "this node to swarm and try again."
)
NOT_IN_A_SWARM = "This node is not part of a swarm"

ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/swarm", NOT_A_MANAGER),
    ("POST", "/swarm/init", NOT_A_MANAGER),
    ("POST", "/swarm/join", NOT_A_MANAGER),
    ("POST", "/swarm/leave", NOT_IN_A_SWARM),
    ("POST", "/swarm/update", NOT_A_MANAGER),
    ("GET", "/swarm/unlockkey", NOT_A_MANAGER),
    ("POST", "/swarm/unlock", NOT_IN_A_SWARM),
    ("GET", "/nodes", NOT_A_MANAGER),
    ("GET", "/nodes/{id}", NOT_A_MANAGER),
    ("DELETE", "/nodes/{id}", NOT_A_MANAGER),
    ("POST", "/nodes/{id}/update", NOT_A_MANAGER),
    ("GET", "/services", NOT_A_MANAGER),
    ("POST", "/services/create", NOT_A_MANAGER),
    ("GET", "/services/{id}", NOT_A_MANAGER),
    ("DELETE", "/services/{id}", NOT_A_MANAGER),
    ("POST", "/services/{id}/update", NOT_A_MANAGER),
    ("GET", "/services/{id}/logs", NOT_A_MANAGER),
    ("GET", "/tasks", NOT_A_MANAGER),
    ("GET", "/tasks/{id}", NOT_A_MANAGER),
    ("GET", "/tasks/{id}/logs", NOT_A_MANAGER),
    ("GET", "/secrets", NOT_A_MANAGER),
    ("POST", "/secrets/create", NOT_A_MANAGER),
    ("GET", "/secrets/{id}", NOT_A_MANAGER),
    ("DELETE", "/secrets/{id}", NOT_A_MANAGER),
    ("POST", "/secrets/{id}/update", NOT_A_MANAGER),
    ("GET", "/configs", NOT_A_MANAGER),
    ("POST", "/configs/create", NOT_A_MANAGER),
    ("GET", "/configs/{id}", NOT_A_MANAGER),
    ("DELETE", "/configs/{id}", NOT_A_MANAGER),
    ("POST", "/configs/{id}/update", NOT_A_MANAGER),
]
"""Docker's swarm routes (method, path, the message a node outside a swarm answers with)."""


class SwarmUnavailable(Unavailable):
    """This engine is not a swarm manager (nor in a swarm at all)."""


def _refuse(message: str) -> Callable[[], Awaitable[None]]:
    async def endpoint() -> None:
        raise SwarmUnavailable(message)

    return endpoint


def router() -> APIRouter:
    r = APIRouter()
    for method, path, message in ROUTES:
        r.add_api_route(path, _refuse(message), methods=[method])
    return r
