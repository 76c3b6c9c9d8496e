"""Who is asking: Basic credentials (v1 index, CLI), Bearer access tokens (JSON API)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from ..db.models import User
from ..hub import Hub
from ..services.errors import LoginRequired


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def basic_user(hub: Hub, s: Session, request: Request) -> User | None:
    """The user of ``Authorization: Basic`` (password or access token); None without the header;
    wrong credentials raise (the same error for an unknown user)."""
    header = request.headers.get("authorization")
    if not header or not header.lower().startswith("basic "):
        return None
    return hub.accounts.authenticate_basic(s, header, client_address(request))


def api_user(hub: Hub, s: Session, request: Request) -> User | None:
    """``Authorization: Bearer <access token>`` or Basic; None when anonymous."""
    header = request.headers.get("authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return hub.accounts.user_for_token(s, value.strip())
    return basic_user(hub, s, request)


def api_signed_in(hub: Hub, s: Session, request: Request) -> User:
    """:func:`api_user`, where anonymous is a 401 (with ``WWW-Authenticate: Bearer``)."""
    user = api_user(hub, s, request)
    if user is None:
        raise LoginRequired()
    return user


__all__ = ["api_signed_in", "api_user", "basic_user", "client_address"]
