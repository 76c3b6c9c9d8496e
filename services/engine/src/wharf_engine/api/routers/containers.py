"""Container endpoints: parse, one facade call, serialize."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, BinaryIO, Protocol

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from wharf_common.errors import InvalidArgument

from wharf_engine.api import schemas
from wharf_engine.api.attach import attach_response
from wharf_engine.api.bridge import stream_from_thread, with_body
from wharf_engine.api.params import json_body, qbool, qfilters, qint
from wharf_engine.api.streams import content_type, mux, path_stat_header
from wharf_engine.containers.container import Container, Stdio
from wharf_engine.containers.errors import NoSuchContainer
from wharf_engine.logs.jsonfile import LogOptions, LogRecord
from wharf_engine.shapes import (
    ContainerInspect,
    ContainerSummary,
    CreateOptions,
    CreateResponse,
    HostConfig,
    StopOptions,
)


class ContainerBackend(Protocol):
    async def container_create(self, options: CreateOptions) -> CreateResponse: ...
    async def container_start(self, ref: str) -> None: ...
    async def container_stop(self, ref: str, options: StopOptions) -> None: ...
    async def container_kill(self, ref: str, signal: str | None) -> None: ...
    async def container_restart(self, ref: str, timeout: int | None) -> None: ...
    async def container_remove(self, ref: str, *, force: bool, volumes: bool) -> None: ...
    def container_remove_link(self, name: str) -> None: ...
    async def container_wait(self, ref: str, condition: str) -> int: ...
    async def container_prune(self) -> dict[str, Any]: ...
    def container_get(self, ref: str) -> Container: ...
    def container_inspect(self, ref: str, *, size: bool = False) -> ContainerInspect: ...
    def container_list(
        self, *, all: bool, limit: int, size: bool, filters: dict[str, list[str]]
    ) -> list[ContainerSummary]: ...
    def container_logs(self, ref: str, opts: LogOptions) -> AsyncIterator[LogRecord]: ...
    async def container_attach(self, container: Container) -> Stdio: ...
    async def container_resize(self, ref: str, height: int, width: int) -> None: ...
    async def container_pause(self, ref: str) -> None: ...
    async def container_unpause(self, ref: str) -> None: ...
    def container_changes(self, ref: str) -> list[dict[str, Any]]: ...
    async def container_export(self, ref: str, out: BinaryIO) -> None: ...
    def container_rename(self, ref: str, name: str) -> None: ...
    async def container_top(self, ref: str, ps_args: str) -> dict[str, Any]: ...
    async def container_update(self, ref: str, update_config: dict[str, Any]) -> dict[str, Any]: ...
    def container_stats(self, ref: str, *, stream: bool) -> AsyncIterator[dict[str, Any]]: ...
    async def container_path_stat(self, ref: str, path: str) -> dict[str, Any]: ...
    async def container_archive_get(self, ref: str, path: str, out: BinaryIO) -> None: ...
    async def container_archive_put(self, ref: str, path: str, stream: BinaryIO) -> None: ...


def _timestamp(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        return float(value)
    except ValueError:
        raise InvalidArgument(f"invalid timestamp: {value!r}") from None


def router(backend: ContainerBackend) -> APIRouter:
    r = APIRouter(prefix="/containers")

    @r.post("/create", status_code=201)
    async def create(request: Request) -> Response:
        body = schemas.check(schemas.ContainerCreate, await json_body(request))
        host_config: HostConfig = body.pop("HostConfig", None) or {}
        networking = body.pop("NetworkingConfig", None)
        options = CreateOptions(
            config=body,
            host_config=host_config,
            networking=networking,
            name=request.query_params.get("name") or None,
        )
        return JSONResponse(await backend.container_create(options), status_code=201)

    @r.post("/prune")
    async def prune() -> Response:
        return JSONResponse(await backend.container_prune())

    @r.get("/json")
    async def list_(request: Request) -> Response:
        limit = qint(request, "limit", 0) or 0
        if qbool(request, "latest") and limit <= 0:
            limit = 1
        return JSONResponse(
            backend.container_list(
                all=qbool(request, "all"), limit=limit, size=qbool(request, "size"), filters=qfilters(request)
            )
        )

    @r.get("/{ref}/json")
    async def inspect(ref: str, request: Request) -> Response:
        return JSONResponse(backend.container_inspect(ref, size=qbool(request, "size")))

    @r.post("/{ref}/start", status_code=204)
    async def start(ref: str) -> Response:
        await backend.container_start(ref)
        return Response(status_code=204)

    @r.post("/{ref}/stop", status_code=204)
    async def stop(ref: str, request: Request) -> Response:
        options = StopOptions(timeout=qint(request, "t"), signal=request.query_params.get("signal"))
        await backend.container_stop(ref, options)
        return Response(status_code=204)

    @r.post("/{ref}/restart", status_code=204)
    async def restart(ref: str, request: Request) -> Response:
        await backend.container_restart(ref, qint(request, "t"))
        return Response(status_code=204)

    @r.post("/{ref}/kill", status_code=204)
    async def kill(ref: str, request: Request) -> Response:
        await backend.container_kill(ref, request.query_params.get("signal"))
        return Response(status_code=204)

    @r.delete("/{ref}", status_code=204)
    async def remove(ref: str, request: Request) -> Response:
        if qbool(request, "link"):  # a bare name is no link: Docker's "default link name" conflict
            backend.container_remove_link(ref)
        await backend.container_remove(ref, force=qbool(request, "force"), volumes=qbool(request, "v"))
        return Response(status_code=204)

    @r.delete("/{ref:path}/{alias}", status_code=204)
    async def remove_link(ref: str, alias: str, request: Request) -> Response:
        """``/containers/{parent}/{alias}?link=1``: a link's name has a slash (the CLI sends
        ``/containers//parent/alias``)."""
        if not qbool(request, "link"):
            raise NoSuchContainer(f"{ref}/{alias}")
        backend.container_remove_link(f"{ref}/{alias}")
        return Response(status_code=204)

    @r.post("/{ref}/wait")
    async def wait(ref: str, request: Request) -> Response:
        condition = request.query_params.get("condition") or "not-running"
        if condition not in ("not-running", "next-exit", "removed"):
            raise InvalidArgument(f"invalid condition: {condition!r}")
        backend.container_get(ref)  # 404 before the 200 headers go out

        async def body() -> AsyncIterator[bytes]:
            code = await backend.container_wait(ref, condition)
            yield json.dumps({"StatusCode": code, "Error": None}).encode() + b"\n"

        return StreamingResponse(body(), media_type="application/json")

    @r.get("/{ref}/logs")
    async def logs(ref: str, request: Request) -> Response:
        container = backend.container_get(ref)
        stdout, stderr = qbool(request, "stdout"), qbool(request, "stderr")
        if not (stdout or stderr):
            raise InvalidArgument("Bad parameters: you must choose at least one stream")
        tail_raw = request.query_params.get("tail", "all")
        digits = tail_raw.lstrip("-")
        tail = int(tail_raw) if digits.isascii() and digits.isdigit() else None  # "all", "": everything
        if tail is not None and tail < 0:
            tail = None
        opts = LogOptions(
            stdout=stdout,
            stderr=stderr,
            follow=qbool(request, "follow"),
            tail=tail,
            since=_timestamp(request.query_params.get("since")),
            until=_timestamp(request.query_params.get("until")),
            timestamps=qbool(request, "timestamps"),
        )
        tty = container.tty
        records = backend.container_logs(container.id, opts)  # a driver that keeps no log: 501 now

        async def body() -> AsyncIterator[bytes]:
            async for record in records:
                data = record.data
                if opts.timestamps:
                    data = record.time.encode() + b" " + data
                yield data if tty else mux(record.stream, data)

        return StreamingResponse(body(), media_type=content_type(request.scope, tty))

    @r.post("/{ref}/attach")
    async def attach(ref: str, request: Request) -> Response:
        container = backend.container_get(ref)
        return await attach_response(backend, container, request)

    @r.post("/{ref}/resize")
    async def resize(ref: str, request: Request) -> Response:
        height, width = qint(request, "h", 0) or 0, qint(request, "w", 0) or 0
        await backend.container_resize(ref, height, width)
        return Response(status_code=200)

    @r.post("/{ref}/pause", status_code=204)
    async def pause(ref: str) -> Response:
        await backend.container_pause(ref)
        return Response(status_code=204)

    @r.post("/{ref}/unpause", status_code=204)
    async def unpause(ref: str) -> Response:
        await backend.container_unpause(ref)
        return Response(status_code=204)

    @r.get("/{ref}/changes")
    async def changes(ref: str) -> Response:
        return JSONResponse(backend.container_changes(ref))

    @r.get("/{ref}/export")
    async def export(ref: str) -> Response:
        container = backend.container_get(ref)  # 404 before the 200
        body = stream_from_thread(lambda out: backend.container_export(container.id, out))
        return StreamingResponse(body, media_type="application/x-tar")

    @r.post("/{ref}/rename", status_code=204)
    async def rename(ref: str, request: Request) -> Response:
        backend.container_rename(ref, request.query_params.get("name") or "")
        return Response(status_code=204)

    @r.post("/{ref}/update")
    async def update(ref: str, request: Request) -> Response:
        body = await json_body(request)
        schemas.check(schemas.ContainerUpdate, body)  # the daemon reads it as plain JSON
        return JSONResponse(await backend.container_update(ref, body))

    @r.get("/{ref}/top")
    async def top(ref: str, request: Request) -> Response:
        return JSONResponse(await backend.container_top(ref, request.query_params.get("ps_args") or ""))

    @r.get("/{ref}/stats")
    async def stats(ref: str, request: Request) -> Response:
        backend.container_get(ref)
        stream = qbool(request, "stream", default=True) and not qbool(request, "one-shot")

        async def body() -> AsyncIterator[bytes]:
            async for sample in backend.container_stats(ref, stream=stream):
                yield json.dumps(sample).encode() + b"\n"

        return StreamingResponse(body(), media_type="application/json")

    @r.head("/{ref}/archive")
    async def archive_head(ref: str, request: Request) -> Response:
        info = await backend.container_path_stat(ref, request.query_params.get("path") or "")
        return Response(status_code=200, headers={"X-Docker-Container-Path-Stat": path_stat_header(info)})

    @r.get("/{ref}/archive")
    async def archive_get(ref: str, request: Request) -> Response:
        path = request.query_params.get("path") or ""
        info = await backend.container_path_stat(ref, path)  # 404 before the 200
        body = stream_from_thread(lambda out: backend.container_archive_get(ref, path, out))
        return StreamingResponse(
            body,
            media_type="application/x-tar",
            headers={"X-Docker-Container-Path-Stat": path_stat_header(info)},
        )

    @r.put("/{ref}/archive")
    async def archive_put(ref: str, request: Request) -> Response:
        path = request.query_params.get("path") or ""
        await backend.container_path_stat(ref, path)
        await with_body(request, lambda stream: backend.container_archive_put(ref, path, stream))
        return Response(status_code=200)

    return r


def fallback_router() -> APIRouter:
    """Included after every other router (``app.py``), so that it shadows nothing: the link route
    above matches any container path with a slash, and without this every other method on such a
    path (``GET /containers/reg:5000/a/b:t/json``, which ``docker inspect`` sends for an image name
    before asking for the image) was 405, not the 404 that sends the CLI on to the image."""
    r = APIRouter(prefix="/containers")

    @r.api_route(
        "/{ref:path}/{alias}", methods=["GET", "HEAD", "POST", "PUT", "PATCH"], include_in_schema=False
    )
    async def not_found(ref: str, alias: str) -> Response:
        raise HTTPException(status_code=404)

    return r
