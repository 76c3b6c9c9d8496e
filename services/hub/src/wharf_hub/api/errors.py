"""One handler per error kind, rendered for the part of the hub that was asked:

* ``/v1/...`` (the index engines speak to): a JSON string body, as the 2014 index answered
  (``"Username or email already exists"``), with ``WWW-Authenticate`` on 401;
* ``/v2/...`` (the registry token endpoint): problem JSON, ``WWW-Authenticate: Basic`` on 401
  (clients answer it with the user's password or access token);
* ``/api/...`` and webhook callbacks (``/u/<ns>/<name>/hook/<secret>/``): problem JSON
  (RFC 9457) ``{"type","title","status","detail"}``;
* web pages: the page renderer the web layer installs (plain text until it does).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from wharf_common.httperrors import Failure, install_error_handlers

from ..services.errors import TooManyAttempts

PageRenderer = Callable[[Request, int, str], Response]
V1_CHALLENGE = 'Basic realm="auth required",Token'
V2_CHALLENGE = 'Basic realm="wharf-hub"'
CALLBACK_PATH = re.compile(r"/u/[^/]+/[^/]+/hook/[^/]+/?$")


def render(request: Request, status: int, message: str, page: PageRenderer | None) -> Response:
    path = request.url.path
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = (
            V1_CHALLENGE
            if path.startswith("/v1/")
            else V2_CHALLENGE
            if path.startswith("/v2/")
            else 'Bearer realm="wharf-hub"'
        )
    if path.startswith("/v1/") or path in ("/_ping",):
        return JSONResponse(message, status_code=status, headers=headers)
    if path.startswith(("/api/", "/v2/")) or CALLBACK_PATH.match(path):
        title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        body = {"type": "about:blank", "title": title, "status": status, "detail": message}
        return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")
    if page is not None:
        return page(request, status, message)
    return PlainTextResponse(message, status_code=status, headers=headers)


def describe(exc: RequestValidationError) -> str:
    """``field.path: what is wrong`` for each problem, as a person reads a form error."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}" for e in exc.errors()
    )
    return problems or "invalid request"


def install(app: FastAPI, page: PageRenderer | None = None) -> None:
    """The handlers render in the thread pool: a web page's error looks up the signed-in user
    in the database, which must not hold up the event loop."""

    async def respond(request: Request, failure: Failure) -> Response:
        response = await run_in_threadpool(render, request, failure.status, failure.message, page)
        for key, value in failure.headers.items():
            response.headers[key] = value
        if isinstance(failure.exc, TooManyAttempts):
            response.headers["Retry-After"] = str(failure.exc.retry_after)
        return response

    install_error_handlers(app, respond, describe)


__all__ = ["PageRenderer", "install", "render"]
