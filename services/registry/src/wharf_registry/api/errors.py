"""One handler per error kind, rendering the v1 body ``{"error": "..."}`` (DR ``toolkit.api_error``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from wharf_common.errors import NotModified, WharfError
from wharf_common.tokens import InvalidToken

from ..access import AuthenticationRequired
from ..errors import ChecksumMismatch
from ..metrics import Metrics
from .responses import json_response
from .v2.errors import is_v2, v2_error, v2_status_error


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return json_response({"error": message}, status=status, headers=headers)


def body_limit_response(scope: Mapping[str, Any], status: int, message: str) -> Response:
    """The 413 of the body limit, in the shape of the protocol the path belongs to."""
    if is_v2(str(scope.get("path", ""))):
        return v2_status_error(status, message)
    return error_response(status, message)


def install(app: FastAPI, metrics: Metrics) -> None:
    async def wharf_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WharfError)
        if is_v2(request.url.path):
            return v2_error(exc)
        if isinstance(exc, NotModified):
            return Response(status_code=304)
        if isinstance(exc, ChecksumMismatch):
            metrics.checksum_failures += 1
        headers: dict[str, str] | None = None
        if isinstance(exc, AuthenticationRequired):
            headers = {"WWW-Authenticate": exc.challenge}
        elif isinstance(exc, InvalidToken):  # index mode: get a (new) token from the index
            headers = {"WWW-Authenticate": "Token"}
        return error_response(exc.status, exc.message, headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if is_v2(request.url.path):
            return v2_status_error(exc.status_code, detail, exc.headers)
        return error_response(exc.status_code, detail, exc.headers)

    async def validation_error(request: Request, exc: Exception) -> Response:
        if is_v2(request.url.path):
            return v2_status_error(400, str(exc))
        return error_response(400, str(exc))

    app.add_exception_handler(WharfError, wharf_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
