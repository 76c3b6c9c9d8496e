"""Accounts: sign-up with e-mail activation, password checks with a rate limit, password
change and reset by mail, personal access tokens, web sessions, account deletion.

Every function takes the request's session first; nothing here commits.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import delete, func, literal, select
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import (
    AccessToken,
    EmailToken,
    NameTombstone,
    Organization,
    Repository,
    User,
    WebSession,
)
from ..db.models import (
    LoginThrottle as ThrottleRow,
)
from ..settings import MailLimitSettings, RateLimitSettings
from .errors import (
    AccessDenied,
    AccountNotActive,
    AlreadyExists,
    InvalidName,
    NoSuchUser,
    WrongCredentials,
)
from .hotpath import basic_credentials
from .jobs import enqueue
from .mail import Mailer
from .names import RESERVED_NAMES, check_email, check_password, check_username
from .passwords import Passwords
from .registry import RegistryReader
from .throttle import LoginThrottle, MailLimiter, TooManyMails
from .tokens import DEFAULT_SCOPES, TOKEN_PREFIX, Caller, NewToken, Scope, TokenStore, digest

log = structlog.get_logger(__name__)

EXISTS = "Username or email already exists"  # the v1 answer engines look for (protocols.md A.10)
ACTIVATION_TTL = timedelta(days=3)
RESET_TTL = timedelta(hours=2)
INITIAL_ADMIN = "initial-admin.json"
"""Where ``wharf-hub bootstrap`` keeps the first admin's password (in the data root)."""
PURGE = "account.purge"
"""Job: remove a deleted account's repositories from the registry, then free its name."""


