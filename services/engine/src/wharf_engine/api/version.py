"""Versioned paths: strip ``/v1.NN``, refuse versions out of range, add Docker's headers."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wharf_engine.settings import API_VERSION, ENGINE_VERSION, MIN_API_VERSION

VERSIONED = re.compile(r"^/v(\d+)\.(\d+)(/.*)$")


def as_tuple(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


class VersionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [
            (b"api-version", API_VERSION.encode()),
            (b"server", f"Docker/{ENGINE_VERSION} (linux) wharf".encode()),
            (b"ostype", b"linux"),
            (b"docker-experimental", b"false"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        version = API_VERSION
        match = VERSIONED.match(scope["path"])
        if match:
            version = f"{match[1]}.{match[2]}"
            scope = dict(scope, path=match[3], raw_path=match[3].encode())
            requested = as_tuple(version)
            error = None
            if requested < as_tuple(MIN_API_VERSION):
                error = (
                    f"client version {version} is too old. Minimum supported API version is "
                    f"{MIN_API_VERSION}, please upgrade your client to a newer version"
                )
            elif requested > as_tuple(API_VERSION):
                error = f"client version {version} is too new. Maximum supported API version is {API_VERSION}"
            if error:
                body = json.dumps({"message": error}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 400,
                        "headers": [*self.headers, (b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        scope["wharf.api_version"] = as_tuple(version)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", []), *self.headers])
            await send(message)

        await self.app(scope, receive, send_with_headers)
