"""Repository tokens: signed by the hub, verified by the registry without calling back.

The hub answers ``X-Docker-Token: true`` with a token in the v1 index format
(protocols.md A.3)::

    signature=<payload>.<sig>,repository="alice/web",access=write

``<payload>`` is base64url JSON ``{"r": repository, "a": access, "u": user, "e": expiry,
"n": nonce}`` and ``<sig>`` the base64url Ed25519 signature over the payload text, so the
registry needs only the hub's *public* key. Neither part holds ``,``, ``"`` or ``=``, so
engines that split the header with DR's regex keep it whole. The outer ``repository`` and
``access`` are for clients that read them; the verifier trusts only the signed payload and
rejects a token whose outer fields disagree with it.

A token stays valid for repeated checks until it expires (DR validated one token on every
request). A token the hub may want to take back before then (a write or delete token, a read
token for a private repository) also carries ``"i"``, the index's URL: the registry then
confirms it there (``PUT <index>/v1/repositories/<repository>/auth``, DR's own check) every
few seconds while it is used, so a collaborator removed in the middle of the token's hour
stops writing at once, while a push that takes longer than the recheck interval goes on.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import Forbidden, Unauthorized

Access = Literal["read", "write", "delete"]
ACCESS_VALUES: tuple[Access, ...] = ("read", "write", "delete")
_FIELD_RE = re.compile(r"(\w+)[:=][\s\"]?([^\",]+)\"?")  # DR's toolkit._re_authorization


class InvalidToken(Unauthorized):
    """Malformed, forged or expired: the caller must ask the index for a new token."""


class TokenForbidden(Forbidden):
    """A genuine token that does not cover this repository or this kind of access."""


@dataclass(frozen=True, slots=True)
class RepositoryToken:
    repository: str  # "alice/web", "library/busybox"
    access: Access
    user: str  # "" for an anonymous reader
    expires: int  # unix seconds
    index: str | None = None
    """Where the registry confirms the token before it honours it (None: the signature suffices)."""

    def allows(self, access: Access, repository: str | None = None) -> bool:
        """Write covers read (a push checks what the registry has); delete stands alone."""
        if repository is not None and repository != self.repository:
            return False
        return self.access == access or (self.access == "write" and access == "read")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """The hub's half: issue tokens with its private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def issue(self, repository: str, access: Access, user: str, ttl: int, *, index: str | None = None) -> str:
        """The ``X-Docker-Token`` header value; with ``index``, registries confirm it there."""
        claims: dict[str, str | int] = {
            "r": repository,
            "a": access,
            "u": user,
            "e": int(time.time()) + ttl,
            "n": secrets.token_hex(8),
        }
        if index is not None:
            claims["i"] = index
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(self._key.sign(payload.encode()))
        return f'signature={payload}.{signature},repository="{repository}",access={access}'


class TokenVerifier:
    """The registry's half: check a token with the hub's public key."""

    def __init__(self, public_key: Ed25519PublicKey) -> None:
        self._key = public_key

    def verify(self, credentials: str, *, now: float | None = None) -> RepositoryToken:
        """``credentials`` is what follows ``Authorization: Token`` (or the bare header value)."""
        fields = dict(_FIELD_RE.findall(credentials))
        payload, dot, signature = fields.get("signature", "").partition(".")
        if not dot:
            raise InvalidToken("Invalid token")
        try:
            self._key.verify(_unb64(signature), payload.encode())
            claims = json.loads(_unb64(payload))
        except (InvalidSignature, binascii.Error, ValueError):
            raise InvalidToken("Invalid token") from None
        if not isinstance(claims, dict):
            raise InvalidToken("Invalid token")
        repository, access, user, expires = claims.get("r"), claims.get("a"), claims.get("u"), claims.get("e")
        index = claims.get("i")
        if not (
            isinstance(repository, str)
            and access in ACCESS_VALUES
            and isinstance(user, str)
            and isinstance(expires, int)
            and (index is None or isinstance(index, str))
        ):
            raise InvalidToken("Invalid token")
        if fields.get("repository", repository) != repository or fields.get("access", access) != access:
            raise InvalidToken("Invalid token: its fields do not match its signature")
        if expires < (time.time() if now is None else now):
            raise InvalidToken("Token expired")
        return RepositoryToken(repository, cast(Access, access), user, expires, index)


def load_or_create_private_key(path: Path) -> Ed25519PrivateKey:
    """The PEM key at ``path``; a new one (mode 0600, written atomically) when it is missing."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    tmp.replace(path)
    return key


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return key


__all__ = [
    "ACCESS_VALUES",
    "Access",
    "InvalidToken",
    "RepositoryToken",
    "TokenForbidden",
    "TokenSigner",
    "TokenVerifier",
    "load_or_create_private_key",
    "load_public_key",
    "public_key_pem",
]
