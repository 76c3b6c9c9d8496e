"""Browser sessions: the ``wharf_session`` cookie holds the secret from
:meth:`AccountService.open_session` (the database keeps only its hash).

Every cookie the hub sets (this one and the CSRF one) is HttpOnly (no script reads it),
SameSite=Lax (other sites' forms do not send it) and Secure when the hub's public URL is
``https://`` (or ``settings.secure_cookies`` says so), so a browser never sends it over plain HTTP.
"""

from __future__ import annotations

from fastapi import Request, Response
from sqlalchemy.orm import Session

from ..db.models import Repository, User
from ..hub import Hub
from ..services.errors import LoginRequired

SESSION_COOKIE = "wharf_session"


def session_secret(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def current_user(hub: Hub, s: Session, request: Request) -> User | None:
    """The signed-in user, or None (no cookie, an expired or closed session)."""
    secret = session_secret(request)
    return hub.accounts.session_user(s, secret) if secret else None


def require_user(hub: Hub, s: Session, request: Request) -> User:
    user = current_user(hub, s, request)
    if user is None:
        raise LoginRequired("Log in to see this page")
    return user


def require_admin(
    hub: Hub, s: Session, request: Request, namespace: str, name: str
) -> tuple[User, Repository]:
    """The signed-in user and the repository they may change (settings pages)."""
    user = require_user(hub, s, request)
    return user, hub.repos.get_admin(s, user, namespace, name)


def secure_cookies(hub: Hub) -> bool:
    """Whether cookies carry ``Secure``: always when people reach the hub over HTTPS."""
    return hub.settings.secure_cookies or hub.settings.url.lower().startswith("https://")


def set_cookie(hub: Hub, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=hub.settings.session_ttl,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(hub),
    )


def start(hub: Hub, s: Session, response: Response, user: User) -> None:
    """Sign ``user`` in: a new session (a fresh secret, never one the browser brought)."""
    set_cookie(hub, response, SESSION_COOKIE, hub.accounts.open_session(s, user, hub.settings.session_ttl))


def end(hub: Hub, s: Session, request: Request, response: Response) -> None:
    """Sign out: the session is deleted on the server, the cookie in the browser."""
    secret = session_secret(request)
    if secret:
        hub.accounts.close_session(s, secret)
    forget(hub, response)


def forget(hub: Hub, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies(hub)
    )


__all__ = [
    "SESSION_COOKIE",
    "current_user",
    "end",
    "forget",
    "require_user",
    "secure_cookies",
    "session_secret",
    "start",
]
