"""Index mode: the hub (the v1 index) is the authority, and its signed tokens the only credential.

The hub hands engines ``X-Docker-Token: signature=…,repository="ns/repo",access=…`` signed
with its Ed25519 key (:mod:`wharf_common.tokens`); engines send it back as
``Authorization: Token …``. The registry checks it with the hub's public key alone, on every
request (a token stays good until it expires), as DR's ``check_token`` does per method:
GET/HEAD read (a write token covers reads), PUT/POST write, DELETE delete.

* Repository routes: the token's repository must be the URL's.
* Image writes (``PUT json|layer|checksum``): any write token, scoped to the token's
  repository by :class:`~wharf_registry.layers.LayerService` (the identity names it).
* Image reads (``GET json|layer|ancestry``), with a read or a write token: only images the
  token's repository holds (:class:`~wharf_registry.reachable.RepositoryImages`: pushed or
  proven there, or reached by its tags), so a token for a public repository reads no layer of
  a private one, and knowing an image id opens nothing.

Missing, Basic, forged, foreign-key, tampered and expired credentials are 401 with
``WWW-Authenticate: Token``; a genuine token that does not cover the request is 403.

A token the hub may take back names the hub (``RepositoryToken.index``; ``index.url`` here
overrides that address, for a registry that reaches the hub by another name). Before honouring
one, the registry confirms it with the hub (``PUT <hub>/v1/repositories/<name>/auth``), and
again every ``index.recheck`` seconds while it is in use: a collaborator removed from a
repository is refused within that time (403), a long push by someone still allowed goes on.
When the hub cannot be asked, such a token is refused with 503.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import structlog
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel
from wharf_common.errors import InvalidArgument, NotFound, Unavailable
from wharf_common.tokens import InvalidToken, RepositoryToken, TokenForbidden, TokenVerifier, load_public_key

from .access import AccessScope, Identity
from .names import parse_repository
from .reachable import RepositoryImages

log = structlog.get_logger(__name__)

HUB_KEY_HINT = "the hub writes it to <hub data root>/token-signing.pub.pem"


class IndexSettings(BaseModel):
    """``WHARF_REGISTRY_INDEX__PUBLIC_KEY=/path`` (or ``--index-public-key``) turns index mode on."""

    public_key: Path | None = None
    """The hub's token-signing public key (PEM, Ed25519)."""
    url: str | None = None
    """The hub's address from here: where to confirm tokens the hub may take back (default the
    address the token names), and where the index calls engines send to this registry's host
    (``/v1/users/``, ``/v1/repositories/…``) are forwarded (unset: they are 404)."""
    recheck: float = 10.0
    """Seconds a confirmation holds: how long a revoked token may still be used."""
    timeout: float = 10.0
    """Seconds to wait for the hub's answer."""


class InvalidIndexKey(InvalidArgument):
    """The configured index public key cannot be read or is not an Ed25519 public key."""


class ServedByIndex(NotFound):
    def __init__(self) -> None:
        super().__init__(
            "Not served here: this registry runs in index mode; users, repository image lists, "
            "tokens and search are the index's (the hub's)"
        )


class TokenRevoked(TokenForbidden):
    """The hub no longer stands by a genuine, unexpired token (its user lost the access)."""


class IndexUnreachable(Unavailable):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"Cannot confirm the token with the index at {url}: {reason}")


class TokenRequired(InvalidToken):
    """No token at all (or another scheme): ask the index for one."""

    def __init__(self, message: str = "Requires authorization") -> None:
        super().__init__(message)


def load_index_key(settings: IndexSettings) -> Ed25519PublicKey | None:
    """The hub's public key, or None in standalone mode; :class:`InvalidIndexKey` if unusable."""
    path = settings.public_key
    if path is None:
        return None
    try:
        return load_public_key(path)
    except OSError as exc:
        raise InvalidIndexKey(f"index public key {path}: {exc.strerror or exc} ({HUB_KEY_HINT})") from None
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidIndexKey(
            f"index public key {path}: not a PEM Ed25519 public key ({HUB_KEY_HINT})"
        ) from None


