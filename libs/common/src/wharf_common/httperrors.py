"""One installer for the three error handlers every service's FastAPI app has.

Each service renders errors in its own protocol's shape (Docker's ``{"message"}``, the v1 registry's
``{"error"}``, the v2 error list, the hub's problem JSON), but the mapping from exception to status,
message and headers is the same everywhere: a :class:`WharfError` carries both, Starlette's
``HTTPException`` carries ``detail`` and ``headers``, and a request the schema refuses is a 400. This
module owns that mapping; the service passes a ``render`` function and, if it words validation
errors its own way, a ``describe`` function.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from wharf_common.errors import NotModified, WharfError


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong, as the service's renderer needs it."""

    status: int
    message: str
    exc: Exception
    headers: Mapping[str, str] = field(default_factory=dict)


Render = Callable[[Request, Failure], Awaitable[Response]]
Describe = Callable[[RequestValidationError], str]


def install_error_handlers(app: FastAPI, render: Render, describe: Describe = str) -> None:
    """Route ``WharfError``, ``HTTPException`` and ``RequestValidationError`` to ``render``.

    ``NotModified`` is answered 304 with no body for every service (its status is the answer).
    """

    async def wharf_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WharfError)
        if isinstance(exc, NotModified):
            return Response(status_code=304)
        return await render(request, Failure(exc.status, exc.message, exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return await render(request, Failure(exc.status_code, detail, exc, exc.headers or {}))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return await render(request, Failure(400, describe(exc), exc))

    app.add_exception_handler(WharfError, wharf_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


__all__ = ["Describe", "Failure", "Render", "install_error_handlers"]
