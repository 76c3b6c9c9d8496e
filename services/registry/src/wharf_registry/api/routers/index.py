"""The standalone index (DR ``index.py``): what an engine asks an index, answered locally.

In index mode the hub answers these: :func:`elsewhere_router` passes them on to it (or
refuses them when the registry does not know the hub's address).

``PUT /v1/repositories/<name>/`` and ``…/images`` are steps 3 and 6 of the v1 push
(protocols.md A.7); ``GET …/images`` is step 2 of the pull (A.8); the users routes make
``docker login`` work (A.10). Token headers come from :class:`~wharf_registry.access.Authenticator`.
"""

from __future__ import annotations

from typing import Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from wharf_common import jsonsafe
from wharf_common.tokens import Access

from ...access import Authenticator
from ...index_access import ServedByIndex
from ...index_forward import IndexForwarder
from ...names import RepositoryName, parse_repository
from ..deps import Guard, identity_of
from ..responses import json_response


class IndexBackend(Protocol):
    async def repository_images(self, repo: RepositoryName) -> list[dict[str, str]]: ...
    async def add_repository_images(self, repo: RepositoryName, body: bytes) -> None: ...
    async def delete_repository(self, repo: RepositoryName) -> None: ...


def router(backend: IndexBackend, guard: Guard, auth: Authenticator, endpoints: list[str]) -> APIRouter:
    api = APIRouter(prefix="/v1", dependencies=[Depends(guard)])

    def token_headers(request: Request, repo: RepositoryName, access: Access) -> dict[str, str]:
        token = auth.issue_token(identity_of(request), str(repo), access)
        return {
            "X-Docker-Token": token,
            "WWW-Authenticate": f"Token {token}",
            "X-Docker-Endpoints": ",".join(endpoints) or request.headers.get("host", "localhost"),
        }

    @api.put("/repositories/{repository:path}/images")
    async def put_images(repository: str, request: Request) -> Response:
        repo = parse_repository(repository)
        await backend.add_repository_images(repo, await request.body())
        return Response(status_code=204, headers=token_headers(request, repo, "write"))

    @api.get("/repositories/{repository:path}/images")
    async def get_images(repository: str, request: Request) -> Response:
        repo = parse_repository(repository)
        images = await backend.repository_images(repo)
        return json_response(images, headers=token_headers(request, repo, "read"))

    @api.put("/repositories/{repository:path}/auth")
    async def put_auth(repository: str) -> Response:
        parse_repository(repository)
        return json_response("OK")

    @api.put("/repositories/{repository:path}/")
    async def put_repository(repository: str, request: Request) -> Response:
        repo = parse_repository(repository)
        await backend.add_repository_images(repo, await request.body())
        return json_response("", headers=token_headers(request, repo, "write"))

    @api.delete("/repositories/{repository:path}/")
    async def delete_repository(repository: str, request: Request) -> Response:
        repo = parse_repository(repository)
        await backend.delete_repository(repo)
        return json_response(True, headers=token_headers(request, repo, "delete"))

    @api.get("/users/")
    @api.get("/users", include_in_schema=False)
    async def login() -> Response:
        return json_response("OK")

    return api


def users_router(auth: Authenticator) -> APIRouter:
    """``POST /v1/users/``: unauthenticated, like a registration form."""
    api = APIRouter(prefix="/v1")

    @api.post("/users/")
    @api.post("/users", include_in_schema=False)
    async def create_user(request: Request) -> Response:
        if not auth.enabled:
            return json_response("User Created", status=201)
        try:
            body = jsonsafe.loads(await request.body())
            user, password = str(body["username"]), str(body["password"])
        except (ValueError, KeyError, TypeError):
            return json_response({"error": "Invalid data"}, status=400)
        # accounts are made with `wharf-registry adduser`; an existing one makes the client log in
        # with GET /v1/users/ (protocols.md A.10, as Quay does)
        if await auth.check_password(user, password):
            return json_response("Username or email already exists", status=400)
        return json_response({"error": "Wrong login/password, please try again"}, status=401)

    return api


def elsewhere_router(forwarder: IndexForwarder | None = None) -> APIRouter:
    """Index mode: the standalone index's routes and search are the hub's. With a
    ``forwarder`` (``index.url`` set) they go on to the hub, so an engine that knows only this
    registry's address logs in, pushes and pulls through it; without one they are 404.

    Include it after the repository routes, which it would otherwise shadow.
    """
    api = APIRouter(prefix="/v1")
    every = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    routes = {
        "/users": every,
        "/users/{rest:path}": every,
        "/search": every,
        "/repositories/{repository:path}/images": every,
        "/repositories/{repository:path}/auth": every,
        "/repositories/{repository:path}/": ["PUT"],  # DELETE is the registry's (delete token)
    }

    async def served_by_index(request: Request) -> Response:
        if forwarder is None:
            raise ServedByIndex()
        return await forwarder.forward(request)

    for path, methods in routes.items():
        api.add_api_route(path, served_by_index, methods=methods, include_in_schema=False)
    return api
