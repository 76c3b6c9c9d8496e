"""A typed async client for the v2 / OCI distribution API of one registry, on httpx.

Every request carries what :class:`~.v2auth.TokenSource` says for the client's scopes
(``repository:<name>:pull`` for a pull, ``…:pull,push`` for a push; a cross-repository mount
adds ``repository:<from>:pull``). Errors come as the spec's ``{"errors": [{"code", "message"}]}``
and become :class:`V2Error` (with the code), 401 :class:`RegistryUnauthorized`, transport
failures :class:`RegistryUnreachable`. A layer's streamed ``PATCH`` to a plain-http registry
goes straight to the socket (:mod:`.stream`).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urljoin

import httpx

from .client import TIMEOUT, USER_AGENT, registry_http, transport_reason
from .endpoint import AuthConfig, Endpoint
from .errors import RegistryError, RegistryUnauthorized, RegistryUnreachable
from .manifests import ACCEPT, Fetched, sha256_digest
from .stream import StreamFailed, send_streamed, sendable
from .v2auth import TokenSource, parse_challenges, pull_scope

MAX_MANIFEST = 4 << 20  # bytes, as the reference registry reads at most


class V2Error(RegistryError):
    """The registry refused a request with one of the spec's error codes."""

    def __init__(self, method: str, url: str, status: int, code: str, message: str) -> None:
        self.code = code
        self.status = status
        self.detail = f"{code.lower().replace('_', ' ')}: {message}" if code else message
        super().__init__(method, url, status, self.detail)


def v2_error(method: str, url: str, response: httpx.Response) -> V2Error:
    """The first error of the body, as Docker words it (``manifest unknown: manifest unknown``)."""
    code, message = "", response.reason_phrase
    try:
        errors = response.json().get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            code = str(errors[0].get("code") or "")
            message = str(errors[0].get("message") or code.lower().replace("_", " "))
    except (ValueError, AttributeError):
        pass
    return V2Error(method, url, response.status_code, code, message)


