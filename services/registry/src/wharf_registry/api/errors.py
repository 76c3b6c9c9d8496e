"""One handler per error kind, rendering the v1 body ``{"error": "..."}`` (DR ``toolkit.api_error``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from wharf_common.errors import WharfError
from wharf_common.httperrors import Failure, install_error_handlers
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
    async def render(request: Request, failure: Failure) -> Response:
        exc = failure.exc
        if is_v2(request.url.path):
            if isinstance(exc, WharfError):
                return v2_error(exc)
            return v2_status_error(failure.status, failure.message, failure.headers or None)
        if isinstance(exc, ChecksumMismatch):
            metrics.checksum_failures += 1
        headers: Mapping[str, str] | None = failure.headers or None
        if isinstance(exc, AuthenticationRequired):
            headers = {"WWW-Authenticate": exc.challenge}
        elif isinstance(exc, InvalidToken):  # index mode: get a (new) token from the index
            headers = {"WWW-Authenticate": "Token"}
        return error_response(failure.status, failure.message, headers)

    install_error_handlers(app, render)
