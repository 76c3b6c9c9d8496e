"""A typed async client for the v1 registry API (protocols.md A.5), on httpx.

The protocol's paths, headers and the reading of its answers are
:mod:`wharf_common.registry_v1`'s, shared with the hub's reader; this is the async transport.

A standalone registry is its own index: requests carry ``Authorization: Basic`` when the caller
has credentials, and once that index hands out an ``X-Docker-Token`` (``PUT``/``GET
/v1/repositories/<name>/…``) the client switches to ``Authorization: Token …`` as engine 1.5
does. Behind a hub (:mod:`.session`) the client is given the index's token and never sends the
password. Transport failures become :class:`RegistryUnreachable`, 401 becomes
:class:`RegistryUnauthorized`; other unexpected statuses :class:`RegistryError`.
"""

from __future__ import annotations

import errno
import json
import logging
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from wharf_common import registry_v1 as v1
from wharf_common.errors import NotFound
from wharf_common.registry_v1 import ImageJson, UnexpectedAnswer

from wharf_engine.settings import ENGINE_VERSION

from .endpoint import AuthConfig, Endpoint, ssl_context
from .errors import RegistryError, RegistryUnauthorized, RegistryUnreachable

USER_AGENT = f"wharf/{ENGINE_VERSION} (v1 registry client)"
TIMEOUT = httpx.Timeout(30.0, read=120.0)


