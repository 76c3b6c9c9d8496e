"""The v1 index API engines speak (protocols.md A.4, A.9, A.10): thin handlers over
:class:`~wharf_hub.services.index.IndexService` and the account service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from wharf_common import jsonsafe
from wharf_common.registry_v1 import REGISTRY_VERSION

from ...db.models import User
from ...hub import Hub
from ...services.accounts import EXISTS
from ...services.errors import AlreadyExists, InvalidName, WrongCredentials
from ...services.hotpath import Account
from ...services.index import Grant
from ...services.names import split_repository
from ...services.social import DEFAULT_PAGE_SIZE, SearchPage
from ...services.tokens import Caller, Scope
from ..deps import basic_caller, client_address, index_user


def _ping() -> Response:
    return JSONResponse(
        {}, headers={"X-Docker-Registry-Standalone": "false", "X-Docker-Registry-Version": REGISTRY_VERSION}
    )


async def _json(request: Request) -> Any:
    """The JSON body, read on the event loop as a dependency, so that the handlers using it can
    be plain ``def`` (their database work and password hashing run in the thread pool)."""
    body = await request.body()
    if not body.strip():
        return []
    try:
        return jsonsafe.loads(body)
    except ValueError:
        raise InvalidName("Invalid JSON") from None


JsonBody = Annotated[Any, Depends(_json)]


def _token_headers(grant: Grant, wanted: bool) -> dict[str, str]:
    headers = {"X-Docker-Endpoints": ", ".join(grant.endpoints)}
    if wanted:
        headers["X-Docker-Token"] = grant.token
        headers["WWW-Authenticate"] = f"Token {grant.token}"
    return headers


def _split(path: str) -> tuple[str, str, str]:
    """``alice/web/images`` → (alice, web, images); ``busybox/`` → (library, busybox, "")."""
    path = path.strip("/")
    suffix = ""
    for action in ("images", "auth"):
        if path.endswith(f"/{action}"):
            path, suffix = path[: -len(action) - 1], action
            break
    namespace, name = split_repository(path)
    return namespace, name, suffix


def _user(hub: Hub, s: Session, request: Request, scope: Scope) -> User | None:
    """The Basic caller, when an access token has ``scope`` (read: pull tokens and ``docker
    login``; write: push; delete: repository deletion)."""
    caller = basic_caller(hub, s, request)
    return caller.require(scope) if caller is not None else None


def router(hub: Hub) -> APIRouter:
    r = APIRouter()
    r.add_api_route("/v1/_ping", _ping, methods=["GET", "HEAD"], include_in_schema=False)
    r.add_api_route("/_ping", _ping, methods=["GET", "HEAD"], include_in_schema=False)

    # ---- users (docker login) -----------------------------------------------------------------

    @r.post("/v1/users/", include_in_schema=False)
    @r.post("/v1/users", include_in_schema=False)
    def create_user(request: Request, data: JsonBody) -> Response:
        if not isinstance(data, dict):
            raise InvalidName("Invalid JSON: expected an object with username, password and email")
        username, password = str(data.get("username") or ""), str(data.get("password") or "")
        email = str(data.get("email") or "")
        with hub.unit() as s:
            if hub.accounts.find(s, username) is not None or (email and hub.accounts.email_taken(s, email)):
                raise InvalidName(EXISTS)  # 400: the client then checks the password with GET
            if not email:
                raise InvalidName("An e-mail address is required to create an account")
            try:
                hub.accounts.signup(s, username, email, password, client_address(hub, request))
            except AlreadyExists:
                raise InvalidName(EXISTS) from None
        return JSONResponse("User Created", status_code=201)

    @r.get("/v1/users/", include_in_schema=False)
    @r.get("/v1/users", include_in_schema=False)
    def login(request: Request) -> Response:
        with hub.db.connection() as s:
            caller = hub.hot.access(
                s, request.headers.get("authorization"), client_address(hub, request)
            ).account
            if caller is None:
                raise WrongCredentials()
            caller.require(Scope.READ)
        return JSONResponse("OK")

    @r.put("/v1/users/{username}/", include_in_schema=False)
    def update_user(username: str, request: Request, data: JsonBody) -> Response:
        if not isinstance(data, dict):
            raise InvalidName("Invalid JSON")
        with hub.unit() as s:
            caller: Caller | None = basic_caller(hub, s, request)
            if caller is None or caller.user.username != username.lower():
                raise WrongCredentials()
            email, password = str(data.get("email") or ""), str(data.get("password") or "")
            hub.accounts.update_v1(s, caller, email, password)
        return Response(status_code=204)

    # ---- repositories -----------------------------------------------------------------------

    @r.put("/v1/repositories/{path:path}", include_in_schema=False)
    def put_repository(path: str, request: Request, body: JsonBody) -> Response:
        namespace, name, action = _split(path)
        wanted = request.headers.get("x-docker-token", "").lower() == "true"
        with hub.unit() as s:
            if action == "auth":
                hub.index.check_token(s, request.headers.get("authorization", ""), namespace, name)
                return JSONResponse("OK")
            user = index_user(hub, s, request, namespace, name, Scope.WRITE)
            if action == "images":
                hub.index.finish_push(s, user, namespace, name, body)
                return Response(status_code=204)
            grant = hub.index.start_push(s, user, namespace, name, body)
        return JSONResponse("", headers=_token_headers(grant, wanted))

    @r.get("/v1/repositories/{path:path}", include_in_schema=False)
    async def get_images(path: str, request: Request) -> Response:
        """A pull's token: decided on the event loop when no write and no argon2 check is
        needed (:meth:`HotPath.pull_on_loop`: one read), else in the thread pool."""
        namespace, name, action = _split(path)
        if action != "images":
            raise InvalidName(f"Unknown index path: {path}")
        wanted = request.headers.get("x-docker-token", "").lower() == "true"
        header, address = request.headers.get("authorization"), client_address(hub, request)
        read = await hub.hot.pull_on_loop(hub.reads, header, address, namespace, name)
        if read is not None:
            access, images = read
            if access.account is not None:
                access.account.require(Scope.READ)
            grant = hub.index.start_pull_read(access, images, namespace, name, hub.pulls)
            if grant is not None:
                return JSONResponse(grant.images, headers=_token_headers(grant, wanted))
        return await run_in_threadpool(pull_in_thread, request, namespace, name, wanted)

    def pull_in_thread(request: Request, namespace: str, name: str, wanted: bool) -> Response:
        with hub.db.connection() as s:
            access = hub.hot.access(
                s, request.headers.get("authorization"), client_address(hub, request), namespace, name
            )
            if access.account is not None:
                access.account.require(Scope.READ)
            grant = hub.index.start_pull(s, access, namespace, name, hub.pulls)
        return JSONResponse(grant.images, headers=_token_headers(grant, wanted))

    @r.delete("/v1/repositories/{path:path}", include_in_schema=False)
    def delete_repository(path: str, request: Request) -> Response:
        namespace, name, _ = _split(path)
        wanted = request.headers.get("x-docker-token", "").lower() == "true"
        with hub.unit() as s:
            user = _user(hub, s, request, Scope.DELETE)
            if wanted:  # step 1 of the delete flow: a delete token for the registry
                grant = hub.index.start_delete(s, user, namespace, name)
                return JSONResponse("", status_code=202, headers=_token_headers(grant, True))
            hub.index.finish_delete(s, user, namespace, name)
        return JSONResponse("")

    # ---- search ---------------------------------------------------------------------------

    @r.get("/v1/search", include_in_schema=False)
    async def search(request: Request, q: str = "", n: int = DEFAULT_PAGE_SIZE, page: int = 1) -> Response:
        """Anonymous, and the page kept at the generation read now: answered here, on the event
        loop; anything else (a viewer, a miss) in the thread pool."""
        if "authorization" not in request.headers:
            now = await hub.generations.read()
            kept = hub.searches.kept(now, (None, q, page, n)) if now is not None else None
            if kept is not None:
                return Response(kept, media_type="application/json")
        return await run_in_threadpool(search_in_thread, request, q, n, page)

    def search_in_thread(request: Request, q: str, n: int, page: int) -> Response:
        def compute() -> bytes:
            with hub.unit() as s:
                return _search_page(hub.social.search(s, viewer, q, page, n))

        with hub.db.connection() as c:
            viewer = _optional_viewer(hub, c, request)
            body = hub.searches.page(c, (viewer.id if viewer else None, q, page, n), compute)
        return Response(body, media_type="application/json")

    return r


def _search_page(found: SearchPage) -> bytes:
    results = [
        {
            "name": repo.full_name,
            "description": repo.description,
            "star_count": repo.star_count,
            "is_official": repo.is_official,
            "is_trusted": repo.is_automated,
            "is_automated": repo.is_automated,
        }
        for repo in found.results
    ]
    page = {
        "query": found.query,
        "num_results": found.num_results,
        "num_pages": found.num_pages,
        "page": found.page,
        "page_size": found.page_size,
        "results": results,
    }
    return bytes(JSONResponse(page).body)


def _optional_viewer(hub: Hub, s: Connection, request: Request) -> Account | None:
    """Search works anonymously; bad credentials, or a token without ``read``, just mean
    anonymous."""
    try:
        caller = hub.hot.access(s, request.headers.get("authorization"), client_address(hub, request)).account
    except WrongCredentials:
        return None
    return caller if caller is not None and caller.allows(Scope.READ) else None


__all__ = ["router"]
