"""Bearer tokens of Docker's token authentication: short-lived JWTs the hub signs (ES256) and
registries verify offline.

A client refused by a registry (``WWW-Authenticate: Bearer realm=…,service=…,scope=…``) asks
the realm for a token with the scopes it needs::

    GET <hub>/v2/token?service=registry.example&scope=repository:alice/web:pull,push

The answer holds a JWT whose claims say who it is for and what it grants::

    header  {"alg": "ES256", "typ": "JWT", "kid": "ABCD:EFGH:…"}
    claims  {"iss": "wharf-hub", "sub": "alice", "aud": "registry.example",
             "exp": …, "nbf": …, "iat": …, "jti": "…",
             "access": [{"type": "repository", "name": "alice/web", "actions": ["pull", "push"]}]}

``kid`` is the libtrust key id of the signing key (base32 of the first 240 bits of the SHA-256
of its DER SubjectPublicKeyInfo, in groups of four joined by ``:``), which is how Go registries
(``auth.token.rootcertbundle``) find the key among their certificates' keys. The hub writes a
self-signed certificate for its key beside it for exactly that use.

Only ES256 is accepted (never ``none``, never an HMAC keyed with a public key), the key must be
one of the verifier's, and issuer, audience, expiry and not-before are always checked.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .errors import InvalidArgument
from .tokens import InvalidToken, TokenForbidden

if TYPE_CHECKING:
    from jwt.types import Options

ALGORITHM = "ES256"
REPOSITORY = "repository"
REGISTRY = "registry"
CATALOG = "catalog"
REPOSITORY_ACTIONS = ("pull", "push", "delete")
MAX_SCOPE_LENGTH = 512
MAX_SCOPES = 16
LEEWAY = 30
"""Seconds of clock skew allowed between the hub and a registry (``exp``, ``nbf``, ``iat``)."""


class InvalidScope(InvalidArgument):
    """A ``scope`` parameter that is not ``type:name:action[,action…]``."""


class InsufficientScope(TokenForbidden):
    """A genuine token that does not grant this action on this resource."""

    def __init__(self, scope: ResourceScope) -> None:
        super().__init__(f"Token does not grant {','.join(scope.actions)} on {scope.type} {scope.name}")
        self.scope = scope


@dataclass(frozen=True, slots=True)
class ResourceScope:
    """One ``type:name:actions`` item: what a client asks for, or what a token grants."""

    type: str  # "repository", "registry"
    name: str  # "alice/web", "catalog"
    actions: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"

    def claim(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


def parse_scope(text: str) -> ResourceScope:
    """``repository:alice/web:pull,push`` → ResourceScope. The name may hold ``:`` (a registry
    host with a port), so the type ends at the first colon and the actions start after the last."""
    if len(text) > MAX_SCOPE_LENGTH:
        raise InvalidScope(f"Scope too long: {text[:60]}…")
    kind, _, rest = text.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name or not kind.replace("(", "").replace(")", "").isalnum():
        raise InvalidScope(f"Invalid scope: {text[:80]} (expected type:name:action[,action])")
    wanted = tuple(dict.fromkeys(a.strip() for a in actions.split(",") if a.strip()))
    if any(not (a == "*" or a.isalpha()) for a in wanted):
        raise InvalidScope(f"Invalid scope actions: {actions[:80]}")
    return ResourceScope(kind, name, wanted)


def parse_scopes(values: Iterable[str]) -> list[ResourceScope]:
    """Every scope of repeated ``scope`` parameters, each possibly a space-separated list (OAuth2)."""
    scopes = [parse_scope(item) for value in values for item in value.split()]
    if len(scopes) > MAX_SCOPES:
        raise InvalidScope(f"Too many scopes: at most {MAX_SCOPES} in one request")
    return scopes


def key_id(key: ec.EllipticCurvePublicKey) -> str:
    """The libtrust key id: ``ABCD:EFGH:…`` (12 groups) from the DER SubjectPublicKeyInfo."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    text = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(text[i : i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int
    issued_at: int

    def response(self) -> dict[str, Any]:
        """The token endpoint's JSON (``token`` and its OAuth2 name ``access_token``)."""
        issued = dt.datetime.fromtimestamp(self.issued_at, dt.UTC).isoformat().replace("+00:00", "Z")
        return {
            "token": self.token,
            "access_token": self.token,
            "expires_in": self.expires_in,
            "issued_at": issued,
        }


