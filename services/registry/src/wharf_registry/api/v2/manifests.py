"""``/v2/<name>/manifests/<reference>``, ``/v2/<name>/tags/list``, ``/v2/<name>/referrers/<digest>``,
``/v2/_catalog`` and ``/v2/``."""

# (no "from __future__ import annotations": the routes' Annotated dependencies are local)
import json
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ...names import RepositoryName
from ...v2.access import V2Authority
from ...v2.manifests import StoredManifest
from ...v2.models import OCI_INDEX, Manifest
from ...v2.names import Digest
from .deps import Caller, RegistryGuard, RepositoryGuard


class ManifestsBackend(Protocol):
    async def read_body(self, chunks: Any, length: int | None) -> bytes: ...
    async def get(self, repo: RepositoryName, reference: str) -> StoredManifest: ...
    async def put(
        self,
        repo: RepositoryName,
        reference: str,
        raw: bytes,
        content_type: str | None,
        *,
        user: str | None = None,
        user_agent: str = "",
    ) -> tuple[StoredManifest, Manifest]: ...
    async def delete(self, repo: RepositoryName, reference: str, *, user: str | None = None) -> None: ...


class ListingBackend(Protocol):
    async def tag_list(
        self, repo: RepositoryName, name: str, n: int | None, last: str | None
    ) -> tuple[list[str], bool]: ...
    async def catalog(self, n: int | None, last: str | None) -> tuple[list[str], bool]: ...
    async def referrers(
        self, repo: RepositoryName, subject: Digest, artifact_type: str | None
    ) -> list[dict[str, Any]]: ...


def _json(data: Any, headers: dict[str, str] | None = None, media_type: str = "application/json") -> Response:
    return Response(json.dumps(data).encode(), media_type=media_type, headers=dict(headers or {}))


def _next_link(path: str, page: list[str], n: int | None, more: bool) -> dict[str, str]:
    if not more or not page:
        return {}
    query = f"last={page[-1]}" + (f"&n={n}" if n is not None else "")
    return {"Link": f'<{path}?{query}>; rel="next"'}


def router(manifests: ManifestsBackend, listing: ListingBackend, authority: V2Authority) -> APIRouter:
    api = APIRouter(prefix="/v2")
    CallerDep = Annotated[Caller, Depends(RepositoryGuard(authority))]
    Page = Annotated[int | None, Query(ge=0)]

    @api.get("/", dependencies=[Depends(RegistryGuard(authority))])
    @api.get("", dependencies=[Depends(RegistryGuard(authority))])
    async def base() -> Response:
        return _json({})

    @api.get("/_catalog")
    async def catalog(
        _user: Annotated[str | None, Depends(RegistryGuard(authority, catalog=True))],
        n: Page = None,
        last: str | None = None,
    ) -> Response:
        repositories, more = await listing.catalog(n, last)
        return _json({"repositories": repositories}, _next_link("/v2/_catalog", repositories, n, more))

    @api.get("/{name:path}/tags/list")
    async def tag_list(caller: CallerDep, n: Page = None, last: str | None = None) -> Response:
        tags, more = await listing.tag_list(caller.repo, caller.name, n, last)
        link = _next_link(f"/v2/{caller.name}/tags/list", tags, n, more)
        return _json({"name": caller.name, "tags": tags}, link)

    @api.get("/{name:path}/referrers/{digest}")
    async def referrers(caller: CallerDep, digest: str, artifactType: str | None = None) -> Response:
        found = await listing.referrers(caller.repo, Digest.parse(digest), artifactType)
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": found}
        headers = {"OCI-Filters-Applied": "artifactType"} if artifactType is not None else {}
        return _json(index, headers, media_type=OCI_INDEX)

    def _manifest_headers(stored: StoredManifest) -> dict[str, str]:
        return {
            "Docker-Content-Digest": str(stored.digest),
            "Content-Length": str(len(stored.raw)),
            "ETag": f'"{stored.digest}"',
        }

    @api.head("/{name:path}/manifests/{reference}")
    async def head_manifest(reference: str, caller: CallerDep) -> Response:
        stored = await manifests.get(caller.repo, reference)
        return Response(status_code=200, media_type=stored.media_type, headers=_manifest_headers(stored))

    @api.get("/{name:path}/manifests/{reference}")
    async def get_manifest(reference: str, caller: CallerDep) -> Response:
        stored = await manifests.get(caller.repo, reference)
        return Response(stored.raw, media_type=stored.media_type, headers=_manifest_headers(stored))

    @api.put("/{name:path}/manifests/{reference}")
    async def put_manifest(reference: str, request: Request, caller: CallerDep) -> Response:
        length = request.headers.get("content-length", "")
        raw = await manifests.read_body(request.stream(), int(length) if length.isdigit() else None)
        stored, manifest = await manifests.put(
            caller.repo,
            reference,
            raw,
            request.headers.get("content-type"),
            user=caller.user,
            user_agent=request.headers.get("user-agent", ""),
        )
        headers = {
            "Location": f"/v2/{caller.name}/manifests/{stored.digest}",
            "Docker-Content-Digest": str(stored.digest),
            "Content-Length": "0",
        }
        if manifest.subject is not None:
            headers["OCI-Subject"] = manifest.subject.digest
        return Response(status_code=201, headers=headers)

    @api.delete("/{name:path}/manifests/{reference}")
    async def delete_manifest(reference: str, caller: CallerDep) -> Response:
        await manifests.delete(caller.repo, reference, user=caller.user)
        return Response(status_code=202, headers={"Content-Length": "0"})

    return api
