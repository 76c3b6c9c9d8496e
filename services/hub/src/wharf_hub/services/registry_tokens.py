"""v2 bearer tokens for registries (Docker's token authentication), and what registries tell
the hub back: pushes (tags, webhooks) and pulls (counters).

A token grants, per scope asked for, the actions the v1 rules of :mod:`.access` allow the
caller on that repository, no more: ``pull`` needs the reader role, ``push`` the writer role
(or, for a repository that does not exist yet, the right to create it in that namespace),
``delete`` the admin role; ``registry:catalog:*`` is for site administrators. An access
token's scopes cut that further (``read`` → pull, ``write`` → push, ``delete`` → delete), and
an automated build's push credential reaches only the repository it builds. What is not
allowed is left out, as Docker Hub does: a stranger asking for a private repository gets a
token with empty access, and the registry refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from wharf_common.bearer import (
    CATALOG,
    REGISTRY,
    REPOSITORY,
    REPOSITORY_ACTIONS,
    BearerSigner,
    BearerToken,
    BearerVerifier,
    IssuedToken,
    ResourceScope,
)

from ..db.base import utcnow
from ..db.models import Repository, Tag, User
from .access import can_admin, can_create, can_pull, can_push
from .errors import AccessDenied, InvalidName, LoginRequired
from .index import IndexService, PushedTag
from .names import TAG_RE, split_repository
from .repositories import RepositoryService, record
from .tokens import Scope

log = structlog.get_logger(__name__)

MAX_SERVICE = 255
MAX_EVENTS = 100
ACTIONS = ("push", "delete", "pull")
_NEEDS = {"pull": Scope.READ, "push": Scope.WRITE, "delete": Scope.DELETE}
_DIGEST_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who asks for a token: ``user`` None when anonymous; ``scopes`` those of an access token
    (None after a password); ``only`` the repository of an automated build's push credential."""

    user: User | None
    scopes: frozenset[Scope] | None = None
    only: Repository | None = None

    @property
    def subject(self) -> str:
        return self.user.username if self.user is not None else ""

    def may(self, action: str) -> bool:
        return self.scopes is None or _NEEDS[action] in self.scopes


@dataclass(frozen=True, slots=True)
class RegistryEvent:
    """One thing a registry did for a token's holder: a manifest pushed under a tag, a tag or
    manifest deleted, or a manifest pulled."""

    action: str  # "push" | "delete" | "pull"
    repository: str
    tag: str | None
    digest: str | None
    size: int
    image_id: str | None


