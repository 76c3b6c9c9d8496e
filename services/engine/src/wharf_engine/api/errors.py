"""Docker's ``{"message": ...}`` body for every error, through the shared handler installer."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from wharf_common.httperrors import Failure, install_error_handlers


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


async def render(_request: Request, failure: Failure) -> Response:
    message = failure.message
    if failure.status == 404 and message == "Not Found" and isinstance(failure.exc, HTTPException):
        message = "page not found"  # what dockerd says for a route it does not have
    return error_response(failure.status, message)


def install(app: FastAPI) -> None:
    install_error_handlers(app, render)
