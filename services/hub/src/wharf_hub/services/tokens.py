"""Personal access tokens: scopes, expiry, and the caller a credential stands for.

A token is a password for machines, never the account: it is refused by the web login, and
what it may do is limited by its scopes wherever it is accepted (v1 index, ``docker login``,
the JSON API). Changing the password always needs the password; a password change or reset
revokes every token.

| scope    | allows                                                        |
|----------|---------------------------------------------------------------|
| read     | pull tokens, ``docker login``, reading through the API        |
| write    | push tokens, creating and changing through the API (+ read)   |
| delete   | deleting repositories and other things through the API        |
| admin    | the account itself: e-mail, listing, making and revoking tokens |
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..db.base import utcnow
from ..db.models import AccessToken, User
from .errors import AccessDenied, InvalidName, NoSuchToken

TOKEN_PREFIX = "wharf_pat_"
TOUCH_EVERY = timedelta(seconds=60)
"""A token's ``last_used_at`` is written at most this often."""


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    DELETE = "delete"
    ADMIN = "admin"


DEFAULT_SCOPES = (Scope.READ, Scope.WRITE, Scope.DELETE)


class ScopeDenied(AccessDenied):
    def __init__(self, scope: Scope) -> None:
        super().__init__(f"This access token does not have the {scope.value} scope")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(values: list[str] | tuple[str, ...] | str) -> frozenset[Scope]:
    """Scopes from a list (or a comma-separated string); ``write`` and ``delete`` bring ``read``."""
    items = values.split(",") if isinstance(values, str) else list(values)
    scopes: set[Scope] = set()
    for item in (i.strip().lower() for i in items):
        if not item:
            continue
        try:
            scopes.add(Scope(item))
        except ValueError:
            raise InvalidName(f"Unknown token scope: {item[:30]} (use read, write, delete, admin)") from None
    if not scopes:
        raise InvalidName("A token needs at least one scope (read, write, delete, admin)")
    if scopes & {Scope.WRITE, Scope.DELETE}:
        scopes.add(Scope.READ)
    return frozenset(scopes)


def scope_list(token: AccessToken) -> list[str]:
    found = parse_scopes(token.scopes)
    return [s.value for s in Scope if s in found]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking and with what: ``scopes`` is None after a password (everything)."""

    user: User
    scopes: frozenset[Scope] | None = None

    @property
    def by_token(self) -> bool:
        return self.scopes is not None

    def allows(self, scope: Scope) -> bool:
        return self.scopes is None or scope in self.scopes

    def require(self, scope: Scope) -> User:
        if not self.allows(scope):
            raise ScopeDenied(scope)
        return self.user


@dataclass(frozen=True, slots=True)
class NewToken:
    token: AccessToken
    secret: str  # shown once


class TokenStore:
    def __init__(self, max_days: int = 3650) -> None:
        self.max_days = max_days

    def create(
        self,
        s: Session,
        user: User,
        name: str,
        scopes: list[str] | tuple[str, ...] = DEFAULT_SCOPES,
        expires_in_days: int | None = None,
    ) -> NewToken:
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidName("A token needs a name of at most 100 characters")
        granted = parse_scopes(scopes)
        if expires_in_days is not None and not 1 <= expires_in_days <= self.max_days:
            raise InvalidName(f"A token expires after 1 to {self.max_days} days")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(30)
        token = AccessToken(
            user_id=user.id,
            name=name,
            token_hash=digest(secret),
            prefix=secret[:14],
            scopes=",".join(s.value for s in Scope if s in granted),
            expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        s.add(token)
        s.flush()
        return NewToken(token, secret)

    def find(self, s: Session, secret: str) -> AccessToken | None:
        """The live token with that secret (not expired), its last use noted; else None."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        token = s.scalar(select(AccessToken).where(AccessToken.token_hash == digest(secret)))
        return token if token is not None and self.live(token) else None

    @staticmethod
    def live(token: AccessToken) -> bool:
        """Not expired; its last use noted (at most once a minute: not a write per request)."""
        now = utcnow()
        if token.expires_at is not None and token.expires_at <= now:
            return False
        if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
            token.last_used_at = now
        return True

    def caller(self, token: AccessToken) -> Caller:
        return Caller(token.user, parse_scopes(token.scopes))

    def of(self, s: Session, user: User) -> list[AccessToken]:
        return list(
            s.scalars(select(AccessToken).where(AccessToken.user_id == user.id).order_by(AccessToken.id))
        )

    def delete(self, s: Session, user: User, token_id: int) -> None:
        token = s.get(AccessToken, token_id)
        if token is None or token.user_id != user.id:
            raise NoSuchToken(token_id)
        s.delete(token)

    def revoke_all(self, s: Session, user: User) -> None:
        s.execute(delete(AccessToken).where(AccessToken.user_id == user.id))
        s.expire(user, ["tokens"])


__all__ = [
    "DEFAULT_SCOPES",
    "TOKEN_PREFIX",
    "Caller",
    "NewToken",
    "Scope",
    "ScopeDenied",
    "TokenStore",
    "digest",
    "parse_scopes",
    "scope_list",
]