def _digest(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    algorithm, _, hexpart = text.partition(":")
    if algorithm != "sha256" or len(hexpart) != 64 or not set(hexpart) <= _DIGEST_HEX:
        raise InvalidName(f"Invalid digest: {text[:80]}")
    return text


def parse_events(body: Any) -> list[RegistryEvent]:
    """``{"events": [{"action", "target": {"repository", "tag"?, "digest", "size"?, "config"?}}]}``
    (a delete names the tag removed, or the manifest's digest when it removed no tag)
    (the shape of a Go registry's notifications, only the fields the hub reads)."""
    items = body.get("events") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or len(items) > MAX_EVENTS:
        raise InvalidName(f"Expected {{'events': [...]}} with 1 to {MAX_EVENTS} events")
    events = []
    for item in items:
        target = item.get("target") if isinstance(item, dict) else None
        if not isinstance(target, dict) or item.get("action") not in ACTIONS:
            raise InvalidName("Every event needs an action (push, delete or pull) and a target")
        repository, tag, size = target.get("repository"), target.get("tag"), target.get("size", 0)
        if not isinstance(repository, str) or not repository:
            raise InvalidName("Every event's target needs a repository")
        if tag is not None and (not isinstance(tag, str) or not TAG_RE.fullmatch(tag)):
            raise InvalidName(f"Invalid tag: {str(tag)[:80]}")
        if type(size) is not int or size < 0:
            raise InvalidName("An event's size is a number of bytes")
        digest, config = _digest(target.get("digest")), _digest(target.get("config"))
        if item["action"] == "push" and (tag is None or digest is None):
            raise InvalidName("A push event needs the tag and the manifest digest")
        if item["action"] == "delete" and tag is None and digest is None:
            raise InvalidName("A delete event needs the tag or the manifest digest")
        image_id = (config or digest or "").partition(":")[2] or None
        events.append(RegistryEvent(item["action"], repository, tag, digest, size, image_id))
    return events


def _covers(token: BearerToken, repository: str, action: str) -> bool:
    """Whether ``token`` grants ``action`` on ``repository``, however either spells the name
    (``busybox`` is ``library/busybox``)."""
    try:
        wanted = split_repository(repository)
    except InvalidName:
        return False
    for scope in token.access:
        if scope.type != REPOSITORY or action not in scope.actions:
            continue
        try:
            if split_repository(scope.name) == wanted:
                return True
        except InvalidName:
            continue
    return False


class RegistryTokenService:
    def __init__(
        self,
        repos: RepositoryService,
        index: IndexService,
        signer: BearerSigner,
        verifier: BearerVerifier,
        ttl: int,
    ) -> None:
        self.repos = repos
        self.index = index
        self.signer = signer
        self.verifier = verifier
        self.ttl = ttl

    # ---- the token endpoint ------------------------------------------------------------------

    def grant(self, s: Session, who: Principal, service: str, scopes: list[ResourceScope]) -> IssuedToken:
        """A token for ``service`` holding, of each scope, the actions ``who`` may take."""
        if not service or len(service) > MAX_SERVICE:
            raise InvalidName(f"A token needs a service of 1 to {MAX_SERVICE} characters")
        granted = []
        for scope in scopes:
            actions = self._allowed(s, who, scope)
            granted.append(ResourceScope(scope.type, scope.name, actions))
            if set(actions) != set(scope.actions):
                log.info("registry_token.narrowed", user=who.subject, scope=str(scope), granted=actions)
        return self.signer.issue(who.subject, service, granted, self.ttl)

    def _allowed(self, s: Session, who: Principal, scope: ResourceScope) -> tuple[str, ...]:
        if scope.type == REGISTRY and scope.name == CATALOG:
            admin = who.user is not None and who.user.is_admin and who.only is None and who.may("pull")
            return ("*",) if admin and scope.actions else ()
        if scope.type != REPOSITORY:
            return ()
        try:
            namespace, name = split_repository(scope.name)
        except InvalidName:
            return ()
        if who.only is not None and (who.only.namespace, who.only.name) != (namespace, name):
            return ()
        wanted = REPOSITORY_ACTIONS if "*" in scope.actions else scope.actions
        repo = self.repos.find(s, namespace, name)
        creatable = repo is None and can_create(s, who.user, namespace)
        rules = {
            "pull": lambda: creatable or (repo is not None and can_pull(s, who.user, repo)),
            "push": lambda: creatable or (repo is not None and can_push(s, who.user, repo)),
            "delete": lambda: repo is not None and can_admin(s, who.user, repo) and who.only is None,
        }
        return tuple(a for a in wanted if a in rules and who.may(a) and rules[a]())

    # ---- what registries report ---------------------------------------------------------------

    def report(self, s: Session, credentials: str, body: Any) -> int:
        """Events a registry reports with the token of the client it served: each must be
        covered by that token (push events by push access, deletes by delete access, pull
        events by pull access)."""
        token = self.verifier.verify(credentials)
        events = parse_events(body)
        for event in events:
            if not _covers(token, event.repository, event.action):
                raise AccessDenied(f"The token does not grant {event.action} on {event.repository[:100]}")
        for event in events:
            if event.action == "push":
                self._pushed(s, token, event)
            elif event.action == "delete":
                self._deleted(s, token, event)
            else:
                self._pulled(s, event)
        return len(events)

    def _pushed(self, s: Session, token: BearerToken, event: RegistryEvent) -> None:
        namespace, name = split_repository(event.repository)
        pusher = s.scalar(select(User).where(User.username == token.subject)) if token.subject else None
        if pusher is None or not pusher.is_active:
            raise LoginRequired()
        repo = self.repos.find(s, namespace, name)
        if repo is None:
            repo = self.repos.create(s, pusher, namespace, name)  # as a first v1 push does
        elif not can_push(s, pusher, repo):
            raise AccessDenied()
        assert event.tag is not None and event.image_id is not None  # parse_events checked
        repo.updated_at = utcnow()
        pushed = PushedTag(event.image_id, event.size, event.digest)
        self.index.publish_tags(s, repo, pusher, {event.tag: pushed}, [event.image_id])
        log.info("registry_token.pushed", repository=repo.remote, by=pusher.username, tag=event.tag)

    def _deleted(self, s: Session, token: BearerToken, event: RegistryEvent) -> None:
        """The tag the registry removed (or every tag of the deleted manifest) leaves the hub too."""
        namespace, name = split_repository(event.repository)
        repo = self.repos.find(s, namespace, name)
        if repo is None:
            return
        query = select(Tag).where(Tag.repository_id == repo.id)
        if event.tag is not None:
            query = query.where(Tag.name == event.tag)
        else:
            query = query.where(Tag.digest == event.digest)
        actor = s.scalar(select(User).where(User.username == token.subject)) if token.subject else None
        for tag in list(s.scalars(query)):
            s.delete(tag)
            record(s, actor, repo, "delete", f"{repo.full_name}:{tag.name}")
        s.flush()
        log.info(
            "registry_token.deleted",
            repository=repo.remote,
            by=token.subject,
            tag=event.tag,
            digest=event.digest,
        )

    def _pulled(self, s: Session, event: RegistryEvent) -> None:
        try:
            namespace, name = split_repository(event.repository)
        except InvalidName:
            return
        s.execute(
            update(Repository)
            .where(Repository.namespace == namespace, Repository.name == name)
            .values(pull_count=Repository.pull_count + 1)
        )


__all__ = ["Principal", "RegistryEvent", "RegistryTokenService", "parse_events"]
