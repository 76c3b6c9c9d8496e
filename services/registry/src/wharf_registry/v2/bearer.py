"""Index mode over v2: the hub's bearer tokens (Docker's token authentication), verified offline,
and the pushes and pulls reported back to the hub.

A request without a token, or with one that does not grant what it needs, is a 401 with the
challenge that sends the client to the hub::

    WWW-Authenticate: Bearer realm="<hub>/v2/token",service="<bearer.service>",
                      scope="repository:alice/web:pull,push"[,error="invalid_token"|"insufficient_scope"]

(as the Go registry answers, so clients ask again with the scope they need). The token must be
an ES256 JWT of the hub's key (``bearer.certificate``: the hub's ``bearer-signing.crt``), its
``iss`` the hub's, its ``aud`` this registry's service, current, and its ``access`` must grant
every action on the repository (names compared as this registry stores them: ``busybox`` is
``library/busybox``). ``/v2/`` takes any valid token; the catalog needs ``registry:catalog:*``.

Pushes, deletes and pulls go to the hub (``POST <index.url>/v2/_registry/events``) in the
background, each with the token the client used, which proves the right to what is reported: a
manifest pushed under a tag (the hub records the tag and fires the repository's webhooks), a tag
or manifest deleted (the hub drops the tags removed) and a manifest fetched (the pull counter).
A report that fails is logged; it never fails the client's request.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import structlog
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from wharf_common.bearer import BearerToken, BearerVerifier, load_verification_keys
from wharf_common.errors import InvalidArgument
from wharf_common.tokens import InvalidToken

from . import names
from .access import CATALOG
from .errors import ChallengeRequired

log = structlog.get_logger(__name__)

REPORTED = frozenset({"push", "delete"})
"""Actions whose tokens are kept to report them to the hub."""
HUB_CERT_HINT = "the hub writes it to <hub data root>/bearer-signing.crt"
MANIFEST_GET = re.compile(r"/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)")


class BearerSettings(BaseModel):
    """``WHARF_REGISTRY_BEARER__CERTIFICATE=<hub>/bearer-signing.crt`` turns v2 on in index mode."""

    certificate: Path | None = None
    """The hub's bearer-signing certificate (or PEM public key): EC P-256, ES256 tokens."""
    realm: str | None = None
    """Where clients get tokens, as they reach the hub; default ``<index.url>/v2/token``."""
    service: str = "wharf-registry"
    """This registry's name in the tokens' ``aud`` (clients send it back from the challenge)."""
    issuer: str = "wharf-hub"
    """The hub's ``bearer_issuer``."""
    leeway: int = 30
    """Seconds of clock skew allowed between hub and registry."""
    report: bool = True
    """Report pushes and pulls to the hub at ``index.url``."""


class InvalidBearerKey(InvalidArgument):
    """The configured hub certificate cannot be read or holds no EC P-256 key."""


def load_bearer_verifier(settings: BearerSettings) -> BearerVerifier | None:
    if settings.certificate is None:
        return None
    try:
        keys = load_verification_keys(settings.certificate)
    except OSError as exc:
        raise InvalidBearerKey(
            f"bearer certificate {settings.certificate}: {exc.strerror or exc} ({HUB_CERT_HINT})"
        ) from None
    except ValueError as exc:
        raise InvalidBearerKey(
            f"bearer certificate {settings.certificate}: {exc} ({HUB_CERT_HINT})"
        ) from None
    return BearerVerifier(keys, settings.issuer, settings.service, settings.leeway)


def _normalized(name: str) -> str | None:
    try:
        return str(names.repository(name))
    except InvalidArgument:
        return None


def _granted(token: BearerToken, repository: str) -> frozenset[str]:
    """The actions ``token`` grants on ``repository`` (``ns/repo``), whatever spelling it used."""
    found: set[str] = set()
    for scope in token.access:
        if scope.type == "repository" and _normalized(scope.name) == repository:
            found.update(scope.actions)
    return frozenset(found)


class BearerAuthority:
    """:class:`~wharf_registry.v2.access.V2Authority` for index mode: the hub's tokens only."""

    MAX_REMEMBERED = 1024

    def __init__(self, verifier: BearerVerifier, realm: str, service: str) -> None:
        self.verifier = verifier
        self.realm = realm
        self.service = service
        self._tokens: dict[tuple[str, str, str], tuple[str, int]] = {}

    def challenge(self, scope: str | None, error: str | None = None) -> str:
        text = f'Bearer realm="{self.realm}",service="{self.service}"'
        if scope:
            text += f',scope="{scope}"'
        if error:
            text += f',error="{error}"'
        return text

    async def authorize(
        self, request_headers: Mapping[str, str], repository: str | None, actions: frozenset[str]
    ) -> str | None:
        if repository is not None:
            scope: str | None = f"repository:{repository}:{','.join(sorted(actions))}"
        else:
            scope = "registry:catalog:*" if CATALOG in actions else None
        raw = _bearer(request_headers.get("authorization"))
        if raw is None:
            raise ChallengeRequired(self.challenge(scope))
        try:
            token = self.verifier.verify(raw)
        except InvalidToken as exc:
            raise ChallengeRequired(self.challenge(scope, "invalid_token"), exc.message) from None
        if repository is not None:
            missing = actions - _granted(token, repository)
        elif CATALOG in actions:
            missing = frozenset() if token.allows("registry", "catalog", "*") else actions
        else:
            missing = frozenset()
        if missing:
            log.info("bearer.insufficient_scope", user=token.subject, scope=scope, missing=sorted(missing))
            raise ChallengeRequired(
                self.challenge(scope, "insufficient_scope"), f"insufficient scope: {scope} is not granted"
            )
        if repository is not None:
            for action in actions & REPORTED:
                self._remember(repository, token.subject, action, raw, token.expires)
        return token.subject or None

    def _remember(self, repository: str, user: str, action: str, raw: str, expires: int) -> None:
        if len(self._tokens) >= self.MAX_REMEMBERED:
            now = int(time.time())
            self._tokens = {k: v for k, v in self._tokens.items() if v[1] > now}
            if len(self._tokens) >= self.MAX_REMEMBERED:
                self._tokens.clear()
        self._tokens[(repository, user, action)] = (raw, expires)

    def token_for(self, repository: str, user: str | None, action: str) -> str | None:
        """The token ``user`` last took ``action`` (push, delete) on ``repository`` with, while valid."""
        found = self._tokens.get((repository, user or "", action))
        return found[0] if found is not None and found[1] > time.time() else None

    def push_token(self, repository: str, user: str | None) -> str | None:
        """The token ``user`` last pushed to ``repository`` with, while it is valid."""
        return self.token_for(repository, user, "push")


