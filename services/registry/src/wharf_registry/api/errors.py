"""One handler per error kind, rendering the v1 body ``{"error": "..."}`` (DR ``toolkit.api_error``)."""

from __future__ import annotations

from collections.abc import Mapping

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


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return json_response({"error": message}, status=status, headers=headers)


def install(app: FastAPI, metrics: Metrics) -> None:
    async def wharf_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WharfError)
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

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return error_response(exc.status_code, detail, exc.headers)

    async def validation_error(_request: Request, exc: Exception) -> Response:
        return error_response(400, str(exc))

    app.add_exception_handler(WharfError, wharf_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
