"""Endpoint discovery (protocols.md A.1) and the sessions that pulls and pushes run in.

Which protocol a host speaks is negotiated here, v2 first: ``GET /v2/`` answering 200 or 401
(with its challenges) means a v2 registry (:mod:`.v2`); 404, anything else or no answer at all
means v1, and the engine pings ``/v1/_ping`` (both answers are kept for a while).
A standalone registry (``X-Docker-Registry-Standalone`` missing, ``true`` or ``1``) is its own
index, spoken to as before. Anything else is an index, and the flow is the one of engine 1.5
(A.7, A.8): the index checks the password and hands out a token plus the registries
(``X-Docker-Endpoints``), which then see only ``Authorization: Token …``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import httpx
import structlog
from wharf_common import jsonsafe
from wharf_common.reference import ImageReference

from .client import USER_AGENT, RegistryClient, transport_reason
from .endpoint import AuthConfig, Endpoint, is_insecure, resolve_endpoint, server_domain, ssl_context
from .errors import RegistryUnreachable
from .index import Grant, IndexClient
from .names import (
    DEFAULT_INDEX_DOMAINS,
    Repository,
    describe,
    index_endpoint,
    registry_config,
)
from .v2 import V2Client
from .v2auth import Challenge, TokenSource, parse_challenges

if TYPE_CHECKING:
    from wharf_engine.settings import Settings

log = structlog.get_logger(__name__)

PING_TTL = 30.0  # seconds an endpoint's ping answer is trusted
PING_TIMEOUT = httpx.Timeout(15.0)


def is_standalone(header: str | None, body: bytes = b"") -> bool:
    """M15 ``pingV1``: standalone unless the header (or the body's ``standalone``) says otherwise."""
    standalone = True
    try:
        data = jsonsafe.loads(body) if body.strip() else None
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("standalone"), bool):
        standalone = data["standalone"]
    value = (header or "").strip()
    if value.lower() == "true" or value == "1":
        return True
    return False if value else standalone


@dataclass(frozen=True, slots=True)
class V2Target:
    """A registry that speaks v2: where (the scheme Docker's negotiation settled on) and its
    ``WWW-Authenticate`` challenges (none: it wants no credentials)."""

    endpoint: Endpoint
    challenges: list[Challenge]


