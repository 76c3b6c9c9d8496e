"""One ASGI middleware for every request: request id, registry headers, metrics, one log line."""

from __future__ import annotations

import re
import secrets
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..metrics import Metrics
from .files import ZERO_COPY_SEND

log = structlog.get_logger(__name__)

_REQUEST_ID_RE = re.compile(rb"[A-Za-z0-9._-]{1,64}")


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, version: str, flavor: str) -> None:
        self.app = app
        self.metrics = metrics
        self.headers = [
            (b"x-docker-registry-version", version.encode()),
            (b"x-docker-registry-config", flavor.encode()),
        ]
        self.v2_headers = [(b"docker-distribution-api-version", b"registry/2.0")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"")
        request_id = incoming.decode() if _REQUEST_ID_RE.fullmatch(incoming) else secrets.token_hex(8)
        started = time.monotonic()
        path = scope["path"]
        v2 = path == "/v2" or path.startswith("/v2/")
        status = 0
        bytes_in = bytes_out = 0

        async def counting_receive() -> Message:
            nonlocal bytes_in
            message = await receive()
            if message["type"] == "http.request":
                bytes_in += len(message.get("body", b""))
            return message

        async def decorated_send(message: Message) -> None:
            nonlocal status, bytes_out
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [
                    *message.get("headers", []),
                    *(self.v2_headers if v2 else self.headers),
                    (b"x-request-id", request_id.encode()),
                ]
            elif message["type"] == "http.response.body":
                bytes_out += len(message.get("body", b""))
            elif message["type"] == ZERO_COPY_SEND:
                bytes_out += message["count"]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, counting_receive, decorated_send)
            finally:
                self.metrics.observe(scope["method"], status or 499, bytes_in, bytes_out)
                log.info(
                    "http.request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status or 499,
                    bytes_in=bytes_in,
                    bytes_out=bytes_out,
                    ms=round((time.monotonic() - started) * 1000, 1),
                )
