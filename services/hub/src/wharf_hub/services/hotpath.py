"""The index's busiest requests, each with one read: who is asking and what they may do.

A pull's token request (``GET /v1/repositories/<name>/images``), ``docker login``'s check
(``GET /v1/users/``) and a signed-in search need the caller's account, its login-throttle row,
the access token it presented, the repository, the caller's membership of an organisation of
that name and whether it collaborates on the repository. One LEFT JOINed SELECT (SQLAlchemy
Core, built once; its compiled form is cached by SQLAlchemy; rows, not ORM objects) reads them
all. The password is checked against the hash read in that same statement: :class:`Passwords`
remembers a good password only under the hash it was checked against, so a password change
or reset, made by any process, is seen by the next request. An access token is found by the
SHA-256 of the presented secret in the same statement, so a revoked (deleted) or expired one
fails at once. The rules are the ones of :func:`~.access.role_of` and :meth:`AccountService.login`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, literal, select, update

from ..db.base import utcnow
from ..db.models import (
    AccessToken,
    Collaborator,
    LoginThrottle,
    Organization,
    OrganizationMember,
    Repository,
    RepositoryImage,
    User,
)
from .access import Role, role_of
from .accesscache import AccessCache
from .errors import AccountNotActive, WrongCredentials
from .loopreads import LoopReader, LoopReadFailed, Prepared
from .passwords import Passwords
from .throttle import LoginThrottle as Throttle
from .tokens import TOKEN_PREFIX, TOUCH_EVERY, Scope, ScopeDenied, digest, parse_scopes

_users, _throttle, _tokens = User.__table__, LoginThrottle.__table__, AccessToken.__table__
_repos, _orgs = Repository.__table__, Organization.__table__
_members, _collaborators = OrganizationMember.__table__, Collaborator.__table__
_images = RepositoryImage.__table__
_anchor = select(literal(1).label("one")).subquery("anchor")  # one row, whatever matches

_COLUMNS = (
    _users.c.id.label("user_id"),
    _users.c.username,
    _users.c.password_hash,
    _users.c.is_active,
    _users.c.is_admin,
    _throttle.c.key.label("throttle_key"),
    _throttle.c.blocked_until,
    _tokens.c.id.label("token_id"),
    _tokens.c.scopes,
    _tokens.c.expires_at,
    _tokens.c.last_used_at,
    _repos.c.id.label("repo_id"),
    _repos.c.is_private,
    _members.c.is_owner,
    _collaborators.c.id.label("collaborator_id"),
)
_JOINED = (
    _anchor.outerjoin(_users, _users.c.username == bindparam("username"))
    .outerjoin(_throttle, _throttle.c.key == bindparam("throttle_key"))
    .outerjoin(
        _tokens, and_(_tokens.c.token_hash == bindparam("token_hash"), _tokens.c.user_id == _users.c.id)
    )
    .outerjoin(_repos, and_(_repos.c.namespace == bindparam("namespace"), _repos.c.name == bindparam("name")))
    .outerjoin(_orgs, _orgs.c.name == bindparam("org"))
    .outerjoin(_members, and_(_members.c.organization_id == _orgs.c.id, _members.c.user_id == _users.c.id))
    .outerjoin(
        _collaborators,
        and_(_collaborators.c.repository_id == _repos.c.id, _collaborators.c.user_id == _users.c.id),
    )
)
STATEMENT = select(*_COLUMNS).select_from(_JOINED)
PULL_STATEMENT = (  # STATEMENT and the repository's image list: one row per image (at least one)
    select(*_COLUMNS, _images.c.image_id, _images.c.checksum)
    .select_from(_JOINED.outerjoin(_images, _images.c.repository_id == _repos.c.id))
    .order_by(_images.c.id)
)
_NO_SYNC = {"synchronize_session": False}  # no ORM objects of these rows are loaded
_TOUCH = (
    update(AccessToken)
    .where(AccessToken.id == bindparam("token_id"))
    .values(last_used_at=bindparam("now"))
    .execution_options(**_NO_SYNC)
)
_CLEAR = (
    delete(LoginThrottle).where(LoginThrottle.key == bindparam("throttle_key")).execution_options(**_NO_SYNC)
)


@dataclass(frozen=True, slots=True)
class Account:
    """A caller whose credentials were checked; ``scopes`` is None after a password (everything)."""

    id: int
    username: str
    is_admin: bool
    scopes: frozenset[Scope] | None = None

    def allows(self, scope: Scope) -> bool:
        return self.scopes is None or scope in self.scopes

    def require(self, scope: Scope) -> Account:
        if not self.allows(scope):
            raise ScopeDenied(scope)
        return self


@dataclass(frozen=True, slots=True)
class RepositoryAccess:
    id: int
    namespace: str
    name: str
    is_private: bool
    role: Role

    @property
    def remote(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class CallerAccess:
    account: Account | None
    repository: RepositoryAccess | None  # None: no such repository


def basic_credentials(header: str) -> tuple[str, str]:
    """(username, password) of an ``Authorization: Basic`` value; :class:`WrongCredentials` if
    it is not one."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise WrongCredentials()
    try:
        username, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise WrongCredentials() from None
    if not sep:
        raise WrongCredentials()
    return username, password


