"""``/v2/<name>/blobs/...``: blob reads (with ``Range``) and deletes, uploads (POST, PATCH, PUT)."""

# (no "from __future__ import annotations": FastAPI reads the route signatures, whose
# Annotated dependencies are local to the router factory)
import re
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Annotated, Protocol

import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.requests import ClientDisconnect

from ...names import RepositoryName
from ...v2 import names
from ...v2.access import PULL, V2Authority
from ...v2.blobs import BlobInfo
from ...v2.errors import BlobUploadInvalid, ChallengeRequired, Denied, DigestInvalid, NameInvalid
from ...v2.names import Digest
from ...v2.uploads import UploadState
from ..files import FileRangeResponse
from ..ranges import RangeNotSatisfiable, parse_range
from .deps import Caller, RepositoryGuard
from .errors import v2_response

log = structlog.get_logger(__name__)

_CONTENT_RANGE_RE = re.compile(r"(?:bytes[ =])?(\d{1,19})-(\d{1,19})", re.ASCII)


class BlobsBackend(Protocol):
    async def stat(self, repo: RepositoryName, digest: Digest) -> BlobInfo: ...
    async def unlink(self, repo: RepositoryName, digest: Digest) -> None: ...
    async def mount(
        self, repo: RepositoryName, digest: Digest, source: RepositoryName
    ) -> BlobInfo | None: ...
    def read(self, blob: BlobInfo, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]: ...
    def local_file(self, blob: BlobInfo) -> Path | None: ...
    def redirect_url(self, blob: BlobInfo) -> str | None: ...


class UploadsBackend(Protocol):
    async def start(self, repo: RepositoryName) -> UploadState: ...
    async def state(self, repo: RepositoryName, upload_id: str) -> UploadState: ...
    async def cancel(self, repo: RepositoryName, upload_id: str) -> None: ...
    async def append(
        self,
        repo: RepositoryName,
        upload_id: str,
        chunks: AsyncIterable[bytes],
        *,
        content_range: tuple[int, int] | None = None,
        length: int | None = None,
    ) -> UploadState: ...
    async def finish(
        self,
        repo: RepositoryName,
        upload_id: str,
        digest: Digest,
        chunks: AsyncIterable[bytes] | None = None,
        *,
        length: int | None = None,
    ) -> BlobInfo: ...


def _length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def _content_range(request: Request) -> tuple[int, int] | None:
    header = request.headers.get("content-range")
    if header is None:
        return None
    match = _CONTENT_RANGE_RE.fullmatch(header.strip())
    if match is None or int(match[2]) < int(match[1]):
        raise BlobUploadInvalid("Content-Range must be <start>-<end>", {"Content-Range": header[:100]})
    return int(match[1]), int(match[2])


def _upload_headers(name: str, state: UploadState) -> dict[str, str]:
    return {
        "Location": f"/v2/{name}/blobs/uploads/{state.upload_id}",
        "Range": f"0-{max(state.size - 1, 0)}",
        "Docker-Upload-UUID": state.upload_id,
        "Content-Length": "0",
    }


def _created(name: str, blob: BlobInfo) -> Response:
    headers = {
        "Location": f"/v2/{name}/blobs/{blob.digest}",
        "Docker-Content-Digest": str(blob.digest),
        "Content-Length": "0",
    }
    return Response(status_code=201, headers=headers)


def _digest_param(value: str | None) -> Digest:
    if not value:
        raise DigestInvalid("the digest query parameter is required to complete an upload")
    return Digest.parse(value)


