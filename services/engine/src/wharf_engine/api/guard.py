"""Refuse what a web browser would send: cross-site requests, rebound host names, non-JSON bodies.

A page the engine's user visits can make the browser POST to ``http://127.0.0.1:2375`` (a form with
``enctype=text/plain`` carries a JSON-looking body), and a name the attacker controls can be rebound
to a loopback address (DNS rebinding) so that the page may even read the answers. Three checks stop
this, none of which a real client (docker CLI, docker-py, compose, wharf) ever trips:

- a request body that is parsed as JSON must say ``Content-Type: application/json``, as Docker's
  ``CheckForJSON`` requires; only the routes whose body is a tar or a stream are exempt;
- on TCP listeners, a request that carries ``Origin`` (browsers add it to every cross-origin and
  every POST request) is refused;
- on TCP listeners, the ``Host`` header must name this engine: a loopback name or address, an IP
  address (a browser only sends one when the page's own origin is that address, so it cannot be
  rebound), a name the engine listens on, one of its TLS certificate's names, or a configured name.

Unix sockets are not reachable from a browser: only the JSON check applies there.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from wharf_engine.certs import certificate_names

VERSIONED = re.compile(r"^/v\d+\.\d+(/.*)$")
RAW_BODY_ROUTES = re.compile(
    r"^(?:POST /build|POST /images/create|POST /images/load|PUT /containers/[^/]+/archive)$"
)
"""Routes whose body is a tar archive or a byte stream, as in Docker (no ``CheckForJSON`` there)."""
DRAIN_LIMIT = 256 * 1024
"""Body bytes read and dropped before a refusal, as Go's net/http does, so the client's send completes."""
LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})
JSON_TYPE = "application/json"


def host_name(value: str) -> str:
    """``Host`` header value without port, brackets or trailing dot, lower-cased."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def listener_names(hosts: Iterable[str], extra: Iterable[str], certificate: Path | None) -> list[str]:
    """The names this engine answers to: its ``tcp://`` addresses, configured names, its certificate's."""
    names = [
        h.removeprefix("tcp://").rpartition(":")[0] or h.removeprefix("tcp://")
        for h in hosts
        if h.startswith("tcp://")
    ]
    names += list(extra)
    if certificate is not None and certificate.exists():
        names += certificate_names(certificate)
    return names


def is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def json_body_error(method: str, path: str, headers: dict[bytes, bytes]) -> str | None:
    """Docker's ``CheckForJSON``: a body must be ``application/json``, except on raw-body routes."""
    content_type = headers.get(b"content-type", b"").decode("latin-1").strip()
    length = headers.get(b"content-length", b"").strip()
    has_body = b"transfer-encoding" in headers or (length not in (b"", b"0"))
    if method not in ("POST", "PUT", "PATCH") or not has_body:
        return None  # nothing is parsed (docker's attach says text/plain, with no body)
    if RAW_BODY_ROUTES.match(f"{method} {path}"):
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not media_type:
        return f"malformed Content-Type header ({content_type}): mime: no media type"
    if media_type != JSON_TYPE:
        return f"unsupported Content-Type header ({content_type}): must be '{JSON_TYPE}'"
    return None


class RequestGuardMiddleware:
    """Pure ASGI (no body buffering) so that hijacked attach and exec connections pass untouched."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed_hosts = LOOPBACK_NAMES | {host_name(h) for h in allowed_hosts if h}

    def host_allowed(self, name: str, local_address: str) -> bool:
        if not name or name in self.allowed_hosts or name.endswith(".localhost"):
            return True
        return name == host_name(local_address) or is_ip_address(name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = dict(scope["headers"])
        server = scope.get("server")
        status, message = 0, None
        if server is not None and server[1] is not None:  # a TCP listener (unix sockets have no port)
            name = host_name(headers.get(b"host", b"").decode("latin-1"))
            if b"origin" in headers:
                status, message = 403, "cross-origin requests are refused: the engine API is not for browsers"
            elif not self.host_allowed(name, str(server[0])):
                status, message = 403, f"refusing Host {name!r}: not a name of this engine"
        if not status:
            match = VERSIONED.match(scope["path"])
            path = match[1] if match else scope["path"]
            if message := json_body_error(scope["method"], path, headers):
                status = 400
        if status:
            await drain(receive)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
                }
            )
            await send({"type": "http.response.body", "body": json.dumps({"message": message}).encode()})
            return
        await self.app(scope, receive, send)


async def drain(receive: Receive) -> None:
    """Read the refused request's body (up to ``DRAIN_LIMIT``): closing with unread data sends a reset
    that the client sees as a broken pipe instead of the refusal."""
    seen = 0
    while seen <= DRAIN_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return
