"""Request body size limits, as a pure ASGI middleware every service installs outermost.

A body is refused with 413 *before* it is buffered anywhere:

* a ``Content-Length`` above the limit is answered at once, without reading a byte;
* a chunked (or lying) body is counted as it is received, and the read that crosses the
  limit raises :class:`BodyTooLarge`; whatever the application answers after that is
  replaced by the 413 (unless its response had already started).

The server discards the rest of a refused body without keeping it (uvicorn drops body bytes
that arrive after the response is complete), so a 300 MB POST costs the process nothing.

Each service passes ``respond`` to render the 413 in its own error shape, and per-route
:class:`BodyRule` limits for the endpoints that stream large bodies (layer uploads, build
contexts) instead of buffering them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from wharf_common.errors import WharfError

# The ASGI types (as ``starlette.types``, which this library does not depend on).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Responder = Callable[[Scope, int, str], ASGIApp]
"""``(scope, status, message) -> response``: the service's error body for ``status``."""


class BodyTooLarge(WharfError):
    """The request body is larger than the endpoint accepts."""

    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body too large: the limit is {limit} bytes")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class BodyRule:
    """``limit`` (``None``: unlimited) for requests whose method is in ``methods`` and whose
    path (after any version prefix the service strips) matches ``path`` in full."""

    methods: frozenset[str]
    path: re.Pattern[str]
    limit: int | None

    @classmethod
    def of(cls, methods: str, path: str, limit: int | None) -> BodyRule:
        """``BodyRule.of("PUT POST", r"/images/[^/]+/layer", 1 << 30)``."""
        return cls(frozenset(methods.upper().split()), re.compile(path), limit)

    def matches(self, method: str, path: str) -> bool:
        return method in self.methods and self.path.fullmatch(path) is not None


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed Content-Length itself
    return None


class BodyLimitMiddleware:
    """Refuse request bodies over ``limit`` bytes (or the first matching rule's limit) with 413."""

    def __init__(
        self, app: ASGIApp, *, limit: int, respond: Responder, rules: Sequence[BodyRule] = ()
    ) -> None:
        self.app = app
        self.limit = limit
        self.respond = respond
        self.rules = tuple(rules)

    def limit_for(self, method: str, path: str) -> int | None:
        for rule in self.rules:
            if rule.matches(method, path):
                return rule.limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit)
            return

        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the application's answer to the refusal: the 413 below replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        error = BodyTooLarge(limit)
        response = self.respond(scope, error.status, error.message)
        await response(scope, receive, send)


__all__ = ["BodyLimitMiddleware", "BodyRule", "BodyTooLarge", "Responder"]
