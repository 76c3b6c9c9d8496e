"""Image endpoints: list, inspect, history, tag, delete, import, save, load."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, BinaryIO, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from wharf_common.bodylimit import BodyTooLarge
from wharf_common.errors import InvalidArgument, WharfError

from wharf_engine.api import schemas
from wharf_engine.api.bridge import stream_from_thread, with_body
from wharf_engine.api.params import json_body, qbool, qfilters
from wharf_engine.api.routers.distribution import PullBackend, pull_response
from wharf_engine.api.streams import json_line
from wharf_engine.shapes import CommitOptions, HistoryResponseItem, ImageInspect, ImageSummary


class ImageBackend(PullBackend, Protocol):
    def image_list(self, *, all: bool, filters: dict[str, list[str]]) -> list[ImageSummary]: ...
    def image_inspect(self, ref: str) -> ImageInspect: ...
    def image_history(self, ref: str) -> list[HistoryResponseItem]: ...
    async def image_tag(self, ref: str, repo: str, tag: str | None) -> None: ...
    async def image_delete(self, ref: str, *, force: bool, prune: bool) -> list[dict[str, str]]: ...
    async def image_import(
        self, stream: BinaryIO, *, repo: str | None, tag: str | None, changes: list[str], message: str
    ) -> str: ...
    async def image_save(self, names: list[str], out: BinaryIO) -> None: ...
    async def image_load(self, stream: BinaryIO, *, quiet: bool = True) -> list[dict[str, Any]]: ...
    async def image_prune(self, *, dangling_only: bool) -> dict[str, Any]: ...
    async def image_import_url(
        self, url: str, *, repo: str | None, tag: str | None, changes: list[str], message: str
    ) -> str: ...
    async def container_commit(self, ref: str, options: CommitOptions) -> str: ...


def commit_router(backend: ImageBackend) -> APIRouter:
    r = APIRouter()

    @r.post("/commit", status_code=201)
    async def commit(request: Request) -> Response:
        q = request.query_params
        container = q.get("container")
        if not container:
            raise InvalidArgument("container is required")
        options = CommitOptions(
            repo=q.get("repo") or None,
            tag=q.get("tag") or None,
            comment=q.get("comment") or "",
            author=q.get("author") or "",
            pause=qbool(request, "pause", default=True),
            changes=q.getlist("changes"),
            config=schemas.check(schemas.ContainerConfig, await json_body(request, required=False)),
        )
        image_id = await backend.container_commit(container, options)
        return JSONResponse({"Id": image_id}, status_code=201)

    return r


def router(backend: ImageBackend) -> APIRouter:
    r = APIRouter(prefix="/images")

    @r.get("/json")
    async def list_(request: Request) -> Response:
        return JSONResponse(backend.image_list(all=qbool(request, "all"), filters=qfilters(request)))

    @r.post("/create")
    async def create(request: Request) -> Response:
        q = request.query_params
        if q.get("fromImage"):
            return await pull_response(backend, request)
        source = q.get("fromSrc")
        changes = q.getlist("changes")
        if source and source != "-":
            image_id = await backend.image_import_url(
                source,
                repo=q.get("repo") or None,
                tag=q.get("tag") or None,
                changes=changes,
                message=q.get("message") or "",
            )
            return Response(json_line({"status": image_id}), media_type="application/json")
        if source != "-":
            raise InvalidArgument("fromSrc or fromImage is required")

        async def work(reader: BinaryIO) -> str:
            return await backend.image_import(
                reader,
                repo=q.get("repo") or None,
                tag=q.get("tag") or None,
                changes=changes,
                message=q.get("message") or "",
            )

        image_id = await with_body(request, work)
        return Response(json_line({"status": image_id}), media_type="application/json")

    @r.post("/prune")
    async def prune(request: Request) -> Response:
        filters = qfilters(request)
        dangling = (filters.get("dangling") or ["true"])[0].lower() not in ("false", "0")
        return JSONResponse(await backend.image_prune(dangling_only=dangling))

    @r.post("/load")
    async def load(request: Request) -> Response:
        quiet = qbool(request, "quiet", default=True)  # Docker's default: quiet
        try:
            messages = await with_body(request, lambda stream: backend.image_load(stream, quiet=quiet))
        except BodyTooLarge:
            raise
        except WharfError as exc:  # a bad archive: an error line in a 200, as Docker's load stream
            messages = [{"errorDetail": {"message": exc.message}, "error": exc.message}]

        async def lines() -> AsyncIterator[bytes]:  # chunked JSON lines, as Docker streams them
            for message in messages:
                yield json_line(message)

        return StreamingResponse(lines(), media_type="application/json")

    @r.get("/get")
    async def save_many(request: Request) -> Response:
        names = request.query_params.getlist("names")
        if not names:
            raise InvalidArgument("no images named")
        return await _save(backend, names)

    @r.get("/{name:path}/get")
    async def save_one(name: str) -> Response:
        return await _save(backend, [name])

    @r.get("/{name:path}/json")
    async def inspect(name: str) -> Response:
        return JSONResponse(backend.image_inspect(name))

    @r.get("/{name:path}/history")
    async def history(name: str) -> Response:
        return JSONResponse(backend.image_history(name))

    @r.post("/{name:path}/tag", status_code=201)
    async def tag(name: str, request: Request) -> Response:
        repo = request.query_params.get("repo")
        if not repo:
            raise InvalidArgument("repository name must have at least one component")
        await backend.image_tag(name, repo, request.query_params.get("tag") or None)
        return Response(status_code=201)

    @r.delete("/{name:path}")
    async def delete(name: str, request: Request) -> Response:
        result = await backend.image_delete(
            name, force=qbool(request, "force"), prune=not qbool(request, "noprune")
        )
        return JSONResponse(result)

    return r


async def _save(backend: ImageBackend, names: list[str]) -> Response:
    for name in names:
        backend.image_inspect(name)  # 404 before the 200 goes out
    return StreamingResponse(
        stream_from_thread(lambda out: backend.image_save(names, out)), media_type="application/x-tar"
    )