class RegistryService:
    """Resolves names to endpoints, remembers what each endpoint is, opens sessions."""

    def __init__(
        self,
        default_index: str,
        insecure: list[str],
        ca_bundle: Path | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        ping_ttl: float = PING_TTL,
        clock: Callable[[], float] = time.monotonic,
        v1_only: list[str] | None = None,
    ) -> None:
        self.insecure = insecure
        self.v1_only = v1_only or []
        self.ca_bundle = ca_bundle
        self.default = index_endpoint(default_index, insecure, ca_bundle)
        self._transport = transport  # tests hand in an httpx.MockTransport
        self._ttl = ping_ttl
        self._clock = clock
        self._pings: dict[str, tuple[bool, float]] = {}
        self._v2: dict[str, tuple[V2Target | None, float]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> RegistryService:
        return cls(
            settings.default_index,
            settings.insecure_registries,
            settings.ca_bundle,
            v1_only=settings.v1_registries,
        )

    # ---- names ---------------------------------------------------------------------------------

    def repository(self, ref: ImageReference) -> Repository:
        return describe(ref, self.default, self.insecure, self.ca_bundle)

    def endpoint(self, domain: str | None) -> Endpoint:
        """The endpoint for ``host[:port]``; the default index for None and Docker's hub names."""
        if domain is None or domain in DEFAULT_INDEX_DOMAINS:
            return self.default
        return resolve_endpoint(domain, self.insecure, self.ca_bundle)

    def login_endpoint(self, server: str) -> Endpoint:
        """What ``POST /auth``'s ``serveraddress`` names: empty or Docker's hub → the default index."""
        return self.endpoint(server_domain(server) or None)

    def registry_config(self) -> dict[str, object]:
        return registry_config(self.default, self.insecure)

    # ---- discovery -----------------------------------------------------------------------------

    async def standalone(self, endpoint: Endpoint) -> bool:
        """Ping ``/v1/_ping`` (or trust a recent answer): True for a standalone registry."""
        now = self._clock()
        cached = self._pings.get(endpoint.url)
        if cached is not None and cached[1] > now:
            return cached[0]
        url = f"{endpoint.url}/v1/_ping"
        async with httpx.AsyncClient(
            verify=ssl_context(endpoint.verify),
            timeout=PING_TIMEOUT,
            headers={"User-Agent": USER_AGENT},
            transport=self._transport,
            follow_redirects=True,
        ) as http:
            try:
                response = await http.get(url)
            except httpx.HTTPError as exc:
                raise RegistryUnreachable("GET", url, transport_reason(exc, endpoint.domain)) from None
        standalone = is_standalone(response.headers.get("x-docker-registry-standalone"), response.content)
        self._pings[endpoint.url] = (standalone, now + self._ttl)
        log.debug("registry.pinged", endpoint=endpoint.url, standalone=standalone)
        return standalone

    async def negotiate_v2(self, endpoint: Endpoint) -> V2Target | None:
        """Whether ``endpoint`` speaks v2, and where: an insecure registry (the loopback
        exception, ``insecure_registries``) is tried over HTTPS without verification first, then
        over HTTP, as Docker does; any other over verified HTTPS only. None: not v2 (404, or no
        answer: then v1 is tried, which reports an unreachable host)."""
        if is_insecure(endpoint.domain, self.v1_only):  # the same matching: CIDRs or host[:port]
            return None
        now = self._clock()
        cached = self._v2.get(endpoint.url)
        if cached is not None and cached[1] > now:
            return cached[0]
        candidates = [endpoint]
        if not endpoint.secure:
            candidates.insert(0, Endpoint(endpoint.domain, f"https://{endpoint.domain}", verify=False))
        found: V2Target | None = None
        answered = False
        for candidate in candidates:
            challenges = await self._ping_v2(candidate)
            if challenges is None:
                continue
            answered = True
            if challenges is not False:
                found = V2Target(candidate, challenges)
                break
        if answered:  # no answer at all is not kept: the v1 ping says what is wrong
            self._v2[endpoint.url] = (found, now + self._ttl)
        log.debug("registry.v2_pinged", endpoint=endpoint.url, v2=found.endpoint.url if found else None)
        return found

    async def _ping_v2(self, endpoint: Endpoint) -> list[Challenge] | Literal[False] | None:
        """``GET /v2/``: the challenges (200: none), False when it answers but not as v2, None
        when it does not answer (refused, TLS failure, timeout)."""
        async with httpx.AsyncClient(
            verify=ssl_context(endpoint.verify),
            timeout=PING_TIMEOUT,
            headers={"User-Agent": USER_AGENT},
            transport=self._transport,
        ) as http:
            try:
                response = await http.get(f"{endpoint.url}/v2/")
            except httpx.HTTPError as exc:
                log.debug("registry.v2_ping_failed", endpoint=endpoint.url, error=type(exc).__name__)
                return None
        if response.status_code == 200:
            return []
        if response.status_code == 401:
            return parse_challenges(response.headers.get_list("www-authenticate"))
        return False

    def v2_client(
        self, endpoint: Endpoint, auth: AuthConfig, challenges: list[Challenge], scopes: tuple[str, ...]
    ) -> V2Client:
        tokens = TokenSource(endpoint, auth, challenges, transport=self._transport)
        return V2Client(endpoint, auth, tokens, scopes, transport=self._transport)

    async def session(self, repository: Repository, auth: AuthConfig) -> Session:
        """A session for ``repository``: its endpoint is pinged first (errors come out here)."""
        return Session(self, repository, auth, standalone=await self.standalone(repository.index))

    def client(self, endpoint: Endpoint, auth: AuthConfig, *, token: str | None = None) -> RegistryClient:
        return RegistryClient(endpoint, auth, token=token, transport=self._transport)

    def index(self, endpoint: Endpoint, auth: AuthConfig) -> IndexClient:
        return IndexClient(endpoint, auth, transport=self._transport)


class Session:
    """One pull or push: the index (unless the registry is standalone) and the registries it names.

    Use as ``async with await service.session(repository, auth) as session``.
    """

    def __init__(
        self, service: RegistryService, repository: Repository, auth: AuthConfig, *, standalone: bool
    ) -> None:
        self.service = service
        self.repository = repository
        self.auth = auth
        self.index = None if standalone else service.index(repository.index, auth)
        self._clients: list[RegistryClient] = []
        self._grant: Grant | None = None

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self.index is not None:
            await self.index.__aexit__()
        for client in self._clients:
            await client.__aexit__()

    @property
    def remote(self) -> str:
        return self.repository.remote

    def _open(self, endpoint: Endpoint, token: str | None) -> RegistryClient:
        client = self.service.client(endpoint, self.auth, token=token)
        self._clients.append(client)
        return client

    async def readers(self) -> list[RegistryClient]:
        """Registries to pull from, each with a read token (A.8 step 2)."""
        if self.index is None:
            client = self._open(self.repository.index, None)
            await client.repository_images(self.remote)  # a token, when the registry hands one out
            return [client]
        grant = await self.index.repository_images(self.remote)
        return [self._open(endpoint, grant.token) for endpoint in grant.endpoints]

    async def writers(self, images: list[dict[str, str]]) -> list[RegistryClient]:
        """Announce ``images`` to the index (A.7 step 3): the registries to push to, with a write token."""
        if self.index is None:
            client = self._open(self.repository.index, None)
            await client.put_repository(self.remote, images)
            return [client]
        self._grant = await self.index.put_repository(self.remote, images)
        return [self._open(endpoint, self._grant.token) for endpoint in self._grant.endpoints]

    async def finish(self, images: list[dict[str, str]]) -> None:
        """``PUT …/images`` with the tags and checksums pushed (A.7 step 6)."""
        if self.index is None:
            await self._clients[0].put_repository_images(self.remote, images)
            return
        assert self._grant is not None, "finish() before writers()"
        await self.index.put_repository_images(self.remote, images, self._grant.endpoints)


__all__ = ["PING_TTL", "RegistryService", "Session", "V2Target", "is_standalone"]
