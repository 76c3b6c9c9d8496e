"""Who is asking: Basic credentials (v1 index, CLI), Bearer access tokens (JSON API), and from
which address (``X-Forwarded-For`` only from the configured proxies)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from functools import lru_cache

from fastapi import Request
from sqlalchemy.orm import Session

from ..db.models import Repository, User
from ..hub import Hub
from ..services.buildqueue import PUSH_USER
from ..services.errors import AccessDenied, LoginRequired, WrongCredentials
from ..services.tokens import Caller, Scope
from .v1 import PREFIX

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ACCOUNT_PATHS = (f"{PREFIX}/user", f"{PREFIX}/user/password")
TOKEN_PATHS = f"{PREFIX}/user/tokens"


@lru_cache(maxsize=16)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(hub: Hub, request: Request) -> str | None:
    """The peer's address; when the peer is a trusted proxy, the nearest address in
    ``X-Forwarded-For`` that is not one (the ones further left could be made up by anyone)."""
    peer = request.client.host if request.client else None
    networks = _networks(tuple(hub.settings.trusted_proxies))
    if peer is None or not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return peer


def basic_caller(hub: Hub, s: Session, request: Request) -> Caller | None:
    """``Authorization: Basic`` (password or access token); None without the header; wrong
    credentials raise (the same error for an unknown user)."""
    header = request.headers.get("authorization")
    if not header or not header.lower().startswith("basic "):
        return None
    return hub.accounts.authenticate_basic(s, header, client_address(hub, request))


def build_credential(hub: Hub, s: Session, header: str) -> Repository | None:
    """The repository an automated build's push credential (Basic ``wharf-build-<id>`` in the
    ``Authorization`` value ``header``) may push to, while the build runs; None for any other
    credential; :class:`WrongCredentials` if wrong."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not PUSH_USER.fullmatch(username):
        return None
    build = hub.builder.authenticate_push(s, username, password)
    if build is None:
        raise WrongCredentials()
    return build.repository


def index_user(
    hub: Hub, s: Session, request: Request, namespace: str, name: str, scope: Scope
) -> User | None:
    """The Basic caller when an access token has ``scope``; an automated build's push credential
    (``wharf-build-<id>``) acts for the owner of the repository it builds, on that repository only
    and while the build runs."""
    repo = build_credential(hub, s, request.headers.get("authorization") or "")
    if repo is not None:
        if (repo.namespace, repo.name) != (namespace, name) or repo.owner is None:
            raise AccessDenied()
        return repo.owner
    caller = basic_caller(hub, s, request)
    return caller.require(scope) if caller is not None else None


def api_caller(hub: Hub, s: Session, request: Request) -> Caller | None:
    """``Authorization: Bearer <access token>`` or Basic; None when anonymous."""
    header = request.headers.get("authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return hub.accounts.caller_for_token(s, value.strip())
    return basic_caller(hub, s, request)


def required_scope(request: Request) -> Scope:
    """What an access token needs for an ``/api/v1`` request: the account itself (its
    password, e-mail, tokens) needs ``admin``; otherwise reading needs ``read``, deleting
    ``delete``, and any other change ``write``."""
    path, method = request.url.path.rstrip("/"), request.method.upper()
    if path.startswith(TOKEN_PATHS) or (path in ACCOUNT_PATHS and method not in SAFE_METHODS):
        return Scope.ADMIN
    if method in SAFE_METHODS:
        return Scope.READ
    return Scope.DELETE if method == "DELETE" else Scope.WRITE


def api_user(hub: Hub, s: Session, request: Request) -> User | None:
    """The caller of an ``/api/v1`` request, when its credential's scopes allow the request."""
    caller = api_caller(hub, s, request)
    return caller.require(required_scope(request)) if caller is not None else None


def api_signed_in(hub: Hub, s: Session, request: Request) -> User:
    """:func:`api_user`, where anonymous is a 401 (with ``WWW-Authenticate: Bearer``)."""
    user = api_user(hub, s, request)
    if user is None:
        raise LoginRequired()
    return user


__all__ = [
    "api_caller",
    "api_signed_in",
    "api_user",
    "basic_caller",
    "build_credential",
    "client_address",
    "index_user",
    "required_scope",
]
