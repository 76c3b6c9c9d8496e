"""Accounts: sign-up with e-mail activation, password checks with a rate limit, password
change and reset by mail, personal access tokens, web sessions, account deletion.

Every function takes the request's session first; nothing here commits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import AccessToken, EmailToken, LoginThrottle, Organization, Repository, User, WebSession
from ..settings import RateLimitSettings
from .errors import (
    AccountNotActive,
    AlreadyExists,
    InvalidName,
    NoSuchToken,
    NoSuchUser,
    TooManyAttempts,
    WrongCredentials,
)
from .mail import Mailer
from .names import check_email, check_password, check_username
from .passwords import Passwords

log = structlog.get_logger(__name__)

TOKEN_PREFIX = "wharf_pat_"
EXISTS = "Username or email already exists"  # the v1 answer engines look for (protocols.md A.10)
ACTIVATION_TTL = timedelta(days=3)
RESET_TTL = timedelta(hours=2)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewToken:
    token: AccessToken
    secret: str  # shown once


class AccountService:
    def __init__(
        self, db: Database, passwords: Passwords, mailer: Mailer, limit: RateLimitSettings, url: str
    ) -> None:
        self.db = db
        self.passwords = passwords
        self.mailer = mailer
        self.limit = limit
        self.url = url

    # ---- lookups ---------------------------------------------------------------------------

    def get(self, s: Session, username: str) -> User:
        user = s.scalar(select(User).where(User.username == username.lower()))
        if user is None:
            raise NoSuchUser(username)
        return user

    def find(self, s: Session, username: str) -> User | None:
        return s.scalar(select(User).where(User.username == username.lower()))

    def namespace_taken(self, s: Session, name: str) -> bool:
        return (
            s.scalar(select(func.count()).select_from(User).where(User.username == name))
            or s.scalar(select(func.count()).select_from(Organization).where(Organization.name == name))
        ) != 0

    def has_admin(self, s: Session) -> bool:
        return s.scalar(select(User.id).where(User.is_admin.is_(True)).limit(1)) is not None

    def email_taken(self, s: Session, email: str) -> bool:
        return s.scalar(select(User.id).where(User.email_key == email.strip().lower())) is not None

    # ---- sign-up and activation --------------------------------------------------------------

    def create_user(
        self,
        s: Session,
        username: str,
        email: str,
        password: str,
        *,
        active: bool = False,
        admin: bool = False,
    ) -> User:
        username = check_username(username)
        email = check_email(email)
        check_password(password, username)
        if self.namespace_taken(s, username) or self.email_taken(s, email):
            raise AlreadyExists(EXISTS)
        user = User(
            username=username,
            email=email,
            email_key=email.lower(),
            is_active=active,
            is_admin=admin,
            password_hash=self.passwords.hash(password),
        )
        s.add(user)
        s.flush()
        log.info("account.created", username=username, active=active, admin=admin)
        return user

    def signup(self, s: Session, username: str, email: str, password: str) -> User:
        """A new, inactive account and an activation mail."""
        if username != username.lower():
            raise InvalidName("Invalid username: use lowercase letters, digits or underscores")
        user = self.create_user(s, username, email, password)
        link = f"{self.url}/activate/{self._email_token(s, user, 'activate', ACTIVATION_TTL)}"
        self.mailer.send(
            user.email,
            "Activate your wharf hub account",
            f"Hello {user.username},\n\nconfirm your e-mail address to activate your "
            f"account:\n\n{link}\n\nThe link is valid for 3 days.\n",
        )
        return user

    def _email_token(self, s: Session, user: User, purpose: str, ttl: timedelta) -> str:
        secret = secrets.token_urlsafe(32)
        s.add(
            EmailToken(user_id=user.id, purpose=purpose, token_hash=digest(secret), expires_at=utcnow() + ttl)
        )
        return secret

    def _email_token_row(self, s: Session, secret: str, purpose: str) -> tuple[EmailToken, User]:
        row = s.scalar(
            select(EmailToken).where(EmailToken.token_hash == digest(secret), EmailToken.purpose == purpose)
        )
        if row is None or row.used_at is not None or row.expires_at < utcnow():
            raise InvalidName("This link is invalid or has expired")
        user = s.get(User, row.user_id)
        assert user is not None
        return row, user

    def activate(self, s: Session, secret: str) -> User:
        row, user = self._email_token_row(s, secret, "activate")
        row.used_at = utcnow()
        user.is_active = True
        log.info("account.activated", username=user.username)
        return user

    # ---- passwords ---------------------------------------------------------------------------

    def authenticate(self, s: Session, username: str, password: str, address: str | None = None) -> User:
        """The active user with that password; the same error for an unknown user and a wrong
        password; :class:`TooManyAttempts` after repeated failures for the account or address."""
        keys = [f"user:{username.lower()[:60]}"] + ([f"ip:{address}"] if address else [])
        self._check_throttle(s, keys)
        user = self.find(s, username)
        if user is not None and password.startswith(TOKEN_PREFIX):
            token = self._token_user(s, password)
            ok = token is not None and token.id == user.id
        else:
            ok = self.passwords.verify(user.password_hash if user else None, password)
        if not ok or user is None:
            self._fail(s, keys)
            raise WrongCredentials()
        if not user.is_active:
            raise AccountNotActive()
        s.execute(delete(LoginThrottle).where(LoginThrottle.key == keys[0]))
        return user

    def authenticate_basic(self, s: Session, header: str, address: str | None = None) -> User:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise WrongCredentials()
        try:
            username, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise WrongCredentials() from None
        if not sep:
            raise WrongCredentials()
        return self.authenticate(s, username, password, address)

    def _check_throttle(self, s: Session, keys: list[str]) -> None:
        window = timedelta(seconds=self.limit.window)
        now = utcnow()
        for row in s.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))):
            if row.window_start + window < now:
                continue
            if row.failures >= self.limit.max_failures:
                raise TooManyAttempts(int((row.window_start + window - now).total_seconds()) + 1)

    def _fail(self, _s: Session, keys: list[str]) -> None:
        """Counted in a transaction of its own: the request's rolls back with the error."""
        now = utcnow()
        with self.db.session() as s:
            self._count(s, keys, now)
        log.info("account.login_failed", keys=keys)

    def _count(self, s: Session, keys: list[str], now: datetime) -> None:
        for key in keys:
            row = s.get(LoginThrottle, key)
            if row is None:
                s.add(LoginThrottle(key=key, failures=1, window_start=now))
            elif row.window_start + timedelta(seconds=self.limit.window) < now:
                row.failures, row.window_start = 1, now
            else:
                row.failures += 1

    def change_password(self, s: Session, user: User, old: str, new: str) -> None:
        if not self.passwords.verify(user.password_hash, old):
            raise WrongCredentials()
        check_password(new, user.username)
        user.password_hash = self.passwords.hash(new)
        s.execute(delete(WebSession).where(WebSession.user_id == user.id))

    def request_reset(self, s: Session, email: str) -> None:
        """Mail a reset link; an unknown address gets the same (silent) answer."""
        user = s.scalar(select(User).where(User.email_key == email.strip().lower()))
        if user is None:
            log.info("account.reset_unknown_email")
            return
        link = f"{self.url}/reset/{self._email_token(s, user, 'reset', RESET_TTL)}"
        self.mailer.send(
            user.email,
            "Reset your wharf hub password",
            f"Hello {user.username},\n\nset a new password here:\n\n{link}\n\n"
            "The link is valid for 2 hours. Ignore this mail if you did not ask.\n",
        )

    def reset_password(self, s: Session, secret: str, new: str) -> User:
        row, user = self._email_token_row(s, secret, "reset")
        check_password(new, user.username)  # before the link is spent: the user may try again
        row.used_at = utcnow()
        user.password_hash = self.passwords.hash(new)
        user.is_active = True  # the mail proves the address
        s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        return user

    def delete_account(self, s: Session, user: User, password: str) -> None:
        if not self.passwords.verify(user.password_hash, password):
            raise WrongCredentials()
        s.execute(delete(Repository).where(Repository.namespace == user.username))
        s.delete(user)
        log.info("account.deleted", username=user.username)

    # ---- personal access tokens --------------------------------------------------------------

    def create_token(self, s: Session, user: User, name: str) -> NewToken:
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidName("A token needs a name of at most 100 characters")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(30)
        token = AccessToken(user_id=user.id, name=name, token_hash=digest(secret), prefix=secret[:14])
        s.add(token)
        s.flush()
        return NewToken(token, secret)

    def _token_user(self, s: Session, secret: str) -> User | None:
        token = s.scalar(select(AccessToken).where(AccessToken.token_hash == digest(secret)))
        if token is None:
            return None
        token.last_used_at = utcnow()
        return token.user

    def user_for_token(self, s: Session, secret: str) -> User:
        user = self._token_user(s, secret)
        if user is None:
            raise WrongCredentials()
        if not user.is_active:
            raise AccountNotActive()
        return user

    def tokens(self, s: Session, user: User) -> list[AccessToken]:
        return list(
            s.scalars(select(AccessToken).where(AccessToken.user_id == user.id).order_by(AccessToken.id))
        )

    def delete_token(self, s: Session, user: User, token_id: int) -> None:
        token = s.get(AccessToken, token_id)
        if token is None or token.user_id != user.id:
            raise NoSuchToken(token_id)
        s.delete(token)

    # ---- web sessions ------------------------------------------------------------------------

    def open_session(self, s: Session, user: User, ttl: int) -> str:
        secret = secrets.token_urlsafe(32)
        s.add(
            WebSession(
                user_id=user.id, token_hash=digest(secret), expires_at=utcnow() + timedelta(seconds=ttl)
            )
        )
        user.last_login_at = utcnow()
        return secret

    def session_user(self, s: Session, secret: str) -> User | None:
        row = s.scalar(select(WebSession).where(WebSession.token_hash == digest(secret)))
        if row is None or row.expires_at < utcnow():
            return None
        user = s.get(User, row.user_id)
        return user if user is not None and user.is_active else None

    def close_session(self, s: Session, secret: str) -> None:
        s.execute(delete(WebSession).where(WebSession.token_hash == digest(secret)))


__all__ = ["EXISTS", "TOKEN_PREFIX", "AccountService", "NewToken"]
