"""One handler per error kind, rendering Docker's ``{"message": ...}`` body."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from wharf_common.errors import NotModified, WharfError


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


def install(app: FastAPI) -> None:
    async def wharf_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WharfError)
        if isinstance(exc, NotModified):
            return Response(status_code=304)
        return error_response(exc.status, exc.message)

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "page not found"
        return error_response(exc.status_code, detail)

    async def validation_error(_request: Request, exc: Exception) -> Response:
        return error_response(400, str(exc))

    app.add_exception_handler(WharfError, wharf_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
