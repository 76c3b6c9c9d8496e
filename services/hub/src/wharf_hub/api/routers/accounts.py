"""``/api/v1/users`` and ``/api/v1/user``: sign-up, profiles, the caller's account and tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...hub import Hub
from ..deps import api_signed_in, client_address
from ..schemas.accounts import (
    Account,
    NewToken,
    PasswordChange,
    PasswordConfirmation,
    Profile,
    SignUp,
    Token,
    TokenRequest,
)
from ..v1 import RowId, new_router, problems


def router(hub: Hub) -> APIRouter:
    r = new_router()

    @r.post("/users", status_code=201, tags=["accounts"], summary="Sign up", responses=problems(409))
    def sign_up(body: SignUp, request: Request) -> Account:
        """Create an account. It stays inactive (and cannot sign in) until the link mailed to
        ``email`` is opened."""
        with hub.unit() as s:
            account = hub.accounts.signup(
                s, body.username, body.email, body.password, client_address(hub, request)
            )
            return Account.of(account)

    @r.get("/user", tags=["accounts"], summary="The caller's account", responses=problems(401, 403))
    def get_me(request: Request) -> Account:
        with hub.unit() as s:
            return Account.of(api_signed_in(hub, s, request))

    @r.delete(
        "/user",
        status_code=204,
        tags=["accounts"],
        summary="Delete the caller's account",
        responses=problems(401, 403),
    )
    def delete_me(body: PasswordConfirmation, request: Request) -> None:
        """Delete the account and every repository in its namespace (from the registry too,
        shortly after); the password confirms it. The name stays taken until the registry
        content is gone."""
        with hub.unit() as s:
            hub.accounts.delete_account(s, api_signed_in(hub, s, request), body.password)

    @r.put(
        "/user/password",
        status_code=204,
        tags=["accounts"],
        summary="Change the caller's password",
        responses=problems(401, 403),
    )
    def change_password(body: PasswordChange, request: Request) -> None:
        """Signs out every browser and revokes every access token. An access token needs the
        `admin` scope here, and the old password all the same."""
        with hub.unit() as s:
            hub.accounts.change_password(s, api_signed_in(hub, s, request), body.old, body.new)

    @r.get("/users/{username}", tags=["accounts"], summary="A public profile", responses=problems(404))
    def get_user(username: str) -> Profile:
        with hub.unit() as s:
            return Profile.of(hub.accounts.get(s, username))

    # ---- personal access tokens ----------------------------------------------------------------

    @r.post(
        "/user/tokens",
        status_code=201,
        tags=["tokens"],
        summary="Create a personal access token",
        responses=problems(401, 403),
    )
    def create_token(body: TokenRequest, request: Request) -> NewToken:
        """The answer is the only time the secret is shown. An access token may make another
        only with the `admin` scope."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            new = hub.accounts.create_token(s, user, body.name, tuple(body.scopes), body.expires_in_days)
            return NewToken.created(new)

    @r.get(
        "/user/tokens", tags=["tokens"], summary="The caller's access tokens", responses=problems(401, 403)
    )
    def list_tokens(request: Request) -> list[Token]:
        with hub.unit() as s:
            return [Token.of(t) for t in hub.accounts.tokens(s, api_signed_in(hub, s, request))]

    @r.delete(
        "/user/tokens/{token_id}",
        status_code=204,
        tags=["tokens"],
        summary="Revoke an access token",
        responses=problems(401, 403, 404),
    )
    def delete_token(token_id: RowId, request: Request) -> None:
        with hub.unit() as s:
            hub.accounts.delete_token(s, api_signed_in(hub, s, request), token_id)

    return r


__all__ = ["router"]
