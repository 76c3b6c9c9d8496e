"""The v1 index API of a hub (protocols.md A.4): tokens and registries for a repository,
``docker login`` (A.10), and search results as Docker's API answers them (A.9).

The index sees the password (``Authorization: Basic``, when the caller has one); the
registries it names see only the token it hands out (:class:`Grant`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from wharf_common.errors import WharfError

from .client import error_detail, registry_http, transport_reason
from .endpoint import AuthConfig, Endpoint
from .errors import (
    AccessDenied,
    AccountInactive,
    RegistrationFailed,
    RegistryError,
    RegistryUnauthorized,
    RegistryUnreachable,
    RepositoryUnknown,
)
from .names import registry_endpoint

LOGIN_SUCCEEDED = {"Status": "Login Succeeded", "IdentityToken": ""}
USER_EXISTS = "Username or email already exists"
ASK_FOR_TOKEN = ("X-Docker-Token", "true")


@dataclass(frozen=True, slots=True)
class Grant:
    """The index's answer for a repository: the token and the registries to use it on."""

    token: str  # every X-Docker-Token value joined by "," (engine 1.5); "" when none was sent
    endpoints: tuple[Endpoint, ...]


def read_grant(headers: httpx.Headers, index: Endpoint) -> Grant:
    """``X-Docker-Token`` (values kept whole: they hold commas) and ``X-Docker-Endpoints``."""
    token = ",".join(value.strip() for value in headers.get_list("x-docker-token") if value.strip())
    items = headers.get_list("x-docker-endpoints", split_commas=True)
    return Grant(token, tuple(registry_endpoint(item, index) for item in items if item.strip()))


class IndexClient:
    """One conversation with an index; use as ``async with IndexClient(...) as index``."""

    def __init__(
        self, endpoint: Endpoint, auth: AuthConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.endpoint = endpoint
        self.auth = auth
        self._http = registry_http(endpoint, transport)

    async def __aenter__(self) -> IndexClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._http.aclose()

    @property
    def server(self) -> str:
        """The index as engine 1.5 names it in messages: ``http://127.0.0.1:8080/v1/``."""
        return f"{self.endpoint.url}/v1/"

    def url(self, path: str) -> str:
        return f"{self.endpoint.url}{path}"

    async def _send(
        self,
        method: str,
        path: str,
        *,
        basic: bool = True,
        headers: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = httpx.Headers(headers or [])
        if basic and not self.auth.anonymous:
            sent["Authorization"] = self.auth.basic()
        try:
            return await self._http.request(method, path, headers=sent, **kwargs)
        except httpx.HTTPError as exc:
            raise RegistryUnreachable(
                method, self.url(path), transport_reason(exc, self.endpoint.domain)
            ) from None

    def _refused(self, method: str, path: str, response: httpx.Response, remote: str) -> WharfError:
        if response.status_code == 401:
            return RegistryUnauthorized(method, self.url(path), anonymous=self.auth.anonymous)
        if response.status_code == 403:
            return AccessDenied()
        if response.status_code == 404:
            return RepositoryUnknown(remote)
        return RegistryError(method, self.url(path), response.status_code, error_detail(response))

    # ---- repositories (push A.7 steps 3 and 6, pull A.8 step 2) -------------------------------

    async def repository_images(self, remote: str) -> Grant:
        """``GET …/images``: a read token and the registries; the index itself when it names none."""
        path = f"/v1/repositories/{remote}/images"
        response = await self._send("GET", path, headers=[ASK_FOR_TOKEN])
        if response.status_code != 200:
            raise self._refused("GET", path, response, remote)
        grant = read_grant(response.headers, self.endpoint)
        return grant if grant.endpoints else Grant(grant.token, (self.endpoint,))

    async def put_repository(self, remote: str, images: list[dict[str, str]]) -> Grant:
        """``PUT …/``: announce the image list, receive a write token and the registries."""
        path = f"/v1/repositories/{remote}/"
        response = await self._send("PUT", path, json=images, headers=[ASK_FOR_TOKEN])
        if response.status_code not in (200, 201):
            raise self._refused("PUT", path, response, remote)
        grant = read_grant(response.headers, self.endpoint)
        if not grant.token or not grant.endpoints:
            missing = "X-Docker-Token" if not grant.token else "X-Docker-Endpoints"
            raise RegistryError("PUT", self.url(path), response.status_code, f"the index sent no {missing}")
        return grant

    async def put_repository_images(
        self, remote: str, images: list[dict[str, str]], endpoints: tuple[Endpoint, ...]
    ) -> None:
        """``PUT …/images``: the pushed tags and checksums; the index must answer 204."""
        path = f"/v1/repositories/{remote}/images"
        headers = [ASK_FOR_TOKEN, *(("X-Docker-Endpoints", f"{e.url}/v1/") for e in endpoints)]
        response = await self._send("PUT", path, json=images, headers=headers)
        if response.status_code != 204:
            raise self._refused("PUT", path, response, remote)

    # ---- accounts (A.10) ----------------------------------------------------------------------

    async def login(self) -> dict[str, str]:
        """``POST /v1/users/``; an existing account is checked with ``GET /v1/users/``."""
        body = {
            "username": self.auth.username,
            "password": self.auth.password,
            "email": self.auth.email,
            "auth": "",
        }
        response = await self._send("POST", "/v1/users/", basic=False, json=body)
        if response.status_code == 201:
            status = (
                f"Account created. Please see the documentation of the registry {self.server} "
                "for instructions how to activate it."
            )
            return {"Status": status, "IdentityToken": ""}
        if response.status_code == 401 or (
            response.status_code == 400 and error_detail(response) == USER_EXISTS
        ):
            return await self._check_account()
        if response.status_code == 400:  # modern clients send no e-mail: an index may ask for one
            reason = error_detail(response)
            try:
                return await self._check_account()
            except RegistryUnauthorized:
                raise RegistrationFailed(reason) from None
        raise RegistryError("POST", self.url("/v1/users/"), response.status_code, error_detail(response))

    async def _check_account(self) -> dict[str, str]:
        response = await self._send("GET", "/v1/users/")
        if response.status_code == 200:
            return LOGIN_SUCCEEDED
        if response.status_code == 401:
            raise RegistryUnauthorized("GET", self.url("/v1/users/"), anonymous=self.auth.anonymous)
        if response.status_code == 403:
            raise AccountInactive(self.server)
        raise RegistryError("GET", self.url("/v1/users/"), response.status_code, error_detail(response))


def search_results(found: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """``/v1/search``'s ``results`` as Docker's ``[{name, description, star_count, …}]``."""
    results = []
    for item in found.get("results") or []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        results.append(
            {
                "name": str(item["name"]),
                "description": str(item.get("description") or ""),
                "star_count": int(item.get("star_count") or 0),
                "is_official": bool(item.get("is_official")),
                "is_automated": False,  # deprecated since API 1.44: always false
            }
        )
    return results[:limit]


__all__ = ["LOGIN_SUCCEEDED", "USER_EXISTS", "Grant", "IndexClient", "read_grant", "search_results"]