def router(blobs: BlobsBackend, uploads: UploadsBackend, authority: V2Authority) -> APIRouter:
    guard = RepositoryGuard(authority)
    api = APIRouter(prefix="/v2")
    CallerDep = Annotated[Caller, Depends(guard)]

    async def body(request: Request) -> AsyncIterator[bytes]:
        try:
            async for chunk in request.stream():
                if chunk:
                    yield chunk
        except ClientDisconnect:
            log.warning("upload.interrupted", path=request.url.path)
            raise BlobUploadInvalid("the upload ended before its body was complete") from None

    # ---- uploads (before the blob routes: "uploads" is no digest) ---------------------

    @api.post("/{name:path}/blobs/uploads/")
    @api.post("/{name:path}/blobs/uploads")
    async def start_upload(
        request: Request,
        caller: CallerDep,
        digest: str | None = None,
        mount: str | None = None,
        from_: Annotated[str | None, Query(alias="from")] = None,
    ) -> Response:
        if mount is not None and from_ is not None:
            mounted = await _mount(caller, Digest.parse(mount), from_, request)
            if mounted is not None:
                return _created(caller.name, mounted)
        state = await uploads.start(caller.repo)
        if digest is not None:  # monolithic: the whole blob in this request
            blob = await uploads.finish(
                caller.repo, state.upload_id, _digest_param(digest), body(request), length=_length(request)
            )
            return _created(caller.name, blob)
        return Response(status_code=202, headers=_upload_headers(caller.name, state))

    async def _mount(caller: Caller, digest: Digest, source_name: str, request: Request) -> BlobInfo | None:
        """Link ``source``'s blob if the caller may pull it; None: upload it instead (as the spec says)."""
        try:
            source = names.repository(source_name)
            await authority.authorize(request.headers, str(source), frozenset({PULL}))
        except (NameInvalid, ChallengeRequired, Denied):
            return None
        return await blobs.mount(caller.repo, digest, source)

    @api.get("/{name:path}/blobs/uploads/{upload_id}")
    async def upload_status(upload_id: str, caller: CallerDep) -> Response:
        state = await uploads.state(caller.repo, upload_id)
        return Response(status_code=204, headers=_upload_headers(caller.name, state))

    @api.patch("/{name:path}/blobs/uploads/{upload_id}")
    async def upload_chunk(upload_id: str, request: Request, caller: CallerDep) -> Response:
        state = await uploads.append(
            caller.repo,
            upload_id,
            body(request),
            content_range=_content_range(request),
            length=_length(request),
        )
        return Response(status_code=202, headers=_upload_headers(caller.name, state))

    @api.put("/{name:path}/blobs/uploads/{upload_id}")
    async def finish_upload(
        upload_id: str, request: Request, caller: CallerDep, digest: str | None = None
    ) -> Response:
        expected = _digest_param(digest)
        length = _length(request)
        chunks = body(request) if length != 0 else None
        blob = await uploads.finish(caller.repo, upload_id, expected, chunks, length=length)
        return _created(caller.name, blob)

    @api.delete("/{name:path}/blobs/uploads/{upload_id}")
    async def cancel_upload(upload_id: str, caller: CallerDep) -> Response:
        await uploads.cancel(caller.repo, upload_id)
        return Response(status_code=204, headers={"Content-Length": "0"})

    # ---- blobs --------------------------------------------------------------------------

    @api.head("/{name:path}/blobs/{digest}")
    async def head_blob(digest: str, caller: CallerDep) -> Response:
        blob = await blobs.stat(caller.repo, Digest.parse(digest))
        return Response(status_code=200, headers=_blob_headers(blob, blob.size))

    @api.get("/{name:path}/blobs/{digest}")
    async def get_blob(digest: str, request: Request, caller: CallerDep) -> Response:
        blob = await blobs.stat(caller.repo, Digest.parse(digest))
        redirect = blobs.redirect_url(blob)
        if redirect is not None:
            return RedirectResponse(redirect, status_code=307)
        headers = _blob_headers(blob, blob.size)
        try:
            byte_range = parse_range(request.headers.get("range"), blob.size)
        except RangeNotSatisfiable as exc:
            return v2_response(
                416,
                "BLOB_UNKNOWN",
                exc.message,
                {"size": blob.size},
                {"Content-Range": f"bytes */{blob.size}"},
            )
        start, end = byte_range or (0, blob.size)
        status = 200
        if byte_range is not None:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{blob.size}"
        headers["Content-Length"] = str(end - start)
        path = blobs.local_file(blob)
        if path is not None:
            return FileRangeResponse(
                path, start, end, status_code=status, headers=headers, missing="blob unknown"
            )
        return StreamingResponse(
            blobs.read(blob, start, end),
            status_code=status,
            headers=headers,
            media_type="application/octet-stream",
        )

    @api.delete("/{name:path}/blobs/{digest}")
    async def delete_blob(digest: str, caller: CallerDep) -> Response:
        await blobs.unlink(caller.repo, Digest.parse(digest))
        return Response(status_code=202, headers={"Content-Length": "0"})

    return api


def _blob_headers(blob: BlobInfo, length: int) -> dict[str, str]:
    return {
        "Content-Length": str(length),
        "Content-Type": "application/octet-stream",
        "Docker-Content-Digest": str(blob.digest),
        "Accept-Ranges": "bytes",
        "ETag": f'"{blob.digest}"',
        "Cache-Control": "max-age=31536000",
    }
