"""Standalone access control: HTTP Basic against a users file, and the tokens we hand out.

(:mod:`wharf_registry.index_access` is the other authority, for index mode; both answer
:meth:`authorize` for an :class:`AccessScope`, which ``api/deps.py`` builds per request.)

The users file has one ``user:argon2-hash`` line per user (``#`` comments and blank lines
are skipped); it is re-read when its modification time changes. Without a users file the
registry is open, as DR is in standalone mode.

The standalone index routes (``PUT /v1/repositories/<name>/``) answer with
``X-Docker-Token: signature=…,repository="ns/repo",access=…`` as the index spec shows;
engines then send ``Authorization: Token …`` to the registry. Here the signature is
``<expiry>.<hmac>`` over repository, access, expiry and user, keyed by a per-process secret
(or ``auth.token_secret``), so a token proves an earlier Basic login without a session.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, Field, SecretStr
from wharf_common.errors import Forbidden, Unauthorized
from wharf_common.tokens import Access

log = structlog.get_logger(__name__)

_TOKEN_RE = re.compile(r"(\w+)[:=][\s\"]?([^\",]+)\"?")
_USER_RE = re.compile(r"[A-Za-z0-9._@-]{1,64}")
VERIFIED_TTL = 60.0
MAX_VERIFIED = 4096


class AuthSettings(BaseModel):
    """``WHARF_REGISTRY_AUTH__USERS_FILE=/etc/wharf/registry.users`` turns Basic auth on."""

    users_file: Path | None = None
    anonymous_read: bool = False
    """With a users file: let anyone pull and search, and ask for credentials only to push."""
    realm: str = "wharf-registry"
    token_secret: SecretStr | None = None
    """Key for the tokens the index routes issue; random per process when unset."""
    token_ttl: int = 3600
    verified_ttl: float = Field(default=VERIFIED_TTL, ge=0)
    """Seconds a verified user:password pair is not hashed again (0: hash every request)."""


class AuthenticationRequired(Unauthorized):
    def __init__(self, realm: str, message: str = "Requires authorization") -> None:
        super().__init__(message)
        self.challenge = f'Basic realm="{realm}"'


@dataclass(frozen=True, slots=True)
class Identity:
    user: str | None  # None: anonymous (auth off, or anonymous reads)
    repository: str | None = None
    """Index mode: the repository of the caller's token, which scopes its image writes."""


@dataclass(frozen=True, slots=True)
class AccessScope:
    """What one request asks for: the access its method needs, on what."""

    access: Access
    repository: str | None = None  # "ns/repo" on repository routes
    image_id: str | None = None  # on image routes (not validated yet)


class UsersFile:
    """``user:hash`` lines, reloaded when the file changes."""

    def __init__(self, path: Path, remember: float = VERIFIED_TTL) -> None:
        self.path = path
        self._mtime: float | None = None
        self._users: dict[str, str] = {}
        self._hasher = PasswordHasher()
        self._remember = remember
        self._key = secrets.token_bytes(32)
        self._verified: dict[bytes, float] = {}
        """keyed HMACs of recently verified ``user:password`` pairs → when they expire."""

    def _load(self) -> dict[str, str]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            log.warning("auth.users_file_missing", path=str(self.path))
            self._mtime, self._users = None, {}
            return self._users
        if mtime != self._mtime:
            users: dict[str, str] = {}
            for line in self.path.read_text().splitlines():
                line = line.strip()
                if line and not line.startswith("#") and ":" in line:
                    user, _, hashed = line.partition(":")
                    users[user] = hashed
            self._mtime, self._users = mtime, users
            self._verified = {}  # a changed file: every password is checked again
        return self._users

    def verify(self, user: str, password: str) -> bool:
        """Blocking (argon2 is slow on purpose): call from a thread.

        A pair verified less than ``remember`` seconds ago (and the file unchanged since) is
        not hashed again: a v2 push sends the same Basic credentials on every request, as
        many as a layer has chunks, and argon2 would make each of them cost as much as a login.
        """
        hashed = self._load().get(user)
        if hashed is None:
            return False
        key = hmac.new(self._key, f"{user}\0{password}".encode(), hashlib.sha256).digest()
        now = time.monotonic()
        if self._verified.get(key, 0.0) > now:
            return True
        try:
            ok = self._hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False
        if ok and self._remember > 0:
            if len(self._verified) >= MAX_VERIFIED:
                self._verified = {k: t for k, t in self._verified.items() if t > now}
            if len(self._verified) < MAX_VERIFIED:
                self._verified[key] = now + self._remember
        return ok