class V2Client:
    """One registry, one repository's scopes; use as ``async with V2Client(...) as client``."""

    def __init__(
        self,
        endpoint: Endpoint,
        auth: AuthConfig,
        tokens: TokenSource,
        scopes: tuple[str, ...],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.auth = auth
        self.tokens = tokens
        self.scopes = scopes
        self._http = registry_http(endpoint, transport)
        self._own_transport = transport is None  # (a transport given for tests: every request through it)

    async def __aenter__(self) -> V2Client:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._http.aclose()

    def url(self, path: str) -> str:
        return urljoin(self.endpoint.url + "/", path)

    async def _headers(self, extra: dict[str, str] | None, scopes: tuple[str, ...] | None) -> dict[str, str]:
        headers = dict(extra or {})
        authorization = await self.tokens.authorization(scopes or self.scopes)
        if authorization:
            headers["Authorization"] = authorization
        return headers

    async def _send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        scopes: tuple[str, ...] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = await self._headers(headers, scopes)
        try:
            response = await self._http.request(method, path, headers=sent, **kwargs)
        except httpx.HTTPError as exc:
            reason = transport_reason(exc, self.endpoint.domain)
            raise RegistryUnreachable(method, self.url(path), reason) from None
        if response.status_code == 401:
            offered = parse_challenges(response.headers.get_list("www-authenticate"))
            replayable = isinstance(kwargs.get("content"), bytes | None)
            if replayable and self.tokens.adopt(offered):  # /v2/ was open, this repository is not
                return await self._send(method, path, headers=headers, scopes=scopes, **kwargs)
            raise self._unauthorized(method, path, response)
        return response

    async def _send_streamed(
        self, method: str, url: httpx.URL, headers: dict[str, str], body: AsyncIterable[bytes]
    ) -> httpx.Response:
        sent = {"User-Agent": self._http.headers.get("User-Agent", USER_AGENT), **headers}
        sent = await self._headers(sent, None)
        try:
            response = await send_streamed(method, url, sent, body, timeout=TIMEOUT)
        except StreamFailed as exc:
            raise RegistryUnreachable(method, str(url), str(exc)) from None
        if response.status_code == 401:  # a streamed body is not sent twice
            raise self._unauthorized(method, str(url), response)
        return response

    def _unauthorized(self, method: str, path: str, response: httpx.Response) -> RegistryUnauthorized:
        """A bearer token that was refused lacks the scope (the token server already took the
        password): the registry's words say so; otherwise Docker's for missing or bad credentials."""
        reason = None
        if self.tokens.bearer is not None:
            error = v2_error(method, self.url(path), response)
            reason = error.detail.removeprefix("unauthorized: ") if error.code else None
        return RegistryUnauthorized(method, self.url(path), anonymous=self.auth.anonymous, reason=reason)

    async def login(self) -> str:
        """``GET /v2/`` with the credentials (a bearer token with no scope, Basic, or nothing when
        the registry asks for none): 200 means they are good (moby's ``loginV2``). Returns the
        identity token the token server handed out for the password, or ``""``."""
        self.tokens.offline = True
        try:
            response = await self._send("GET", "/v2/", scopes=())
        except RegistryUnauthorized:
            raise RegistryUnauthorized("GET", self.url("/v2/"), anonymous=self.auth.anonymous) from None
        if response.status_code != 200:
            raise RegistryError(
                "GET",
                self.url("/v2/"),
                response.status_code,
                f"login attempt to {self.url('/v2/')} failed with status: {response.status_code}",
            )
        return self.tokens.refresh_token

    # ---- manifests ------------------------------------------------------------------------

    async def manifest(self, remote: str, reference: str) -> Fetched:
        """``GET /v2/<remote>/manifests/<tag or digest>``; a digest is checked against the bytes."""
        path = f"/v2/{remote}/manifests/{reference}"
        response = await self._send("GET", path, headers={"Accept": ACCEPT})
        if response.status_code != 200:
            raise v2_error("GET", self.url(path), response)
        raw = response.content
        if len(raw) > MAX_MANIFEST:
            raise RegistryError("GET", self.url(path), 200, f"manifest larger than {MAX_MANIFEST} bytes")
        digest = sha256_digest(raw)
        announced = response.headers.get("docker-content-digest")
        expected = reference if ":" in reference else announced
        if expected and expected.startswith("sha256:") and expected != digest:
            raise RegistryError("GET", self.url(path), 200, f"manifest digest {digest} is not {expected}")
        return Fetched(raw, response.headers.get("content-type", ""), digest)

    async def put_manifest(self, remote: str, reference: str, raw: bytes, media_type: str) -> str:
        path = f"/v2/{remote}/manifests/{reference}"
        response = await self._send("PUT", path, content=raw, headers={"Content-Type": media_type})
        if response.status_code not in (200, 201, 202):
            raise v2_error("PUT", self.url(path), response)
        return str(response.headers.get("docker-content-digest") or sha256_digest(raw))

    # ---- blobs ------------------------------------------------------------------------------

    async def blob_size(self, remote: str, digest: str) -> int | None:
        """``HEAD`` a blob: its size when the repository has it, None when not."""
        path = f"/v2/{remote}/blobs/{digest}"
        response = await self._send("HEAD", path)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise v2_error("HEAD", self.url(path), response)
        length = response.headers.get("content-length", "")
        return int(length) if length.isdigit() else 0

    async def blob_bytes(self, remote: str, digest: str, limit: int) -> bytes:
        """A small blob (a config) whole, checked against its digest."""
        path = f"/v2/{remote}/blobs/{digest}"
        response = await self._send("GET", path)
        if response.status_code != 200:
            raise v2_error("GET", self.url(path), response)
        if len(response.content) > limit:
            raise RegistryError("GET", self.url(path), 200, f"blob larger than {limit} bytes")
        if digest.startswith("sha256:") and sha256_digest(response.content) != digest:
            raise RegistryError("GET", self.url(path), 200, f"blob content does not match {digest}")
        return response.content

    @asynccontextmanager
    async def blob(self, remote: str, digest: str) -> AsyncIterator[tuple[int | None, AsyncIterator[bytes]]]:
        """``(content length, chunks)`` of a blob, streamed; the caller checks the digest."""
        path = f"/v2/{remote}/blobs/{digest}"
        url = self.url(path)
        headers = await self._headers(None, None)
        try:
            async with self._http.stream("GET", path, headers=headers) as response:
                if response.status_code == 401:
                    await response.aread()
                    raise self._unauthorized("GET", path, response)
                if response.status_code != 200:
                    await response.aread()
                    raise v2_error("GET", url, response)
                length = response.headers.get("content-length", "")
                yield (int(length) if length.isdigit() else None), self._chunks(url, response)
        except httpx.HTTPError as exc:
            raise RegistryUnreachable("GET", url, transport_reason(exc, self.endpoint.domain)) from None

    async def _chunks(self, url: str, response: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_bytes():
                yield chunk
        except httpx.HTTPError as exc:
            raise RegistryUnreachable("GET", url, transport_reason(exc, self.endpoint.domain)) from None

    async def mount(self, remote: str, digest: str, source: str) -> str | None:
        """``POST uploads/?mount=&from=``: None when mounted (201); else the upload session the
        registry opened instead (202), to send the blob to."""
        path = f"/v2/{remote}/blobs/uploads/"
        scopes = (*self.scopes, pull_scope(source))
        response = await self._send("POST", path, params={"mount": digest, "from": source}, scopes=scopes)
        if response.status_code == 201:
            return None
        if response.status_code != 202:
            raise v2_error("POST", self.url(path), response)
        return self._location(path, response)

    async def start_upload(self, remote: str) -> str:
        path = f"/v2/{remote}/blobs/uploads/"
        response = await self._send("POST", path, headers={"Content-Length": "0"})
        if response.status_code != 202:
            raise v2_error("POST", self.url(path), response)
        return self._location(path, response)

    def _location(self, path: str, response: httpx.Response) -> str:
        location = response.headers.get("location")
        if not location:
            raise RegistryError("POST", self.url(path), response.status_code, "no Location for the upload")
        return urljoin(self.url(path), str(location))

    def _upload_url(self, method: str, location: str, params: dict[str, str] | None = None) -> httpx.URL:
        url = httpx.URL(location).copy_merge_params(params or {})
        if url.netloc.decode() != self.endpoint.domain:  # credentials never go to another host
            raise RegistryError(method, location, 202, "the upload location is on another host")
        return url

    async def put_blob(self, location: str, digest: str, size: int, body: AsyncIterable[bytes]) -> None:
        """The whole blob in one ``PUT <location>?digest=`` (a monolithic upload)."""
        url = self._upload_url("PUT", location, {"digest": digest})
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        response = await self._send("PUT", str(url), content=body, headers=headers)
        if response.status_code not in (201, 204):
            raise v2_error("PUT", location, response)

    async def patch_blob(self, location: str, body: AsyncIterable[bytes]) -> str:
        """The blob's bytes in one streamed ``PATCH`` (as moby sends a layer whose digest is
        known only once it is all compressed); the location to finish the upload at."""
        url = self._upload_url("PATCH", location)
        headers = {"Content-Type": "application/octet-stream"}
        if self._own_transport and sendable(url):  # straight to the socket (:mod:`.stream`)
            response = await self._send_streamed("PATCH", url, headers, body)
        else:
            response = await self._send("PATCH", str(url), content=body, headers=headers)
        if response.status_code != 202:
            raise v2_error("PATCH", location, response)
        return self._location(location, response) if response.headers.get("location") else location

    async def finish_upload(self, location: str, digest: str) -> None:
        """``PUT <location>?digest=`` with no body: the registry checks the digest and publishes."""
        url = self._upload_url("PUT", location, {"digest": digest})
        response = await self._send("PUT", str(url), headers={"Content-Length": "0"})
        if response.status_code not in (201, 204):
            raise v2_error("PUT", location, response)


__all__ = ["MAX_MANIFEST", "V2Client", "V2Error", "v2_error"]