def _credentials(authorization: str | None) -> str:
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    if scheme.lower() == "token" and credentials.strip():
        return credentials
    if scheme.lower() == "basic":
        raise TokenRequired("Requires authorization: this registry takes tokens from its index, not Basic")
    raise TokenRequired()


class Confirmations:
    """Asks the hub whether it still stands by a token; remembers a yes for ``recheck`` seconds."""

    MAX_REMEMBERED = 4096

    def __init__(self, settings: IndexSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._settings = settings
        self._transport = transport
        self._until: dict[str, float] = {}

    async def confirm(self, token: RepositoryToken, credentials: str) -> None:
        now = time.monotonic()
        if self._until.get(credentials, 0.0) > now:
            return
        base = (self._settings.url or token.index or "").rstrip("/")
        url = f"{base}/v1/repositories/{token.repository}/auth"
        try:
            async with httpx.AsyncClient(timeout=self._settings.timeout, transport=self._transport) as http:
                response = await http.put(url, headers={"Authorization": f"Token {credentials}"})
        except httpx.HTTPError as exc:
            log.warning("index_access.index_unreachable", url=url, error=str(exc) or type(exc).__name__)
            raise IndexUnreachable(base, str(exc) or type(exc).__name__) from None
        if response.status_code == 401:
            raise InvalidToken("Invalid token: the index refused it")
        if response.status_code in (403, 404):
            log.info("index_access.token_revoked", repository=token.repository, user=token.user)
            raise TokenRevoked(
                f"Token revoked by the index: {token.user} may no longer {token.access} {token.repository}"
            )
        if response.status_code != 200:
            raise IndexUnreachable(base, f"it answered {response.status_code}")
        if len(self._until) >= self.MAX_REMEMBERED:
            self._until = {k: v for k, v in self._until.items() if v > now}
            if len(self._until) >= self.MAX_REMEMBERED:
                self._until.clear()
        self._until[credentials] = now + self._settings.recheck


class IndexAuthority:
    """Authorize requests with tokens the hub signed; satisfies ``api.deps.Authority``."""

    def __init__(
        self, verifier: TokenVerifier, images: RepositoryImages, settings: IndexSettings | None = None
    ) -> None:
        self._verifier = verifier
        self._images = images
        self._confirmations = Confirmations(settings or IndexSettings())

    async def authorize(self, authorization: str | None, scope: AccessScope) -> Identity:
        credentials = _credentials(authorization)
        token = self._verifier.verify(credentials)
        await self._check_scope(token, scope)
        if token.index is not None:
            await self._confirmations.confirm(token, credentials)
        return Identity(token.user or None, repository=token.repository)

    async def _check_scope(self, token: RepositoryToken, scope: AccessScope) -> None:
        if scope.repository is not None:
            if not token.allows(scope.access, scope.repository):
                raise TokenForbidden(f"Token does not grant {scope.access} access to {scope.repository}")
        elif scope.image_id is not None:
            await self._authorize_image(token, scope.image_id, scope)
        elif not token.allows(scope.access):
            raise TokenForbidden(f"Token does not grant {scope.access} access")

    async def _authorize_image(self, token: RepositoryToken, image_id: str, scope: AccessScope) -> None:
        if not token.allows(scope.access):
            raise TokenForbidden(f"Token does not grant {scope.access} access to images")
        if scope.access != "read":
            return  # uploads: the layer service scopes them to the token's repository
        try:
            repo = parse_repository(token.repository)
        except InvalidArgument:
            repo = None
        if repo is None or not await self._images.contains(repo, image_id):
            log.info("index_access.image_refused", repository=token.repository, image_id=image_id[:80])
            raise TokenForbidden("Token does not grant read access to this image")


__all__ = [
    "Confirmations",
    "IndexAuthority",
    "IndexSettings",
    "IndexUnreachable",
    "InvalidIndexKey",
    "ServedByIndex",
    "TokenRequired",
    "TokenRevoked",
    "load_index_key",
]