class BearerSigner:
    """The hub's half: sign tokens with its EC P-256 key."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, issuer: str) -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("ES256 needs an EC P-256 key")
        self._key = key
        self.issuer = issuer
        self.key_id = key_id(key.public_key())

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def issue(
        self,
        subject: str,
        audience: str,
        access: Sequence[ResourceScope],
        ttl: int,
        *,
        now: float | None = None,
    ) -> IssuedToken:
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "exp": issued + ttl,
            "nbf": issued,
            "iat": issued,
            "jti": secrets.token_urlsafe(16),
            "access": [scope.claim() for scope in access],
        }
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.key_id})
        return IssuedToken(token, ttl, issued)


@dataclass(frozen=True, slots=True)
class BearerToken:
    """A verified token: who it is for (``subject`` "" when anonymous) and what it grants."""

    subject: str
    audience: str
    access: tuple[ResourceScope, ...]
    expires: int
    token_id: str

    def actions(self, kind: str, name: str) -> frozenset[str]:
        return frozenset(a for s in self.access if (s.type, s.name) == (kind, name) for a in s.actions)

    def allows(self, kind: str, name: str, action: str) -> bool:
        return action in self.actions(kind, name)

    def require(self, scope: ResourceScope) -> None:
        """:class:`InsufficientScope` unless every action of ``scope`` is granted."""
        granted = self.actions(scope.type, scope.name)
        if not set(scope.actions) <= granted:
            raise InsufficientScope(scope)


def _access(value: Any) -> tuple[ResourceScope, ...]:
    if not isinstance(value, list):
        raise InvalidToken("Invalid token: no access claim")
    found = []
    for item in value:
        if not isinstance(item, dict):
            raise InvalidToken("Invalid token: malformed access claim")
        kind, name, actions = item.get("type"), item.get("name"), item.get("actions")
        if not (isinstance(kind, str) and isinstance(name, str) and isinstance(actions, list)):
            raise InvalidToken("Invalid token: malformed access claim")
        if not all(isinstance(a, str) for a in actions):
            raise InvalidToken("Invalid token: malformed access claim")
        found.append(ResourceScope(kind, name, tuple(actions)))
    return tuple(found)


class BearerVerifier:
    """The registry's half: check a token with the hub's public key(s) alone."""

    def __init__(
        self,
        keys: Iterable[ec.EllipticCurvePublicKey],
        issuer: str,
        audience: str | None = None,
        leeway: int = LEEWAY,
    ) -> None:
        self._keys = {key_id(k): k for k in keys}
        if not self._keys:
            raise ValueError("a bearer verifier needs at least one public key")
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    def verify(self, token: str, *, audience: str | None = None, now: float | None = None) -> BearerToken:
        """``InvalidToken`` for anything but a genuine, current token of our issuer for
        ``audience`` (default the verifier's; None: any audience, for the hub's own use)."""
        audience = audience or self.audience
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise InvalidToken("Invalid token: not a JWT") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"Invalid token: algorithm {str(header.get('alg'))[:20]} is not accepted")
        key = self._keys.get(str(header.get("kid")))
        if key is None:
            raise InvalidToken("Invalid token: signed by an unknown key")
        # times are checked below against ``now``; PyJWT checks the signature, issuer, audience
        options: Options = {
            "require": ["exp", "nbf", "iat", "iss", "aud", "sub"],
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
            "verify_aud": audience is not None,
        }
        try:
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], audience=audience, issuer=self.issuer, options=options
            )
        except jwt.InvalidAudienceError:
            raise InvalidToken("Invalid token: it is for another service") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("Invalid token: another issuer") from None
        except jwt.InvalidTokenError:
            raise InvalidToken("Invalid token") from None
        _check_times(claims, time.time() if now is None else now, self.leeway)
        aud = claims["aud"]
        return BearerToken(
            subject=str(claims["sub"]),
            audience=aud if isinstance(aud, str) else ",".join(map(str, aud)),
            access=_access(claims.get("access")),
            expires=int(claims["exp"]),
            token_id=str(claims.get("jti", "")),
        )


def _check_times(claims: dict[str, Any], now: float, leeway: int) -> None:
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if type(exp) is not int or type(nbf) is not int:
        raise InvalidToken("Invalid token")
    if exp + leeway <= now:
        raise InvalidToken("Token expired")
    if nbf - leeway > now:
        raise InvalidToken("Invalid token: not valid yet")


# ---- keys and certificates ------------------------------------------------------------------


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    tmp.chmod(mode)  # whatever the umask
    tmp.replace(path)


def load_or_create_signing_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The EC P-256 PEM key at ``path``; a new one (mode 0600, written atomically) when missing."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError(f"{path}: not an EC P-256 private key")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(path, pem, 0o600)
    return key


def self_signed_certificate(key: ec.EllipticCurvePrivateKey, common_name: str, days: int = 3650) -> bytes:
    """A PEM certificate of ``key`` signed by itself: what Go registries take as a root bundle."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "wharf-hub")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def write_certificate(key: ec.EllipticCurvePrivateKey, path: Path, common_name: str) -> None:
    """Keep a certificate of ``key`` at ``path`` (0644: it is public); made again only when the
    one there is of another key."""
    if path.exists():
        try:
            found = x509.load_pem_x509_certificate(path.read_bytes()).public_key()
        except ValueError:
            found = None
        if isinstance(found, ec.EllipticCurvePublicKey) and key_id(found) == key_id(key.public_key()):
            return
    _write(path, self_signed_certificate(key, common_name), 0o644)


def load_verification_keys(path: Path) -> list[ec.EllipticCurvePublicKey]:
    """The EC public keys in a PEM file of certificates (a root bundle) or of public keys."""
    data = path.read_bytes()
    keys: list[Any] = []
    if b"CERTIFICATE" in data:
        keys = [cert.public_key() for cert in x509.load_pem_x509_certificates(data)]
    else:
        keys = [serialization.load_pem_public_key(data)]
    found = [
        k for k in keys if isinstance(k, ec.EllipticCurvePublicKey) and isinstance(k.curve, ec.SECP256R1)
    ]
    if not found:
        raise ValueError(f"{path}: no EC P-256 public key or certificate")
    return found


__all__ = [
    "ALGORITHM",
    "CATALOG",
    "REGISTRY",
    "REPOSITORY",
    "REPOSITORY_ACTIONS",
    "BearerSigner",
    "BearerToken",
    "BearerVerifier",
    "InsufficientScope",
    "InvalidScope",
    "IssuedToken",
    "ResourceScope",
    "key_id",
    "load_or_create_signing_key",
    "load_verification_keys",
    "parse_scope",
    "parse_scopes",
    "self_signed_certificate",
    "write_certificate",
]