def _asked(
    header: str | None, address: str | None, namespace: str, name: str
) -> tuple[str | None, str | None, dict[str, str]] | None:
    """(username, password, the statement's parameters); None: anonymous and no repository."""
    username = password = None
    if header and header[:6].lower() == "basic ":
        username, password = basic_credentials(header)
    elif not namespace:
        return None
    params = {
        "username": (username or "").lower(),
        "throttle_key": Throttle.key(username, address) if username is not None else "",
        "token_hash": digest(password) if password and password.startswith(TOKEN_PREFIX) else "",
        "namespace": namespace,
        "name": name,
        "org": namespace,
    }
    return username, password, params


def _caller(row: Any, account: Account | None, namespace: str, name: str) -> CallerAccess:
    if row.repo_id is None:
        return CallerAccess(account, None)
    role = role_of(
        namespace,
        bool(row.is_private),
        username=account.username if account else None,
        is_admin=account.is_admin if account else False,
        member_is_owner=None if row.is_owner is None else bool(row.is_owner),
        collaborator=row.collaborator_id is not None,
    )
    return CallerAccess(account, RepositoryAccess(row.repo_id, namespace, name, bool(row.is_private), role))


class HotPath:
    def __init__(self, passwords: Passwords, throttle: Throttle, cache: AccessCache | None = None) -> None:
        self.passwords = passwords
        self.throttle = throttle
        self.cache = cache  # the rows of PULL_STATEMENT, kept while nothing they come from changes
        self._prepared: tuple[LoopReader, Prepared] | None = None  # PULL_STATEMENT on the loop

    def access(
        self, s: Connection, header: str | None, address: str | None, namespace: str = "", name: str = ""
    ) -> CallerAccess:
        """The caller of ``header`` (``Authorization``; None or not Basic: anonymous) and its role on
        ``namespace/name``. Wrong credentials raise as :meth:`AccountService.login` does."""
        asked = _asked(header, address, namespace, name)
        if asked is None:
            return CallerAccess(None, None)  # anonymous, and no repository asked about
        username, password, params = asked
        row = s.execute(STATEMENT, params).one()
        account = None
        if username is not None and password is not None:
            account = self._check(s, row, username, password, address)  # never None with ``s``
        return _caller(row, account, namespace, name)

    async def pull_on_loop(
        self, reads: LoopReader, header: str | None, address: str | None, namespace: str, name: str
    ) -> tuple[CallerAccess, list[dict[str, str]]] | None:
        """:meth:`access` and the repository's image list, in one read on the event loop
        (:mod:`.loopreads`), when it can be decided without a write or an argon2 check:
        anonymous, an access token whose ``last_used_at`` is fresh, or a password remembered
        under the stored hash just read with no throttle row to clear. None otherwise, or when
        the read cannot be made here: call :meth:`access` from the thread pool. Refusals (a
        blocked address, a disabled account, malformed credentials) raise as there. The rows
        come from :attr:`cache` while nothing they were read from has changed."""
        if self._prepared is None or self._prepared[0] is not reads:
            self._prepared = (reads, reads.prepare(PULL_STATEMENT))
        username, password, params = _asked(header, address, namespace, name) or (None, None, {})
        key = tuple(params.values())
        generation = self.cache.snapshot() if self.cache is not None else None
        rows = self.cache.get(generation, key) if self.cache is not None and generation is not None else None
        if rows is None:
            try:
                rows = await reads.fetch(self._prepared[1], params)
            except LoopReadFailed:
                return None
            if self.cache is not None and generation is not None:
                self.cache.put(generation, key, rows)
        row, account = rows[0], None
        if username is not None and password is not None:
            account = self._decide(row, password)
            if account is None:
                return None
        images = [{"id": r.image_id, "checksum": r.checksum} for r in rows if r.image_id is not None]
        return _caller(row, account, namespace, name), images

    def _decide(self, row: Any, password: str) -> Account | None:
        """:meth:`_check` on the event loop: None wherever a write or an argon2 check is needed."""
        return self._check(None, row, "", password, None)

    def _check(
        self, s: Connection | None, row: Any, username: str, password: str, address: str | None
    ) -> Account | None:
        """The caller's account from ``row``: an access token first, then the password. With ``s``
        None (on the event loop) nothing is written and argon2 is not run: None wherever either
        would be needed, so that the caller asks again from the thread pool with a connection."""
        now = utcnow()
        if row.token_id is not None and (row.expires_at is None or row.expires_at > now):
            if not row.is_active:
                raise AccountNotActive()
            if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
                if s is None:
                    return None  # the touch is a write
                s.execute(_TOUCH, {"token_id": row.token_id, "now": now})
            return Account(row.user_id, row.username, bool(row.is_admin), parse_scopes(row.scopes))
        self.throttle.refuse_while_blocked(row.blocked_until)
        known = row.user_id is not None
        if s is None:
            if not known or not self.passwords.remembered(row.password_hash, password):
                return None  # argon2, and a failure is counted: a write
        elif not self.passwords.verify(row.password_hash if known else None, password) or not known:
            self.throttle.fail(username, address)
            raise WrongCredentials()
        if not row.is_active:
            raise AccountNotActive()
        if row.throttle_key is not None:  # failures before this good password: forgotten
            if s is None:
                return None  # a write
            s.execute(_CLEAR, {"throttle_key": row.throttle_key})
        return Account(row.user_id, row.username, bool(row.is_admin))


__all__ = ["Account", "CallerAccess", "HotPath", "RepositoryAccess", "basic_credentials"]
