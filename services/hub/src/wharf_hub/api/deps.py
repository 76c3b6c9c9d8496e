"""Who is asking: Basic credentials (v1 index, CLI), Bearer access tokens (JSON API)."""

from __future__ import annotations

import base64
import binascii

from fastapi import Request
from sqlalchemy.orm import Session

from ..db.models import User
from ..hub import Hub
from ..services.buildqueue import PUSH_USER
from ..services.errors import AccessDenied, LoginRequired, WrongCredentials


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def basic_user(hub: Hub, s: Session, request: Request) -> User | None:
    """The user of ``Authorization: Basic`` (password or access token); None without the header;
    wrong credentials raise (the same error for an unknown user)."""
    header = request.headers.get("authorization")
    if not header or not header.lower().startswith("basic "):
        return None
    return hub.accounts.authenticate_basic(s, header, client_address(request))


def index_user(hub: Hub, s: Session, request: Request, namespace: str, name: str) -> User | None:
    """:func:`basic_user`, where an automated build's push credential (``wharf-build-<id>``) acts
    for the owner of the repository it builds, on that repository only and while it runs."""
    header = request.headers.get("authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            username, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username = password = ""
        if PUSH_USER.fullmatch(username):
            build = hub.builder.authenticate_push(s, username, password)
            if build is None:
                raise WrongCredentials()
            repo = build.repository
            if (repo.namespace, repo.name) != (namespace, name) or repo.owner is None:
                raise AccessDenied()
            return repo.owner
    return basic_user(hub, s, request)


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


__all__ = ["api_signed_in", "api_user", "basic_user", "client_address", "index_user"]
