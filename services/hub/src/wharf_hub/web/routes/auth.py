"""Accounts in the browser: sign-up, activation, log in and out, password reset and change,
access tokens, account deletion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from wharf_common.errors import Conflict, Forbidden, InvalidArgument, Unauthorized, WharfError

from ...api.deps import client_address
from ...db.models import User
from ...hub import Hub
from ...services.accounts import NewToken
from ...services.errors import InvalidName, TooManyAttempts, WrongCredentials
from ...services.tokens import scope_list
from .. import sessions
from ..pages import Pages, redirect, safe_next

Field = Annotated[str, Form()]
FORM_ERRORS = (InvalidArgument, Conflict)


def form_status(exc: WharfError) -> int:
    """The status of a form shown again with its error: 403, 409 and 429 as they are, 400 for
    the rest (a wrong password is no 401 challenge, an unknown user no missing page)."""
    return exc.status if exc.status in (403, 409, 429) else 400


def router(hub: Hub, pages: Pages) -> APIRouter:
    r = APIRouter()

    def account_page(
        request: Request,
        s: Session,
        user: User,
        *,
        status: int = 200,
        error: str | None = None,
        new_token: NewToken | None = None,
    ) -> Response:
        tokens = sorted(user.tokens, key=lambda t: t.created_at, reverse=True)
        return pages.render(
            request,
            "account.html",
            user=user,
            status=status,
            error=error,
            tokens=tokens,
            new_token=new_token,
            token_scopes=scope_list,
        )

    # ---- sign-up and activation ----------------------------------------------------------

    @r.get("/signup")
    def signup_form(request: Request) -> Response:
        with hub.unit() as s:
            if sessions.current_user(hub, s, request) is not None:
                return redirect("/")
        return pages.render(request, "signup.html", user=None, form={"username": "", "email": ""})

    @r.post("/signup")
    def signup(request: Request, username: Field = "", email: Field = "", password: Field = "") -> Response:
        try:
            with hub.unit() as s:
                hub.accounts.signup(s, username, email, password, client_address(hub, request))
        except (*FORM_ERRORS, TooManyAttempts) as exc:
            form = {"username": username, "email": email}
            page = pages.render(
                request, "signup.html", user=None, status=form_status(exc), error=exc.message, form=form
            )
            if isinstance(exc, TooManyAttempts):
                page.headers["Retry-After"] = str(exc.retry_after)
            return page
        return pages.render(request, "signup_done.html", user=None, email=email.strip())

    @r.get("/activate/{token}")
    def activation_form(request: Request, token: str) -> Response:
        """The mailed link only shows a button: a GET (a mail scanner, a link preview) changes
        nothing."""
        try:
            with hub.unit() as s:
                account = hub.accounts.check_activation(s, token)
                return pages.render(request, "activate.html", user=None, account=account, token=token)
        except InvalidArgument as exc:
            return pages.render(request, "error.html", user=None, status=400, code=400, message=exc.message)

    @r.post("/activate/{token}")
    def activate(request: Request, token: str) -> Response:
        try:
            with hub.unit() as s:
                hub.accounts.activate(s, token)
        except InvalidArgument as exc:
            return pages.render(request, "error.html", user=None, status=400, code=400, message=exc.message)
        return redirect("/login", notice="activated")

    # ---- log in and out --------------------------------------------------------------------

    @r.get("/login")
    def login_form(request: Request, next: str = "/") -> Response:
        with hub.unit() as s:
            if sessions.current_user(hub, s, request) is not None:
                return redirect(safe_next(next))
        return pages.render(request, "login.html", user=None, username="", next=safe_next(next))

    @r.post("/login")
    def login(request: Request, username: Field = "", password: Field = "", next: Field = "/") -> Response:
        try:
            with hub.unit() as s:
                user = hub.accounts.authenticate(s, username, password, client_address(hub, request))
                response = redirect(safe_next(next))
                sessions.start(hub, s, response, user)
            return response
        except (Unauthorized, Forbidden) as exc:  # the same message for unknown users and wrong passwords
            page = pages.render(
                request,
                "login.html",
                user=None,
                status=form_status(exc),
                error=exc.message,
                username=username,
                next=safe_next(next),
            )
            if isinstance(exc, TooManyAttempts):
                page.headers["Retry-After"] = str(exc.retry_after)
            return page

    @r.post("/logout")
    def logout(request: Request) -> Response:
        response = redirect("/", notice="logged_out")
        with hub.unit() as s:
            sessions.end(hub, s, request, response)
        return response

    # ---- password reset by mail ------------------------------------------------------------

    @r.get("/reset")
    def reset_form(request: Request) -> Response:
        return pages.render(request, "reset_request.html", user=None, sent=False)

    @r.post("/reset")
    def reset_request(request: Request, email: Field = "") -> Response:
        try:
            with hub.unit() as s:
                hub.accounts.request_reset(s, email, client_address(hub, request))
        except TooManyAttempts as exc:
            page = pages.render(
                request, "reset_request.html", user=None, sent=False, status=429, error=exc.message
            )
            page.headers["Retry-After"] = str(exc.retry_after)
            return page
        return pages.render(request, "reset_request.html", user=None, sent=True)

    @r.get("/reset/{token}")
    def reset_password_form(request: Request, token: str) -> Response:
        return pages.render(request, "reset_password.html", user=None, token=token)

    @r.post("/reset/{token}")
    def reset_password(request: Request, token: str, password: Field = "") -> Response:
        try:
            with hub.unit() as s:
                hub.accounts.reset_password(s, token, password)
        except FORM_ERRORS as exc:
            return pages.render(
                request,
                "reset_password.html",
                user=None,
                status=form_status(exc),
                error=exc.message,
                token=token,
            )
        response = redirect("/login", notice="password_reset")
        sessions.forget(hub, response)
        return response

    # ---- the account page ------------------------------------------------------------------

    @r.get("/account")
    def account(request: Request) -> Response:
        with hub.unit() as s:
            return account_page(request, s, sessions.require_user(hub, s, request))

    @r.post("/account/password")
    def change_password(request: Request, old_password: Field = "", new_password: Field = "") -> Response:
        try:
            with hub.unit() as s:
                user = sessions.require_user(hub, s, request)
                hub.accounts.change_password(s, user, old_password, new_password)
                response = redirect("/account", notice="password_changed")
                sessions.start(hub, s, response, user)  # every session was closed, this one reopens
            return response
        except (*FORM_ERRORS, WrongCredentials) as exc:
            error, status = exc.message, form_status(exc)
        with hub.unit() as s:
            user = sessions.require_user(hub, s, request)
            return account_page(request, s, user, status=status, error=error)

    @r.post("/account/tokens")
    def create_token(
        request: Request,
        name: Field = "",
        scopes: Annotated[list[str] | None, Form()] = None,
        expires_in_days: Field = "",
    ) -> Response:
        try:
            days = expires_in_days.strip()
            if days and not (days.isascii() and days.isdigit() and len(days) <= 6):
                raise InvalidName("The expiry is a number of days")
            with hub.unit() as s:
                user = sessions.require_user(hub, s, request)
                granted = tuple(scopes or ("read",))  # nothing ticked: the least there is
                new = hub.accounts.create_token(s, user, name, granted, int(days) if days else None)
                return account_page(request, s, user, status=201, new_token=new)  # the secret, once
        except FORM_ERRORS as exc:
            error, status = exc.message, form_status(exc)
        with hub.unit() as s:
            user = sessions.require_user(hub, s, request)
            return account_page(request, s, user, status=status, error=error)

    @r.post("/account/tokens/{token_id}/delete")
    def delete_token(request: Request, token_id: int) -> Response:
        with hub.unit() as s:
            hub.accounts.delete_token(s, sessions.require_user(hub, s, request), token_id)
        return redirect("/account", notice="token_deleted")

    @r.post("/account/delete")
    def delete_account(request: Request, password: Field = "") -> Response:
        try:
            with hub.unit() as s:
                hub.accounts.delete_account(s, sessions.require_user(hub, s, request), password)
        except WrongCredentials as exc:
            with hub.unit() as s:
                user = sessions.require_user(hub, s, request)
                return account_page(request, s, user, status=400, error=exc.message)
        response = redirect("/", notice="account_deleted")
        sessions.forget(hub, response)
        return response

    return r


__all__ = ["FORM_ERRORS", "Field", "form_status", "router"]
