"""Router tests: a fake backend behind the real routers, middleware and error mapping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

import httpx
import pytest
from fastapi import FastAPI
from wharf_common.errors import Conflict, NotModified
from wharf_engine.api import errors
from wharf_engine.api.routers import containers, system
from wharf_engine.api.version import VersionMiddleware
from wharf_engine.containers.container import Container
from wharf_engine.containers.errors import NoSuchContainer
from wharf_engine.logs.jsonfile import LogOptions, LogRecord
from wharf_engine.shapes import ContainerInspect, CreateOptions, CreateResponse, StopOptions


class FakeBackend:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.container = Container(
            id="a" * 64,
            name="c",
            created="",
            image_id="",
            config={"Tty": False},
            host_config={},
            path="x",
            args=[],
        )

    def info(self) -> dict[str, Any]:
        return {"ID": "fake"}

    async def container_create(self, options: CreateOptions) -> CreateResponse:
        self.calls.append(("create", options))
        return {"Id": "a" * 64, "Warnings": []}

    async def container_start(self, ref: str) -> None:
        if ref == "started":
            raise NotModified("container already started")
        self.get(ref)

    async def container_stop(self, ref: str, options: StopOptions) -> None:
        self.calls.append(("stop", (ref, options)))

    async def container_kill(self, ref: str, signal: str | None) -> None:
        raise Conflict(f"Container {ref} is not running")

    async def container_restart(self, ref: str, timeout: int | None) -> None: ...

    async def container_remove(self, ref: str, *, force: bool, volumes: bool) -> None:
        self.calls.append(("remove", (ref, force, volumes)))

    def container_remove_link(self, name: str) -> None:
        self.calls.append(("remove_link", (name,)))

    async def container_prune(self) -> dict[str, Any]:
        return {}

    async def container_wait(self, ref: str, condition: str) -> int:
        await asyncio.sleep(0.01)
        return 3

    def get(self, ref: str) -> Container:
        if ref != "c":
            raise NoSuchContainer(ref)
        return self.container

    def container_get(self, ref: str) -> Container:
        return self.get(ref)

    def container_inspect(self, ref: str, *, size: bool = False) -> ContainerInspect:
        shown = {"Id": self.get(ref).id, "size": size}
        return shown  # type: ignore[return-value]  # only what the router tests read

    def container_list(
        self, *, all: bool, limit: int, size: bool, filters: dict[str, list[str]]
    ) -> list[Any]:
        self.calls.append(("list", (all, limit, size, filters)))
        return []

    async def _logs(self) -> AsyncIterator[LogRecord]:
        yield LogRecord("stdout", b"out\n", "2026-01-01T00:00:00.000000001Z")
        yield LogRecord("stderr", b"err\n", "2026-01-01T00:00:01.000000001Z")

    def container_logs(self, ref: str, opts: LogOptions) -> AsyncIterator[LogRecord]:
        return self._logs()

    async def container_attach(self, container: Container) -> Any:
        raise AssertionError("not used")

    async def container_resize(self, ref: str, height: int, width: int) -> None: ...

    async def container_pause(self, ref: str) -> None: ...

    async def container_unpause(self, ref: str) -> None: ...

    def container_changes(self, ref: str) -> list[dict[str, Any]]:
        return []

    async def container_export(self, ref: str, out: BinaryIO) -> None: ...

    def container_rename(self, ref: str, name: str) -> None: ...

    async def container_top(self, ref: str, ps_args: str) -> dict[str, Any]:
        return {}

    async def container_update(self, ref: str, update_config: dict[str, Any]) -> dict[str, Any]:
        return {"Warnings": []}

    def system_df(self, kinds: list[str]) -> dict[str, Any]:
        return {}

    def container_stats(self, ref: str, *, stream: bool) -> AsyncIterator[dict[str, Any]]:
        raise AssertionError("not used")

    async def container_path_stat(self, ref: str, path: str) -> dict[str, Any]:
        return {}

    async def container_archive_get(self, ref: str, path: str, out: BinaryIO) -> None: ...

    async def container_archive_put(self, ref: str, path: str, stream: BinaryIO) -> None: ...

    def system_events(
        self, *, since: float, until: float, filters: dict[str, list[str]]
    ) -> AsyncIterator[dict[str, Any]]:
        raise AssertionError("not used")


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


def request(backend: FakeBackend, method: str, path: str, **kwargs: Any) -> httpx.Response:
    app = FastAPI()
    errors.install(app)
    app.include_router(system.router(backend))
    app.include_router(containers.router(backend))
    app.include_router(containers.fallback_router())
    app.add_middleware(VersionMiddleware)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://engine") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def test_not_found_renders_docker_message(backend: FakeBackend) -> None:
    response = request(backend, "GET", "/v1.44/containers/zzz/json")
    assert response.status_code == 404
    assert response.json() == {"message": "No such container: zzz"}
    assert response.headers["api-version"] >= "1.44"


def test_not_modified_is_304_without_body(backend: FakeBackend) -> None:
    response = request(backend, "POST", "/containers/started/start")
    assert response.status_code == 304 and response.content == b""


def test_remove_link_takes_the_parent_and_alias(backend: FakeBackend) -> None:
    """``docker rm --link /web/db`` sends ``DELETE /containers//web/db?link=1``."""
    assert request(backend, "DELETE", "/containers//web/db?link=1").status_code == 204
    assert request(backend, "DELETE", "/containers/web/db?link=1").status_code == 204
    assert backend.calls[-2:] == [("remove_link", ("/web/db",)), ("remove_link", ("web/db",))]
    response = request(backend, "DELETE", "/containers/web/db")  # no link=1: no such container
    assert response.status_code == 404 and response.json() == {"message": "No such container: web/db"}


