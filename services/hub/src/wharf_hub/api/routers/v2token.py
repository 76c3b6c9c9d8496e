"""The registry token endpoint (Docker's token authentication) and the registries' reports.

``GET /v2/token?service=…&scope=…`` (Basic with a password or an access token, or anonymous)
and the OAuth2 form ``POST /v2/token`` (``grant_type=password`` with username and password, or
``grant_type=refresh_token`` with an access token as the refresh token) answer
``{"token", "access_token", "expires_in", "issued_at"}``. A password login with
``offline_token=true`` (``docker login``) also gets a ``refresh_token``: a new access token of
the account, named for the client, which the client keeps instead of the password (Docker's
identity token). ``POST /v2/_registry/events`` is
where a registry in index mode reports pushes and pulls, with the token of the client it served.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from wharf_common import jsonsafe
from wharf_common.bearer import parse_scopes

from ...hub import Hub
from ...services.errors import AccessDenied, InvalidName, WrongCredentials
from ...services.registry_tokens import Principal
from ...services.tokens import Caller, Scope
from ..deps import build_credential, client_address
from ..v1 import problems

TOKEN_PATH = "/v2/token"
EVENTS_PATH = "/v2/_registry/events"
BUILD_SCOPES = frozenset({Scope.READ, Scope.WRITE})


class TokenResponse(BaseModel):
    token: str = Field(description="The bearer token (a JWT signed ES256 by the hub).")
    access_token: str = Field(description="The same token, under its OAuth2 name.")
    expires_in: int = Field(description="Seconds the token lasts.")
    issued_at: str = Field(description="When it was issued (RFC 3339).")
    refresh_token: str | None = Field(
        None, description="After a password with offline_token=true: an access token to ask with next time."
    )


class EventsResponse(BaseModel):
    accepted: int


def _principal(hub: Hub, s: Session, request: Request, header: str, account: str | None) -> Principal:
    """Who the ``Authorization`` value ``header`` stands for (anonymous without one)."""
    repo = build_credential(hub, s, header)
    if repo is not None:
        if repo.owner is None:
            raise AccessDenied()
        return Principal(repo.owner, BUILD_SCOPES, only=repo)
    if not header:
        return Principal(None)
    caller = hub.accounts.authenticate_basic(s, header, client_address(hub, request))
    return _checked(caller, account)


def _checked(caller: Caller, account: str | None) -> Principal:
    if account and account.lower() != caller.user.username:
        raise WrongCredentials()  # a client asking for another account than it signed in as
    return Principal(caller.user, caller.scopes)


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def router(hub: Hub) -> APIRouter:
    r = APIRouter(tags=["registry"], responses=problems(400, "default"))

    def issue(s: Session, who: Principal, service: str, scopes: list[str]) -> dict[str, Any]:
        return hub.registry_tokens.grant(s, who, service, parse_scopes(scopes)).response()

    @r.get(
        TOKEN_PATH,
        summary="A registry bearer token (Docker's token authentication)",
        response_model=TokenResponse,
        response_model_exclude_none=True,
        responses=problems(401),
    )
    def get_token(
        request: Request,
        service: Annotated[str, Query(max_length=255)] = "",
        scope: Annotated[list[str] | None, Query()] = None,
        account: Annotated[str | None, Query(max_length=100)] = None,
        offline_token: bool = False,
        client_id: Annotated[str, Query(max_length=60)] = "",
    ) -> dict[str, Any]:
        """Basic with a password or a personal access token, or no credentials for public pulls.
        Each scope (``repository:<name>:pull,push,delete``, ``registry:catalog:*``) is granted the
        actions the caller may take; the rest are left out (a token with empty access)."""
        with hub.unit() as s:
            who = _principal(hub, s, request, request.headers.get("authorization") or "", account)
            answer = issue(s, who, service, scope or [])
            if offline_token and who.user is not None and who.scopes is None and who.only is None:
                name = f"registry login ({client_id or 'client'})"
                answer["refresh_token"] = hub.accounts.create_token(s, who.user, name).secret
            return answer

    @r.post(
        TOKEN_PATH,
        summary="A registry bearer token (OAuth2 form)",
        response_model=TokenResponse,
        response_model_exclude_none=True,
        responses=problems(401),
    )
    def post_token(
        request: Request,
        grant_type: Annotated[str, Form(max_length=30)],
        service: Annotated[str, Form(max_length=255)] = "",
        scope: Annotated[str, Form(max_length=8192)] = "",
        username: Annotated[str, Form(max_length=100)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
        refresh_token: Annotated[str, Form(max_length=1024)] = "",
        client_id: Annotated[str, Form(max_length=100)] = "",
    ) -> dict[str, Any]:
        """``grant_type=password`` (username, password: a password or an access token) or
        ``grant_type=refresh_token`` (an access token; no refresh tokens are handed out)."""
        with hub.unit() as s:
            if grant_type == "password":
                if not username or not password:
                    raise WrongCredentials()
                who = _principal(hub, s, request, _basic(username, password), username)
            elif grant_type == "refresh_token":
                caller = hub.accounts.caller_for_token(s, refresh_token)
                who = _checked(caller, username or None)
            else:
                raise InvalidName(f"unsupported_grant_type: {grant_type[:30]} (password or refresh_token)")
            return issue(s, who, service, scope.split())

    @r.post(
        EVENTS_PATH,
        summary="Pushes and pulls a registry served (with the client's bearer token)",
        response_model=EventsResponse,
        responses=problems(401, 403, 404),
    )
    async def post_events(request: Request) -> dict[str, Any]:
        """``Authorization: Bearer <the client's token>``; body ``{"events": [{"action": "push"|"pull",
        "target": {"repository", "tag", "digest", "size", "config"}}]}``."""
        scheme, _, credentials = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise WrongCredentials()
        try:
            body = jsonsafe.loads(await request.body())
        except ValueError:
            raise InvalidName("Invalid JSON") from None
        return {"accepted": await _report(hub, credentials.strip(), body)}

    return r


async def _report(hub: Hub, credentials: str, body: Any) -> int:
    def work() -> int:
        with hub.unit() as s:
            return hub.registry_tokens.report(s, credentials, body)

    return await run_in_threadpool(work)


__all__ = ["EVENTS_PATH", "TOKEN_PATH", "router"]
