"""``/v1/images/<id>/{json,layer,checksum,ancestry}`` (protocols.md A.5)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Protocol

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.requests import ClientDisconnect
from wharf_common.uploads import TruncatedUpload

from ...layers import ImageJson
from ...metrics import Metrics
from ...names import RepositoryName, parse_repository
from ...storage.base import PathNotFound
from ..deps import Guard, identity_of
from ..errors import error_response
from ..files import FileRangeResponse
from ..ranges import RangeNotSatisfiable, parse_range
from ..responses import cache_headers, json_response

log = structlog.get_logger(__name__)


class ImagesBackend(Protocol):
    async def read_image_json(self, chunks: AsyncIterable[bytes]) -> bytes: ...
    async def put_image_json(self, image_id: str, raw: bytes, repo: RepositoryName | None = None) -> None: ...
    async def image_json(self, image_id: str) -> ImageJson: ...
    async def ancestry(self, image_id: str) -> list[str]: ...
    async def put_layer(
        self,
        image_id: str,
        chunks: AsyncIterable[bytes],
        repo: RepositoryName | None = None,
        *,
        length: int | None = None,
    ) -> str: ...
    async def put_checksum(
        self, image_id: str, *, payload: str | None, tarsum: str | None, repo: RepositoryName | None = None
    ) -> None: ...
    async def layer_size(self, image_id: str) -> int: ...
    def read_layer(self, image_id: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]: ...
    def layer_redirect(self, image_id: str) -> str | None: ...
    def layer_file(self, image_id: str) -> Path | None: ...


async def _primed(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Fetch the first chunk now, so a vanished object is a 404 rather than a cut response."""
    first = await anext(chunks, b"")

    async def rest() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in chunks:
            yield chunk

    return rest()


def _pusher(request: Request) -> RepositoryName | None:
    """The repository a write is for: its token's, in index mode; None (any) in standalone mode."""
    repository = identity_of(request).repository
    return parse_repository(repository) if repository is not None else None


def _length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def router(backend: ImagesBackend, guard: Guard, metrics: Metrics) -> APIRouter:
    api = APIRouter(prefix="/v1/images/{image_id}", dependencies=[Depends(guard)])

    @api.get("/json")
    async def get_json(image_id: str, request: Request) -> Response:
        image = await backend.image_json(image_id)
        if "if-modified-since" in request.headers:
            return Response(status_code=304, headers=cache_headers())
        headers = cache_headers()
        if image.layer_size is not None:
            headers["X-Docker-Size"] = str(image.layer_size)
        if image.checksums:
            headers["X-Docker-Checksum-Payload"] = image.checksums[0]
            headers["X-Docker-Payload-Checksum"] = image.checksums[0]  # DR's spelling
        return json_response(image.raw, raw=True, headers=headers)

    @api.put("/json")
    async def put_json(image_id: str, request: Request) -> Response:
        raw = await backend.read_image_json(request.stream())
        await backend.put_image_json(image_id, raw, _pusher(request))
        return json_response(True)

    @api.get("/ancestry")
    async def get_ancestry(image_id: str, request: Request) -> Response:
        ancestry = await backend.ancestry(image_id)
        if "if-modified-since" in request.headers:
            return Response(status_code=304, headers=cache_headers())
        return json_response(ancestry, headers=cache_headers())

    @api.get("/layer")
    async def get_layer(image_id: str, request: Request) -> Response:
        size = await backend.layer_size(image_id)
        if "if-modified-since" in request.headers:
            return Response(status_code=304, headers=cache_headers())
        redirect = backend.layer_redirect(image_id)
        if redirect is not None:
            return RedirectResponse(redirect, status_code=302)
        headers = {**cache_headers(), "Accept-Ranges": "bytes"}
        try:
            byte_range = parse_range(request.headers.get("range"), size)
        except RangeNotSatisfiable as exc:
            return error_response(416, exc.message, {**headers, "Content-Range": f"bytes */{size}"})
        start, end = byte_range or (0, size)
        status = 200
        if byte_range is not None:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        path = backend.layer_file(image_id)
        if path is not None:
            return FileRangeResponse(
                path, start, end, status_code=status, headers=headers, missing="Image not found"
            )
        try:
            body = await _primed(backend.read_layer(image_id, start, end))
        except PathNotFound:
            return json_response({"error": "Image not found"}, status=404)
        headers["Content-Length"] = str(end - start)
        return StreamingResponse(
            body, status_code=status, headers=headers, media_type="application/octet-stream"
        )

    @api.put("/layer")
    async def put_layer(image_id: str, request: Request) -> Response:
        try:
            await backend.put_layer(image_id, request.stream(), _pusher(request), length=_length(request))
        except ClientDisconnect:
            metrics.aborted_uploads += 1
            log.warning("image.upload_aborted", image_id=image_id)
            raise TruncatedUpload() from None
        return json_response(True)

    @api.put("/checksum")
    async def put_checksum(image_id: str, request: Request) -> Response:
        await backend.put_checksum(
            image_id,
            payload=request.headers.get("x-docker-checksum-payload"),
            tarsum=request.headers.get("x-docker-checksum"),
            repo=_pusher(request),
        )
        return json_response(True)

    return api