def test_other_methods_on_a_path_with_a_slash_are_404_not_405(backend: FakeBackend) -> None:
    """``docker inspect 127.0.0.1:5000/alice/web:t`` asks for a container of that name first and
    goes on to the image only on a 404; the link route made it a 405."""
    for method, path in (
        ("GET", "/containers/127.0.0.1:5000/alice/web:t/json"),
        ("HEAD", "/containers/alice/web/json"),
        ("POST", "/containers/alice/web/start"),
    ):
        response = request(backend, method, path)
        assert response.status_code == 404, (method, path, response.status_code)
    assert request(backend, "POST", "/containers/c/kill").status_code == 409  # routes still reached


def test_conflict_is_409(backend: FakeBackend) -> None:
    response = request(backend, "POST", "/containers/c/kill")
    assert response.status_code == 409 and "not running" in response.json()["message"]


def test_malformed_json_is_400(backend: FakeBackend) -> None:
    response = request(backend, "POST", "/containers/create", content=b"{oops")
    assert response.status_code == 400 and "invalid JSON" in response.json()["message"]
    assert backend.calls == []


def test_create_passes_name_and_body(backend: FakeBackend) -> None:
    response = request(backend, "POST", "/containers/create?name=web", json={"Image": "busybox"})
    assert response.status_code == 201
    assert backend.calls == [("create", CreateOptions(config={"Image": "busybox"}, name="web"))]


def test_list_parses_docker_booleans_limit_and_filters(backend: FakeBackend) -> None:
    request(backend, "GET", '/containers/json?all=True&size=0&limit=2&filters={"status":{"running":true}}')
    request(backend, "GET", "/containers/json?latest=1")
    assert backend.calls == [
        ("list", (True, 2, False, {"status": ["running"]})),
        ("list", (False, 1, False, {})),
    ]


def test_bad_filters_are_400(backend: FakeBackend) -> None:
    assert request(backend, "GET", "/containers/json?filters=notjson").status_code == 400


def test_stop_and_remove_parameters(backend: FakeBackend) -> None:
    assert request(backend, "POST", "/containers/c/stop?t=5&signal=SIGINT").status_code == 204
    assert request(backend, "DELETE", "/containers/c?force=1&v=false").status_code == 204
    assert backend.calls == [("stop", ("c", StopOptions(5, "SIGINT"))), ("remove", ("c", True, False))]


def test_wait_streams_status(backend: FakeBackend) -> None:
    response = request(backend, "POST", "/containers/c/wait?condition=next-exit")
    assert response.status_code == 200
    assert json.loads(response.content) == {"StatusCode": 3, "Error": None}
    assert request(backend, "POST", "/containers/c/wait?condition=bogus").status_code == 400
    assert request(backend, "POST", "/containers/nope/wait").status_code == 404


def test_logs_are_multiplexed_with_timestamps(backend: FakeBackend) -> None:
    response = request(backend, "GET", "/v1.44/containers/c/logs?stdout=1&stderr=1&timestamps=1")
    assert response.headers["content-type"] == "application/vnd.docker.multiplexed-stream"
    body = response.content
    first = b"2026-01-01T00:00:00.000000001Z out\n"
    assert body[:8] == bytes([1, 0, 0, 0, 0, 0, 0, len(first)]) and body[8 : 8 + len(first)] == first
    assert body[8 + len(first)] == 2
    old = request(backend, "GET", "/v1.41/containers/c/logs?stdout=1")
    assert old.headers["content-type"] == "application/vnd.docker.raw-stream"
    assert request(backend, "GET", "/containers/c/logs").status_code == 400


def test_version_bounds(backend: FakeBackend) -> None:
    assert request(backend, "GET", "/v1.23/_ping").status_code == 400
    assert "too new" in request(backend, "GET", "/v2.0/_ping").json()["message"]
    assert request(backend, "GET", "/v1.24/_ping").text == "OK"


def test_unknown_route_is_json_404(backend: FakeBackend) -> None:
    response = request(backend, "GET", "/nothing/here")
    assert response.status_code == 404 and response.json() == {"message": "page not found"}