def add_user(path: Path, user: str, password: str) -> None:
    """Add or replace ``user`` in the users file (written atomically, mode 0600)."""
    if not _USER_RE.fullmatch(user):
        raise ValueError(f"invalid user name {user!r}: use 1-64 of [A-Za-z0-9._@-]")
    if not password:
        raise ValueError("empty password")
    lines = path.read_text().splitlines() if path.exists() else []
    kept = [line for line in lines if line.partition(":")[0].strip() != user]
    kept.append(f"{user}:{PasswordHasher().hash(password)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(kept) + "\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


class Authenticator:
    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self.users = UsersFile(settings.users_file, settings.verified_ttl) if settings.users_file else None
        secret = settings.token_secret.get_secret_value().encode() if settings.token_secret else None
        self._secret = secret or secrets.token_bytes(32)

    @property
    def enabled(self) -> bool:
        return self.users is not None

    async def authenticate(
        self, authorization: str | None, access: Access, repository: str | None = None
    ) -> Identity:
        """Who is asking, or :class:`AuthenticationRequired` / :class:`Forbidden`."""
        if self.users is None:
            return Identity(None)
        scheme, _, credentials = (authorization or "").partition(" ")
        if scheme.lower() == "basic":
            user, password = _basic(credentials)
            if user is not None and await asyncio.to_thread(self.users.verify, user, password):
                return Identity(user)
            raise AuthenticationRequired(self.settings.realm, "Wrong login/password, please try again")
        if scheme.lower() == "token":
            return self._check_token(credentials, access, repository)
        if access == "read" and self.settings.anonymous_read:
            return Identity(None)
        raise AuthenticationRequired(self.settings.realm)

    async def authorize(self, authorization: str | None, scope: AccessScope) -> Identity:
        """Standalone: credentials and tokens name repositories only; a valid one reaches every image."""
        return await self.authenticate(authorization, scope.access, scope.repository)

    async def check_password(self, user: str, password: str) -> bool:
        return self.users is not None and await asyncio.to_thread(self.users.verify, user, password)

    # ---- tokens -------------------------------------------------------------------------

    def _mac(self, repository: str, access: str, expiry: int, user: str) -> str:
        message = f"{repository}\n{access}\n{expiry}\n{user}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def issue_token(self, identity: Identity, repository: str, access: Access) -> str:
        """The ``X-Docker-Token`` value for ``repository`` (``signature=…,repository=…,access=…``)."""
        if self.users is None or identity.user is None:
            signature = secrets.token_hex(8)  # nothing to prove: DR's random signature
        else:
            expiry = int(time.time()) + self.settings.token_ttl
            signature = f"{expiry}.{identity.user}.{self._mac(repository, access, expiry, identity.user)}"
        return f'signature={signature},repository="{repository}",access={access}'

    def _check_token(self, credentials: str, access: Access, repository: str | None) -> Identity:
        fields = dict(_TOKEN_RE.findall(credentials))
        signature = fields.get("signature", "")
        token_repo, token_access = fields.get("repository", ""), fields.get("access", "")
        expiry_text, _, rest = signature.partition(".")
        user, _, mac = rest.rpartition(".")
        try:
            expiry = int(expiry_text)
        except ValueError:
            raise AuthenticationRequired(self.settings.realm, "Invalid token") from None
        expected = self._mac(token_repo, token_access, expiry, user)
        if not hmac.compare_digest(mac, expected) or expiry < time.time():
            raise AuthenticationRequired(self.settings.realm, "Invalid or expired token")
        granted = token_access == access or (token_access == "write" and access == "read")
        if not granted or (repository is not None and repository != token_repo):
            raise Forbidden(f"Token does not grant {access} access to {repository or 'this image'}")
        return Identity(user)


def _basic(credentials: str) -> tuple[str | None, str]:
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, ""
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else (None, "")