class AccountService:
    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        mailer: Mailer,
        limit: RateLimitSettings,
        url: str,
        *,
        mail_limit: MailLimitSettings | None = None,
        reader: RegistryReader | None = None,
        initial_admin: Path | None = None,
        token_max_days: int = 3650,
    ) -> None:
        self.db = db
        self.passwords = passwords
        self.mailer = mailer
        self.throttle = LoginThrottle(db, limit)
        self.mail_limit = MailLimiter(mail_limit or MailLimitSettings())
        self.tokens_store = TokenStore(token_max_days)
        self.reader = reader
        self.initial_admin = initial_admin
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
        """A user or an organisation has this name (see :func:`name_unavailable` for new names)."""
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
        allow_reserved: bool = False,
    ) -> User:
        username = check_username(username, allow_reserved=allow_reserved)
        email = check_email(email)
        check_password(password, username)
        if name_unavailable(s, username, allow_reserved=allow_reserved) or self.email_taken(s, email):
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

    def signup(
        self, s: Session, username: str, email: str, password: str, address: str | None = None
    ) -> User:
        """A new, inactive account and an activation mail (at most so many per source and address)."""
        if username != username.lower():
            raise InvalidName("Invalid username: use lowercase letters, digits or underscores")
        user = self.create_user(s, username, email, password)
        if not self.mail_limit.take(s, user.email, address):
            raise TooManyMails(3600)
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
            EmailToken(
                user_id=user.id,
                purpose=purpose,
                token_hash=digest(secret),
                expires_at=utcnow() + ttl,
                fingerprint=digest(user.password_hash),
            )
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
        if purpose == "reset" and row.fingerprint != digest(user.password_hash):
            raise InvalidName("This link is invalid or has expired")  # the password changed since
        return row, user

    def check_activation(self, s: Session, secret: str) -> User:
        """The account an activation link is for, without using the link (the page to confirm)."""
        return self._email_token_row(s, secret, "activate")[1]

    def activate(self, s: Session, secret: str) -> User:
        row, user = self._email_token_row(s, secret, "activate")
        row.used_at = utcnow()
        user.is_active = True
        log.info("account.activated", username=user.username)
        return user

    # ---- passwords ---------------------------------------------------------------------------

    def login(
        self, s: Session, username: str, password: str, address: str | None = None, *, tokens: bool
    ) -> Caller:
        """The active user and what the credential allows. With ``tokens``, a valid access
        token of that user is accepted whatever the throttle says (it cannot be guessed);
        passwords are throttled per (account, address). The same error for an unknown user
        and a wrong password. The account, its throttle row and the token are read together."""
        presented = tokens and password.startswith(TOKEN_PREFIX)
        user, failures, token = login_rows(
            s, username, self.throttle.key(username, address), password, presented
        )
        if token is not None and user is not None and self.tokens_store.live(token):
            if not user.is_active:
                raise AccountNotActive()
            return self.tokens_store.caller(token)
        if failures is not None:
            self.throttle.refuse_while_blocked(failures.blocked_until)
        if not self.passwords.verify(user.password_hash if user else None, password) or user is None:
            self.throttle.fail(username, address)
            raise WrongCredentials()
        if not user.is_active:
            raise AccountNotActive()
        self.throttle.clear(s, failures)
        return Caller(user)

    def authenticate(self, s: Session, username: str, password: str, address: str | None = None) -> User:
        """A person signing in (the web login): the password only, never an access token."""
        user = self.login(s, username, password, address, tokens=False).user
        self._forget_initial_password(user)
        return user

    def authenticate_basic(self, s: Session, header: str, address: str | None = None) -> Caller:
        """``Authorization: Basic`` with a password or an access token."""
        username, password = basic_credentials(header)
        return self.login(s, username, password, address, tokens=True)

    def _forget_initial_password(self, user: User) -> None:
        """``initial-admin.json`` (from ``wharf-hub bootstrap``) goes once its admin has signed
        in or changed the password: the password in it is no longer needed on disk."""
        path = self.initial_admin
        if path is None or not user.is_admin or not path.exists():
            return
        try:
            record: Any = json.loads(path.read_text())
        except (OSError, ValueError):
            record = None
        if isinstance(record, dict) and record.get("username") == user.username:
            path.unlink(missing_ok=True)
            log.info("account.initial_password_removed", path=str(path))

    def set_password(self, s: Session, user: User, new: str) -> None:
        """A new password: every browser signed out, every access token revoked, every
        reset link dead (they are bound to the old hash)."""
        check_password(new, user.username)
        user.password_hash = self.passwords.hash(new)
        s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        self.tokens_store.revoke_all(s, user)
        self._forget_initial_password(user)
        log.info("account.password_changed", username=user.username)

    def change_password(self, s: Session, user: User, old: str, new: str) -> None:
        if not self.passwords.verify(user.password_hash, old):
            raise WrongCredentials()
        self.set_password(s, user, new)

    def change_email(self, s: Session, user: User, email: str) -> None:
        email = check_email(email)
        if email.lower() != user.email_key and self.email_taken(s, email):
            raise AlreadyExists(EXISTS)
        user.email, user.email_key = email, email.lower()

    def update_v1(self, s: Session, caller: Caller, email: str, password: str) -> None:
        """``PUT /v1/users/<name>/``: a token never changes the password (that needs the
        password itself), and changes the e-mail only with the ``admin`` scope."""
        if password and caller.by_token:
            raise AccessDenied("Changing the password needs the password, not an access token")
        if email:
            self.change_email(s, caller.require(Scope.ADMIN), email)
        if password:
            self.set_password(s, caller.user, password)

    def request_reset(self, s: Session, email: str, address: str | None = None) -> None:
        """Mail a reset link; an unknown address, or one that got enough mails, gets the same
        (silent) answer; a source that asked for too many gets :class:`TooManyMails`."""
        user = s.scalar(select(User).where(User.email_key == email.strip().lower()))
        if user is None:
            log.info("account.reset_unknown_email")
            return
        if not self.mail_limit.take(s, user.email, address):
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
        user.is_active = True  # the mail proves the address
        self.set_password(s, user, new)
        return user

    # ---- deletion --------------------------------------------------------------------------

    def delete_account(self, s: Session, user: User, password: str) -> None:
        """The account and its repositories go now; their registry content goes in a job, and
        the name stays taken (a tombstone) until that job has finished."""
        if not self.passwords.verify(user.password_hash, password):
            raise WrongCredentials()
        remotes = list(s.scalars(select(Repository.name).where(Repository.namespace == user.username)))
        s.execute(delete(Repository).where(Repository.namespace == user.username))
        s.add(NameTombstone(name=user.username))
        enqueue(s, PURGE, {"name": user.username, "repositories": [f"{user.username}/{r}" for r in remotes]})
        s.delete(user)
        log.info("account.deleted", username=user.username, repositories=len(remotes))

    def purge(self, s: Session, payload: dict[str, Any]) -> None:
        """The :data:`PURGE` job: delete each repository from the registry (a failure is retried
        by the queue, and the name stays taken), then free the name."""
        name = str(payload["name"])
        for remote in payload.get("repositories", []):
            namespace, _, repo = str(remote).partition("/")
            if namespace != name:
                continue
            if s.scalar(
                select(Repository.id).where(Repository.namespace == namespace, Repository.name == repo)
            ):
                continue  # an administrator made it again meanwhile: not ours to remove
            if self.reader is None:
                raise RuntimeError("no registry to delete from")
            self.reader.delete(str(remote))
        s.execute(delete(NameTombstone).where(NameTombstone.name == name))
        log.info("account.purged", name=name)

    # ---- personal access tokens --------------------------------------------------------------

    def create_token(
        self,
        s: Session,
        user: User,
        name: str,
        scopes: list[str] | tuple[str, ...] = DEFAULT_SCOPES,
        expires_in_days: int | None = None,
    ) -> NewToken:
        return self.tokens_store.create(s, user, name, scopes, expires_in_days)

    def caller_for_token(self, s: Session, secret: str) -> Caller:
        token = self.tokens_store.find(s, secret)
        if token is None:
            raise WrongCredentials()
        if not token.user.is_active:
            raise AccountNotActive()
        return self.tokens_store.caller(token)

    def user_for_token(self, s: Session, secret: str) -> User:
        return self.caller_for_token(s, secret).user

    def tokens(self, s: Session, user: User) -> list[AccessToken]:
        return self.tokens_store.of(s, user)

    def delete_token(self, s: Session, user: User, token_id: int) -> None:
        self.tokens_store.delete(s, user, token_id)

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