def _bearer(authorization: str | None) -> str | None:
    scheme, _, value = (authorization or "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


ManifestReader = Callable[[str, str], Awaitable[bytes]]
"""``(repository "ns/repo", digest) → the manifest's bytes`` (for the tag's image id and size)."""


def describe(raw: bytes) -> dict[str, Any]:
    """What the hub shows of a pushed manifest: its config (the image id) and its size in bytes."""
    try:
        manifest = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(manifest, dict):
        return {}
    parts = [manifest.get("config"), *(manifest.get("layers") or []), *(manifest.get("manifests") or [])]
    size = sum(p["size"] for p in parts if isinstance(p, dict) and type(p.get("size")) is int)
    config = manifest.get("config")
    found: dict[str, Any] = {"size": size}
    if isinstance(config, dict) and isinstance(config.get("digest"), str):
        found["config"] = config["digest"]
    return found


class HubReporter:
    """Tells the hub of pushes and deletes (the manifest listeners) and pulls (:class:`PullCounter`)."""

    BATCH = 100
    """Events per report (the hub takes at most 100)."""

    def __init__(
        self,
        url: str,
        authority: BearerAuthority,
        manifests: ManifestReader,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/") + "/v2/_registry/events"
        self.authority = authority
        self.manifests = manifests
        self.timeout = timeout
        self.transport = transport
        self._pending: set[asyncio.Task[None]] = set()

    async def pushed(self, repository: str, tag: str | None, digest: str, user: str | None) -> None:
        """The manifest listener: a tagged push is reported with the pusher's token."""
        token = self.authority.push_token(repository, user)
        if tag is None or token is None:
            return
        try:
            target = {
                "repository": repository,
                "tag": tag,
                "digest": digest,
                **describe(await self.manifests(repository, digest)),
            }
        except Exception as exc:  # a report is never worth failing the push
            log.warning("bearer.report_skipped", repository=repository, error=str(exc) or type(exc).__name__)
            return
        self._spawn(token, {"action": "push", "target": target})

    async def deleted(self, repository: str, tags: list[str], digest: str | None, user: str | None) -> None:
        """The delete listener: the tags removed (or the digest, if none) with the deleter's token."""
        token = self.authority.token_for(repository, user, "delete")
        if token is None:
            return
        targets = [{"repository": repository, "tag": tag} for tag in tags]
        if not targets and digest is not None:
            targets = [{"repository": repository}]
        for target in targets:
            if digest is not None:
                target["digest"] = digest
        for start in range(0, len(targets), self.BATCH):
            batch = targets[start : start + self.BATCH]
            self._spawn(token, *({"action": "delete", "target": target} for target in batch))

    def pulled(self, repository: str, reference: str, token: str) -> None:
        self._spawn(token, {"action": "pull", "target": {"repository": repository, "reference": reference}})

    def _spawn(self, token: str, *events: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._post(token, list(events)))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _post(self, token: str, events: list[dict[str, Any]]) -> None:
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as http:
                answer = await http.post(
                    self.url, json={"events": events}, headers={"Authorization": f"Bearer {token}"}
                )
        except httpx.HTTPError as exc:
            log.warning("bearer.report_failed", url=self.url, error=str(exc) or type(exc).__name__)
            return
        if answer.status_code != 200:
            log.warning(
                "bearer.report_refused", url=self.url, status=answer.status_code, body=answer.text[:200]
            )

    async def drain(self) -> None:
        """Wait for the reports under way (tests; shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)


class PullCounter:
    """ASGI middleware: a manifest ``GET`` answered 200 with a bearer token is a pull."""

    def __init__(self, app: ASGIApp, reporter: HubReporter) -> None:
        self.app = app
        self.reporter = reporter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = MANIFEST_GET.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        token = _bearer(headers.get("authorization"))
        repository = _normalized(match["name"])
        if status == 200 and token is not None and repository is not None:
            self.reporter.pulled(repository, match["reference"], token)


__all__ = [
    "BearerAuthority",
    "BearerSettings",
    "HubReporter",
    "InvalidBearerKey",
    "PullCounter",
    "describe",
    "load_bearer_verifier",
]
