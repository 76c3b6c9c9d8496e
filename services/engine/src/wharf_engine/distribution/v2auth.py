"""Authentication against v2 registries: the ``WWW-Authenticate`` challenge and bearer tokens.

``GET /v2/`` answers 200 (no authentication), or 401 with a challenge: ``Basic realm=…`` (the
credentials go with every request) or ``Bearer realm="<token URL>",service="…"`` (Docker's token
authentication: the credentials go to the realm only, as ``Authorization: Basic`` on
``GET <realm>?service=…&scope=repository:<name>:pull[,push]&account=<user>``, which answers
``{"token"|"access_token", "expires_in", "issued_at"}``). Tokens are kept per set of scopes until
they expire (``expires_in`` below 60 s counts as 60, as Docker's client reads it).

At login the password goes with ``offline_token=true&client_id=docker``: a token server that
answers with a ``refresh_token`` hands out Docker's identity token, which ``/auth`` returns as
``IdentityToken`` and the client then sends instead of the password; with one, tokens are asked
for with the OAuth2 form (``POST <realm>``, ``grant_type=refresh_token``), as Docker does.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from .endpoint import AuthConfig, Endpoint, ssl_context
from .errors import RegistryError, RegistryUnauthorized, RegistryUnreachable

log = structlog.get_logger(__name__)

MIN_EXPIRY = 60  # seconds: Docker's client never trusts a token for less
EXPIRY_MARGIN = 5  # seconds: a token this close to its expiry is fetched anew
TOKEN_TIMEOUT = httpx.Timeout(30.0)
MAX_TOKEN_RESPONSE = 1 << 20
CLIENT_ID = "docker"  # what the token server sees as the client, as Docker's daemon says

_PARAM = re.compile(r'\s*([a-zA-Z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*,?')


@dataclass(frozen=True, slots=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: scheme (lower case) and its parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


def parse_challenges(values: list[str]) -> list[Challenge]:
    """The challenges of ``WWW-Authenticate`` header values (several schemes may be offered)."""
    challenges: list[Challenge] = []
    for value in values:
        rest = value.strip()
        while rest:
            scheme, _, rest = rest.partition(" ")
            scheme = scheme.strip().rstrip(",")
            params: dict[str, str] = {}
            while (match := _PARAM.match(rest)) is not None and match.end() > 0:
                quoted, bare = match.group(2), match.group(3)
                params[match.group(1).lower()] = (
                    re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare or ""
                )
                rest = rest[match.end() :]
            if scheme:
                challenges.append(Challenge(scheme.lower(), params))
            rest = rest.strip().lstrip(",").strip()
    return challenges


class _TokenAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    token: str = ""
    access_token: str = ""
    expires_in: int = MIN_EXPIRY
    refresh_token: str | None = None


class TokenSource:
    """What to send as ``Authorization`` to one v2 registry, for a set of scopes."""

    def __init__(
        self,
        endpoint: Endpoint,
        auth: AuthConfig,
        challenges: list[Challenge],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint
        self.auth = auth
        self.bearer = next((c for c in challenges if c.scheme == "bearer" and c.realm), None)
        self.basic = self.bearer is None and any(c.scheme == "basic" for c in challenges)
        self._transport = transport
        self._clock = clock
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}
        self._lock = asyncio.Lock()
        self.offline = False  # at login: ask for a refresh token (Docker's identity token)
        self.refresh_token = ""

    def adopt(self, challenges: list[Challenge]) -> bool:
        """Take the challenges of a 401 when ``GET /v2/`` asked for nothing (a registry may guard
        repositories only): True when there is something new to answer it with."""
        if self.bearer is not None or self.basic:
            return False
        self.bearer = next((c for c in challenges if c.scheme == "bearer" and c.realm), None)
        self.basic = self.bearer is None and any(c.scheme == "basic" for c in challenges)
        return self.bearer is not None or (self.basic and not self.auth.anonymous)

    async def authorization(self, scopes: tuple[str, ...]) -> str | None:
        """The header value for a request that needs ``scopes`` (None: send nothing)."""
        if self.bearer is not None:
            return f"Bearer {await self.token(scopes)}"
        if self.basic and not self.auth.anonymous:
            return self.auth.basic()
        return None

    async def token(self, scopes: tuple[str, ...]) -> str:
        key = tuple(sorted(scopes))
        async with self._lock:  # concurrent layers share one fetch
            cached = self._tokens.get(key)
            if cached is not None and cached[1] > self._clock():
                return cached[0]
            token, expires_in = await self._fetch(key)
            self._tokens[key] = (token, self._clock() + max(expires_in, MIN_EXPIRY) - EXPIRY_MARGIN)
            return token

    async def _fetch(self, scopes: tuple[str, ...]) -> tuple[str, int]:
        assert self.bearer is not None
        params: list[tuple[str, str | int | float | bool | None]] = []
        service = self.bearer.params.get("service", "")
        if service:
            params.append(("service", service))
        params += [("scope", scope) for scope in scopes]
        realm = self.bearer.realm
        async with httpx.AsyncClient(
            verify=ssl_context(self.endpoint.verify),
            timeout=TOKEN_TIMEOUT,
            transport=self._transport,
            follow_redirects=True,
        ) as http:
            try:
                if self.auth.identity_token:
                    form = {
                        "grant_type": "refresh_token",
                        "refresh_token": self.auth.identity_token,
                        "client_id": CLIENT_ID,
                        "scope": " ".join(scopes),
                        **({"service": service} if service else {}),
                    }
                    response = await http.post(realm, data=form)
                else:
                    headers = {}
                    if not self.auth.anonymous:
                        params.append(("account", self.auth.username))
                        headers["Authorization"] = self.auth.basic()
                        if self.offline:
                            params += [("offline_token", "true"), ("client_id", CLIENT_ID)]
                    response = await http.get(realm, params=params, headers=headers)
            except httpx.HTTPError as exc:
                raise RegistryUnreachable("GET", realm, f"{type(exc).__name__}: {exc}") from None
        if response.status_code in (401, 403):
            raise RegistryUnauthorized("GET", realm, anonymous=self.auth.anonymous)
        if response.status_code != 200 or len(response.content) > MAX_TOKEN_RESPONSE:
            raise RegistryError("GET", realm, response.status_code, response.text[:200])
        try:
            answer = _TokenAnswer.model_validate_json(response.content)
        except ValidationError:
            raise RegistryError("GET", realm, 200, "the token server sent no JSON token") from None
        token = answer.access_token or answer.token
        if self.offline and answer.refresh_token:
            self.refresh_token = answer.refresh_token
        if not token:
            raise RegistryError("GET", realm, 200, "the token server sent no token")
        log.debug("registry.token", realm=realm, scopes=list(scopes), expires_in=answer.expires_in)
        return token, answer.expires_in


def pull_scope(remote: str) -> str:
    return f"repository:{remote}:pull"


def push_scope(remote: str) -> str:
    return f"repository:{remote}:pull,push"


__all__ = ["Challenge", "TokenSource", "parse_challenges", "pull_scope", "push_scope"]
