"""The v1 index (protocols.md A.4): tokens for pushes and pulls, the image lists, and what
happens when a push ends (tags read back from the registry, webhooks queued)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session
from wharf_common.tokens import Access, TokenSigner, TokenVerifier

from ..db.base import utcnow
from ..db.models import Repository, RepositoryImage, Tag, User
from ..db.models.repositories import LIBRARY
from .access import Role, can_admin, can_pull, can_push
from .errors import AccessDenied, InvalidName, LoginRequired, NoSuchRepository
from .hotpath import CallerAccess, RepositoryAccess
from .jobs import enqueue
from .pullcount import PullCounter
from .registry import RegistryReader
from .repositories import RepositoryService, record

log = structlog.get_logger(__name__)

PUSHED = "repository.pushed"
_images_table = RepositoryImage.__table__
_IMAGES = (
    select(_images_table.c.image_id, _images_table.c.checksum)
    .where(_images_table.c.repository_id == bindparam("repo_id"))
    .order_by(_images_table.c.id)
)
PushListener = Callable[[Session, Repository, User | None, str, list[str]], None]
"""Called once per tag a push changed: (session, repository, pusher, tag, image ids)."""


class TokenRevoked(AccessDenied):
    def __init__(self, user: str, access: str, repository: str) -> None:
        super().__init__(f"Token revoked: {user} may no longer {access} {repository}")


@dataclass(frozen=True, slots=True)
class PushedTag:
    image_id: str
    size: int
    digest: str | None = None  # a v2 push's manifest digest


@dataclass(frozen=True, slots=True)
class Grant:
    token: str
    endpoints: list[str]
    images: list[dict[str, str]]


def image_entries(body: Any) -> list[dict[str, str]]:
    """``[{"id", "checksum"?, "Tag"?}]`` as engines send it; anything else is a 400."""
    if not isinstance(body, list):
        raise InvalidName("The image list must be a JSON array")
    entries = []
    for item in body:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise InvalidName("Every image list entry needs an id")
        image_id = item["id"]
        if len(image_id) not in (16, 64) or any(c not in "0123456789abcdef" for c in image_id):
            raise InvalidName(f"Invalid image id: {image_id[:80]}")
        entry = {"id": image_id}
        for key in ("checksum", "Tag"):
            if isinstance(item.get(key), str) and item[key]:
                entry[key] = item[key][:128]
        entries.append(entry)
    return entries


class IndexService:
    def __init__(
        self,
        repos: RepositoryService,
        signer: TokenSigner,
        verifier: TokenVerifier,
        reader: RegistryReader,
        endpoints: list[str],
        ttl: int,
        url: str | None = None,
    ) -> None:
        self.repos = repos
        self.signer = signer
        self.verifier = verifier
        self.reader = reader
        self.endpoints = endpoints
        self.ttl = ttl
        self.url = url
        """The hub's own URL, signed into tokens that registries must confirm (:meth:`check_token`)."""
        self.push_listeners: list[PushListener] = []

    def _token(self, repo: Repository, access: Access, user: User | None) -> str:
        """A token for ``user``; one that may have to be taken back before it expires (a user's
        write or delete token, a read token for a private repository) names the hub, where
        the registry confirms it while it is used."""
        revocable = user is not None and (access != "read" or repo.is_private)
        index = self.url if revocable else None
        return self.signer.issue(repo.remote, access, user.username if user else "", self.ttl, index=index)

    def _images(self, s: Session, repo: Repository) -> list[dict[str, str]]:
        rows = s.scalars(
            select(RepositoryImage)
            .where(RepositoryImage.repository_id == repo.id)
            .order_by(RepositoryImage.id)
        )
        return [{"id": r.image_id, "checksum": r.checksum} for r in rows]

    def _add_images(self, s: Session, repo: Repository, entries: list[dict[str, str]]) -> None:
        known = {
            r.image_id: r
            for r in s.scalars(select(RepositoryImage).where(RepositoryImage.repository_id == repo.id))
        }
        for entry in entries:
            row = known.get(entry["id"])
            if row is None:
                row = known[entry["id"]] = RepositoryImage(repository_id=repo.id, image_id=entry["id"])
                s.add(row)
            if entry.get("checksum"):
                row.checksum = entry["checksum"]

    def start_push(self, s: Session, user: User | None, namespace: str, name: str, body: Any) -> Grant:
        """``PUT /v1/repositories/<name>/``: a write token; a first push creates the repository."""
        entries = image_entries(body)
        if user is None:
            raise LoginRequired()
        repo = self.repos.find(s, namespace, name)
        if repo is None:
            repo = self.repos.create(s, user, namespace, name)
        elif not can_push(s, user, repo):
            raise AccessDenied()
        self._add_images(s, repo, entries)
        return Grant(self._token(repo, "write", user), self.endpoints, [])

    def finish_push(self, s: Session, user: User | None, namespace: str, name: str, body: Any) -> None:
        """``PUT /v1/repositories/<name>/images``: the push is done. Its tags are on the registry
        by now (an engine tags before this call); they are read back here and published in this
        unit of work, so its commit also queues the webhook deliveries. When the registry does
        not answer, the read-back is a ``repository.pushed`` job (retried by the worker)."""
        entries = image_entries(body)
        if user is None:
            raise LoginRequired()
        repo = self.repos.get(s, user, namespace, name)  # "not found" unless the user may pull
        if not can_push(s, user, repo):
            raise AccessDenied()
        claimed = sorted({e["Tag"] for e in entries if "Tag" in e})
        try:  # before the writes: no write lock is held while the registry answers
            changes = self._pushed_tags(s, repo, set(claimed))
        except (httpx.HTTPError, ValueError) as exc:  # down, or not answering JSON
            log.warning("index.read_back_failed", repository=repo.remote, error=str(exc))
            changes = None
        self._add_images(s, repo, entries)
        repo.updated_at = utcnow()
        if changes is None:
            enqueue(s, PUSHED, {"repository_id": repo.id, "pusher_id": user.id, "tags": claimed})
        else:
            self.publish_tags(s, repo, user, changes, [r["id"] for r in self._images(s, repo)])
        log.info("index.pushed", repository=repo.remote, by=user.username, tags=claimed)

    def start_pull(
        self, s: Connection, access: CallerAccess, namespace: str, name: str, pulls: PullCounter
    ) -> Grant:
        """``GET /v1/repositories/<name>/images``: a read token and the image list; counts a pull.
        ``access`` is what :class:`~.hotpath.HotPath` read in one statement."""
        repo = self.pullable(access, namespace, name)
        images = [
            {"id": r.image_id, "checksum": r.checksum} for r in s.execute(_IMAGES, {"repo_id": repo.id})
        ]
        pulls.add(s, repo.id)
        return self.pull_grant(access, repo, images)

    def start_pull_read(
        self,
        access: CallerAccess,
        images: list[dict[str, str]],
        namespace: str,
        name: str,
        pulls: PullCounter,
    ) -> Grant | None:
        """:meth:`start_pull` with the image list already read (by :meth:`HotPath.pull_on_loop`);
        None when each pull is written in its request (``pull_count_interval=0``): call
        :meth:`start_pull` from the thread pool."""
        repo = self.pullable(access, namespace, name)
        if pulls.interval <= 0:
            return None
        pulls.add(None, repo.id)
        return self.pull_grant(access, repo, images)

    def pullable(self, access: CallerAccess, namespace: str, name: str) -> RepositoryAccess:
        """The repository ``access`` may pull from. A private repository is "not found" to everyone
        who may not pull it, signed in or not, so that the answer does not tell whether it exists."""
        repo = access.repository
        if repo is None or repo.role < Role.READER:
            raise NoSuchRepository(f"{namespace}/{name}" if namespace != LIBRARY else name)
        return repo

    def pull_grant(self, access: CallerAccess, repo: RepositoryAccess, images: list[dict[str, str]]) -> Grant:
        caller = access.account
        revocable = caller is not None and repo.is_private  # see _token
        token = self.signer.issue(
            repo.remote,
            "read",
            caller.username if caller else "",
            self.ttl,
            index=self.url if revocable else None,
        )
        return Grant(token, self.endpoints, images)

    def start_delete(self, s: Session, user: User | None, namespace: str, name: str) -> Grant:
        repo = self._deletable(s, user, namespace, name)
        return Grant(self._token(repo, "delete", user), self.endpoints, [])

    def finish_delete(self, s: Session, user: User | None, namespace: str, name: str) -> None:
        repo = self._deletable(s, user, namespace, name)
        self.repos.delete(s, user, repo)

    def _deletable(self, s: Session, user: User | None, namespace: str, name: str) -> Repository:
        if user is None:
            raise LoginRequired()
        repo = self.repos.get(s, user, namespace, name)
        if not can_admin(s, user, repo):
            raise AccessDenied()
        return repo

    def check_token(self, s: Session, credentials: str, namespace: str, name: str) -> None:
        """``PUT /v1/repositories/<name>/auth``: the registry asks whether a token is still good:
        genuine, unexpired, for this repository, and its user still allowed what it grants
        (a collaborator or organisation member removed since, a deleted or disabled account,
        a repository deleted and created again by someone else: :class:`TokenRevoked`)."""
        token = self.verifier.verify(credentials)
        if token.repository != f"{namespace}/{name}":
            raise AccessDenied("Token is for another repository")
        if not token.user:
            return  # an anonymous read token, or the hub's own (RegistryReader)
        user = s.scalar(select(User).where(User.username == token.user))
        repo = self.repos.find(s, namespace, name)
        allowed = {"read": can_pull, "write": can_push, "delete": can_admin}[token.access]
        if user is None or not user.is_active or repo is None or not allowed(s, user, repo):
            log.info("index.token_revoked", repository=token.repository, user=token.user, access=token.access)
            raise TokenRevoked(token.user, token.access, token.repository)

    # ---- after a push or a delete (the worker) ------------------------------------------------

    def on_deleted(self, s: Session, payload: dict[str, Any]) -> None:
        remote = str(payload["remote"])
        namespace, _, name = remote.partition("/")
        if self.repos.find(s, namespace, name) is None:  # not created again meanwhile
            self.reader.delete(remote)

    def on_pushed(self, s: Session, payload: dict[str, Any]) -> None:
        """The ``repository.pushed`` job: a push whose tags could not be read back at once."""
        repo = s.get(Repository, int(payload["repository_id"]))
        if repo is None:
            return  # deleted meanwhile
        pusher = s.get(User, int(payload["pusher_id"])) if payload.get("pusher_id") else None
        changes = self._pushed_tags(s, repo, set(payload.get("tags", [])))
        self.publish_tags(s, repo, pusher, changes, [r["id"] for r in self._images(s, repo)])

    def _pushed_tags(self, s: Session, repo: Repository, claimed: set[str]) -> dict[str, PushedTag]:
        """The registry's tags that are new, moved, or ``claimed`` by the push (re-pushed)."""
        known = {t.name: t.image_id for t in s.scalars(select(Tag).where(Tag.repository_id == repo.id))}
        remote_tags = self.reader.tags(repo.remote)
        changed_names = [
            name for name, image_id in remote_tags.items() if known.get(name) != image_id or name in claimed
        ]
        sizes = self.reader.sizes(repo.remote, sorted({remote_tags[n] for n in changed_names}))
        return {n: PushedTag(remote_tags[n], sizes[remote_tags[n]]) for n in changed_names}

    def publish_tags(
        self,
        s: Session,
        repo: Repository,
        pusher: User | None,
        changes: dict[str, PushedTag],
        images: list[str],
    ) -> None:
        """Pushed tags, however they came (read back after a v1 push, reported after a v2 one):
        the tag rows, the activity, and the push listeners (webhooks, builds on this base)."""
        known = {t.name: t for t in s.scalars(select(Tag).where(Tag.repository_id == repo.id))}
        changed: list[Tag] = []
        for name in sorted(changes):
            pushed = changes[name]
            tag = known.get(name)
            if tag is None:
                tag = Tag(repository_id=repo.id, name=name, image_id=pushed.image_id)
                s.add(tag)
            tag.image_id, tag.size, tag.digest = pushed.image_id, pushed.size, pushed.digest
            tag.pushed_at, tag.pusher_id = utcnow(), pusher.id if pusher else None
            changed.append(tag)
        s.flush()
        for tag in changed:
            record(s, pusher, repo, "push", f"{repo.full_name}:{tag.name}")
            for listener in self.push_listeners:
                listener(s, repo, pusher, tag.name, images)


__all__ = ["PUSHED", "Grant", "IndexService", "PushListener", "PushedTag", "TokenRevoked", "image_entries"]