def login_rows(
    s: Session, username: str, throttle_key: str, secret: str, token: bool
) -> tuple[User | None, ThrottleRow | None, AccessToken | None]:
    """The account called ``username``, its throttle row at ``throttle_key`` and (with ``token``)
    its access token whose secret is ``secret``: one statement, each None when missing."""
    anchor = select(literal(1).label("one")).subquery("anchor")
    token_hash = digest(secret) if token else ""  # never a stored hash
    found = s.execute(
        select(User, ThrottleRow, AccessToken)
        .select_from(anchor)
        .outerjoin(User, User.username == username.lower())
        .outerjoin(ThrottleRow, ThrottleRow.key == throttle_key)
        .outerjoin(AccessToken, (AccessToken.token_hash == token_hash) & (AccessToken.user_id == User.id))
    ).one()
    return found[0], found[1], found[2]


def name_unavailable(s: Session, name: str, *, allow_reserved: bool = False) -> bool:
    """Whether a new user or organisation may not be called ``name``: a user or organisation
    has it, it is reserved, or it was a deleted account's whose registry content is not gone."""
    name = name.lower()
    if name in RESERVED_NAMES and not allow_reserved:
        return True
    return any(
        s.scalar(select(func.count()).select_from(model).where(column == name))
        for model, column in (
            (User, User.username),
            (Organization, Organization.name),
            (NameTombstone, NameTombstone.name),
        )
    )


__all__ = [
    "EXISTS",
    "INITIAL_ADMIN",
    "PURGE",
    "TOKEN_PREFIX",
    "AccountService",
    "NewToken",
    "name_unavailable",
]