def registry_http(endpoint: Endpoint, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The engine's HTTP client for one registry or index: its TLS trust, timeouts and User-Agent."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the engine logs its own requests
    return httpx.AsyncClient(
        base_url=endpoint.url,
        verify=ssl_context(endpoint.verify),
        timeout=TIMEOUT,
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
        transport=transport,
    )


class RegistryClient:
    """One session with one registry; use as ``async with RegistryClient(...) as client``."""

    def __init__(
        self,
        endpoint: Endpoint,
        auth: AuthConfig,
        *,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.auth = auth
        # behind an index (token not None) the index's X-Docker-Token ("" when it sent none) is
        # the only credential this registry sees; a standalone registry gets Basic first
        self.token = token
        self._authorization = (
            (f"Token {token}" if token else None)
            if token is not None
            else None
            if auth.anonymous
            else auth.basic()
        )
        self._http = registry_http(endpoint, transport)

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._http.aclose()

    def url(self, path: str) -> str:
        return f"{self.endpoint.url}{path}"

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self._authorization:
            headers["Authorization"] = self._authorization
        return headers

    def _take_token(self, response: httpx.Response) -> None:
        token = response.headers.get(v1.TOKEN_HEADER)
        # anonymous sessions have nothing to prove; behind an index the token is the index's
        if token and self._authorization and self.token is None:
            self._authorization = f"Token {token}"

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = self._headers(kwargs.pop("headers", None))
        try:
            return await self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise RegistryUnreachable(
                method, self.url(path), transport_reason(exc, self.endpoint.domain)
            ) from None

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._request(method, path, **kwargs)
        if response.status_code == 401:
            raise RegistryUnauthorized(method, self.url(path), anonymous=self._anonymous)
        return response

    @property
    def _anonymous(self) -> bool:
        return not self.token if self.token is not None else self.auth.anonymous

    def _fail(self, method: str, path: str, response: httpx.Response) -> RegistryError:
        return RegistryError(method, self.url(path), response.status_code, error_detail(response))

    # ---- index (standalone) -------------------------------------------------------------

    async def repository_images(self, remote: str) -> None:
        """``GET /v1/repositories/<remote>/images`` (pull step 2): only to receive a token."""
        response = await self._send(
            "GET", v1.repository_images_path(remote), headers={v1.TOKEN_HEADER: "true"}
        )
        if response.status_code == 200:
            self._take_token(response)

    async def put_repository(self, remote: str, images: list[dict[str, str]]) -> None:
        path = v1.repository_path(remote)
        response = await self._send("PUT", path, json=images, headers={v1.TOKEN_HEADER: "true"})
        if response.status_code not in (200, 201):
            raise self._fail("PUT", path, response)
        self._take_token(response)

    async def put_repository_images(self, remote: str, images: list[dict[str, str]]) -> None:
        path = v1.repository_images_path(remote)
        response = await self._send("PUT", path, json=images, headers={v1.TOKEN_HEADER: "true"})
        if response.status_code not in (200, 204):
            raise self._fail("PUT", path, response)

    async def login(self) -> None:
        """``GET /v1/users/`` with Basic: 200 means the credentials are good (protocols.md A.10)."""
        self._authorization = None if self.auth.anonymous else self.auth.basic()
        response = await self._send("GET", "/v1/users/")
        if response.status_code == 403:
            raise RegistryUnauthorized("GET", self.url("/v1/users/"))  # 403: the account is not active
        if response.status_code != 200:
            raise self._fail("GET", "/v1/users/", response)

    async def search(self, query: str, limit: int) -> dict[str, Any]:
        response = await self._send(
            "GET", "/v1/search", params={"q": query, "n": str(limit)}, headers={v1.TOKEN_HEADER: "true"}
        )
        if response.status_code != 200:
            raise self._fail("GET", "/v1/search", response)
        data = response.json()
        return data if isinstance(data, dict) else {}

    # ---- tags -----------------------------------------------------------------------------

    async def tag(self, remote: str, tag: str) -> str | None:
        """The image id ``tag`` points at, or None when the repository or tag is unknown."""
        path = v1.tag_path(remote, tag)
        response = await self._send("GET", path)
        try:
            return v1.read_tag(response)
        except UnexpectedAnswer:
            raise self._fail("GET", path, response) from None

    async def put_tag(self, remote: str, tag: str, image_id: str) -> None:
        path = v1.tag_path(remote, tag)
        response = await self._send(
            "PUT", path, content=json.dumps(image_id).encode(), headers={"Content-Type": "application/json"}
        )
        if response.status_code not in (200, 201):
            raise self._fail("PUT", path, response)

    # ---- images ---------------------------------------------------------------------------

    async def ancestry(self, image_id: str) -> list[str]:
        path = v1.image_path(image_id, "ancestry")
        response = await self._send("GET", path)
        try:
            ancestry = v1.read_ancestry(response)
        except UnexpectedAnswer:
            raise self._fail("GET", path, response) from None
        if ancestry is None:
            raise NotFound(f"image {image_id} not found on {self.endpoint.domain}")
        return ancestry

    async def image_json(self, image_id: str) -> ImageJson | None:
        """The image JSON, or None when the registry has no complete image of that id."""
        path = v1.image_path(image_id, "json")
        response = await self._send("GET", path)
        try:
            return v1.read_image_json(response)
        except UnexpectedAnswer:
            raise self._fail("GET", path, response) from None

    @asynccontextmanager
    async def layer(self, image_id: str) -> AsyncIterator[tuple[int | None, AsyncIterator[bytes]]]:
        """``(content length, chunks)`` of the layer, streamed."""
        path = v1.image_path(image_id, "layer")
        try:
            async with self._http.stream("GET", path, headers=self._headers()) as response:
                if response.status_code == 401:
                    raise RegistryUnauthorized("GET", self.url(path), anonymous=self._anonymous)
                if response.status_code != 200:
                    await response.aread()
                    raise self._fail("GET", path, response)
                length = response.headers.get("content-length")
                yield (int(length) if length and length.isdigit() else None), self._chunks(path, response)
        except httpx.HTTPError as exc:
            raise RegistryUnreachable(
                "GET", self.url(path), transport_reason(exc, self.endpoint.domain)
            ) from None

    async def _chunks(self, path: str, response: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_bytes():  # as received: the caller gathers them
                yield chunk
        except httpx.HTTPError as exc:
            raise RegistryUnreachable(
                "GET", self.url(path), transport_reason(exc, self.endpoint.domain)
            ) from None

    async def stored_checksum(self, image_id: str) -> str | None:
        """The payload checksum of the registry's complete ``image_id`` ("" when it names none), or
        None when ``GET json`` answers anything but 200 (401 too): "push it", as engine 1.5 reads
        it. A registry behind an index answers 200 only for images of the token's repository."""
        response = await self._request("GET", v1.image_path(image_id, "json"))
        if response.status_code != 200:
            return None
        return str(response.headers.get(v1.CHECKSUM_HEADER, ""))

    async def put_image_json(self, image_id: str, raw: bytes) -> bool:
        """``PUT json``; False when the registry already has the complete image (409 ``Image
        already exists``); another 409 (other content under that id, an upload of another
        repository in progress) is a :class:`RegistryError`."""
        path = v1.image_path(image_id, "json")
        response = await self._send("PUT", path, content=raw, headers={"Content-Type": "application/json"})
        if error_detail(response) == "Image already exists":
            return False
        if response.status_code != 200:
            raise self._fail("PUT", path, response)
        return True

    async def put_layer(self, image_id: str, body: AsyncIterable[bytes]) -> None:
        """``PUT layer``: the body goes out chunked, as engines send it."""
        path = v1.image_path(image_id, "layer")
        response = await self._send(
            "PUT", path, content=body, headers={"Content-Type": "application/octet-stream"}
        )
        if response.status_code != 200:
            raise self._fail("PUT", path, response)

    async def put_checksum(self, image_id: str, payload: str) -> None:
        path = v1.image_path(image_id, "checksum")
        response = await self._send("PUT", path, headers={v1.CHECKSUM_HEADER: payload})
        if response.status_code != 200:
            raise self._fail("PUT", path, response)


def transport_reason(exc: httpx.HTTPError, domain: str) -> str:
    """Go's wording for the usual failures (``dial tcp …: connect: connection refused``)."""
    cause: BaseException = exc
    for _ in range(8):  # the innermost cause says what happened
        if isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED:
            return f"dial tcp {domain}: connect: connection refused"
        inner = cause.__cause__ or cause.__context__
        if inner is None:
            break
        cause = inner
    if isinstance(exc, httpx.TimeoutException):
        return f"dial tcp {domain}: i/o timeout"
    return str(cause) or str(exc) or type(exc).__name__


def error_detail(response: httpx.Response) -> str:
    """What a v1 error body says (:func:`wharf_common.registry_v1.error_detail`), else the reason."""
    return v1.error_detail(response, response.reason_phrase)


__all__ = ["ImageJson", "RegistryClient", "error_detail", "transport_reason"]
