"""The shared error-handler installer: each kind of failure reaches the service's renderer once."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from wharf_common.errors import Conflict, NotModified
from wharf_common.httperrors import Failure, install_error_handlers


class Body(BaseModel):
    size: int


def make_client(describe: bool = False) -> TestClient:
    app = FastAPI()

    async def render(_request: Request, failure: Failure) -> Response:
        body = {"status": failure.status, "message": failure.message, "kind": type(failure.exc).__name__}
        return JSONResponse(body, status_code=failure.status, headers=dict(failure.headers))

    if describe:
        install_error_handlers(app, render, lambda exc: f"{len(exc.errors())} problem(s)")
    else:
        install_error_handlers(app, render)

    @app.get("/conflict")
    def conflict() -> None:
        raise Conflict("name in use")

    @app.get("/unchanged")
    def unchanged() -> None:
        raise NotModified("already started")

    @app.get("/teapot")
    def teapot() -> None:
        raise HTTPException(418, "short and stout", headers={"X-Why": "tea"})

    @app.post("/body")
    def body(data: Body) -> int:
        return data.size

    return TestClient(app)


def test_wharf_error_keeps_its_status_and_message() -> None:
    answer = make_client().get("/conflict")
    assert answer.status_code == 409
    assert answer.json() == {"status": 409, "message": "name in use", "kind": "Conflict"}


def test_not_modified_is_a_bare_304() -> None:
    answer = make_client().get("/unchanged")
    assert answer.status_code == 304 and answer.content == b""


def test_http_exception_passes_its_headers() -> None:
    answer = make_client().get("/teapot")
    assert answer.status_code == 418 and answer.headers["x-why"] == "tea"
    assert answer.json()["message"] == "short and stout"


def test_unknown_route_is_an_http_exception_404() -> None:
    answer = make_client().get("/nowhere")
    assert answer.status_code == 404 and answer.json()["kind"] == "HTTPException"


def test_validation_error_is_400_worded_by_the_service() -> None:
    answer = make_client(describe=True).post("/body", json={"size": "big"})
    assert answer.status_code == 400 and answer.json()["message"] == "1 problem(s)"
    plain = make_client().post("/body", content=b"{not json", headers={"Content-Type": "application/json"})
    assert plain.status_code == 400 and plain.json()["kind"] == "RequestValidationError"
