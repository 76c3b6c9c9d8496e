"""Repositories: create (from the web or by a first push), read with visibility rules,
settings, delete, collaborators, tags. Permission rules are in :mod:`.access`."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.base import utcnow
from ..db.models import Activity, Collaborator, Repository, Tag, User
from ..db.models.repositories import LIBRARY
from .access import can_admin, can_create, can_pull, repository_role
from .errors import AccessDenied, AlreadyExists, InvalidName, LoginRequired, NoSuchRepository, NoSuchUser
from .jobs import enqueue
from .names import check_namespace, check_repository_name

log = structlog.get_logger(__name__)

MAX_FULL_DESCRIPTION = 25_000
DELETED = "repository.deleted"


@dataclass(frozen=True, slots=True)
class Settings:
    """What the settings form may change; None leaves a field alone."""

    description: str | None = None
    full_description: str | None = None
    is_private: bool | None = None
    is_unlisted: bool | None = None
    is_official: bool | None = None  # admins only


def record(s: Session, actor: User | None, repo: Repository | None, kind: str, detail: str = "") -> None:
    s.add(
        Activity(
            actor_id=actor.id if actor else None,
            repository_id=repo.id if repo else None,
            kind=kind,
            detail=detail[:300],
        )
    )


class RepositoryService:
    def find(self, s: Session, namespace: str, name: str) -> Repository | None:
        return s.scalar(select(Repository).where(Repository.namespace == namespace, Repository.name == name))

    def get(self, s: Session, user: User | None, namespace: str, name: str) -> Repository:
        """The repository if ``user`` may see it; a private one is "not found" to others."""
        repo = self.find(s, namespace, name)
        if repo is None or not can_pull(s, user, repo):
            raise NoSuchRepository(f"{namespace}/{name}" if namespace != LIBRARY else name)
        return repo

    def get_admin(self, s: Session, user: User | None, namespace: str, name: str) -> Repository:
        """The repository if ``user`` may change it; collaborators and others are refused."""
        repo = self.get(s, user, namespace, name)
        if not can_admin(s, user, repo):
            raise AccessDenied("Only the owner may change the settings of this repository")
        return repo

    def create(
        self,
        s: Session,
        user: User | None,
        namespace: str,
        name: str,
        *,
        description: str = "",
        full_description: str = "",
        is_private: bool = False,
    ) -> Repository:
        check_namespace(namespace)
        check_repository_name(name)
        if user is None:
            raise LoginRequired()
        if not can_create(s, user, namespace):
            raise AccessDenied(
                "Only administrators may create official repositories"
                if namespace == LIBRARY
                else f"You may not create repositories in the namespace {namespace}"
            )
        if self.find(s, namespace, name) is not None:
            raise AlreadyExists(f"Repository {namespace}/{name} already exists")
        repo = Repository(
            namespace=namespace,
            name=name,
            owner_id=user.id,
            is_private=is_private,
            is_official=namespace == LIBRARY,
        )
        self._describe(repo, description, full_description)
        s.add(repo)
        s.flush()
        record(s, user, repo, "create", repo.full_name)
        log.info("repository.created", repository=repo.remote, by=user.username)
        return repo

    @staticmethod
    def _describe(repo: Repository, description: str | None, full_description: str | None) -> None:
        if description is not None:
            if len(description) > 100:
                raise InvalidName("The short description may have at most 100 characters")
            repo.description = description.strip()
        if full_description is not None:
            if len(full_description) > MAX_FULL_DESCRIPTION:
                raise InvalidName(f"The full description may have at most {MAX_FULL_DESCRIPTION} characters")
            repo.full_description = full_description

    def update(self, s: Session, user: User | None, repo: Repository, changes: Settings) -> Repository:
        if not can_admin(s, user, repo):
            raise AccessDenied("Only the owner may change the settings of this repository")
        if changes.is_official is not None:
            if user is None or not user.is_admin:
                raise AccessDenied("Only administrators may mark repositories official")
            repo.is_official = changes.is_official
        self._describe(repo, changes.description, changes.full_description)
        if changes.is_private is not None:
            repo.is_private = changes.is_private
        if changes.is_unlisted is not None:
            repo.is_unlisted = changes.is_unlisted
        repo.updated_at = utcnow()
        record(s, user, repo, "settings", repo.full_name)
        return repo

    def delete(self, s: Session, user: User | None, repo: Repository) -> None:
        if not can_admin(s, user, repo):
            raise AccessDenied("Only the owner may delete this repository")
        log.info("repository.deleted", repository=repo.remote, by=user.username if user else None)
        enqueue(s, DELETED, {"remote": repo.remote})  # the registry's copy goes after the commit
        s.delete(repo)

    def list_namespace(self, s: Session, viewer: User | None, namespace: str) -> list[Repository]:
        repos = s.scalars(
            select(Repository).where(Repository.namespace == namespace).order_by(Repository.name)
        )
        return [r for r in repos if can_pull(s, viewer, r)]

    def list_for(self, s: Session, user: User) -> list[Repository]:
        """The dashboard: what ``user`` may push to (own, organisations, as collaborator)."""
        own = select(Repository.id).where(Repository.namespace == user.username)
        shared = select(Collaborator.repository_id).where(Collaborator.user_id == user.id)
        repos = s.scalars(
            select(Repository)
            .where(Repository.id.in_(own.union(shared)))
            .order_by(Repository.updated_at.desc())
        )
        return list(repos)

    def role(self, s: Session, user: User | None, repo: Repository) -> int:
        return int(repository_role(s, user, repo))

    # ---- collaborators -----------------------------------------------------------------------

    def collaborators(self, s: Session, repo: Repository) -> list[Collaborator]:
        return list(
            s.scalars(
                select(Collaborator)
                .where(Collaborator.repository_id == repo.id)
                .order_by(Collaborator.created_at)
            )
        )

    def add_collaborator(
        self, s: Session, user: User | None, repo: Repository, username: str
    ) -> Collaborator:
        if not can_admin(s, user, repo):
            raise AccessDenied("Only the owner may add collaborators")
        other = s.scalar(select(User).where(User.username == username.strip().lower()))
        if other is None:
            raise NoSuchUser(username)
        if other.username == repo.namespace:
            raise InvalidName(f"{other.username} owns this repository")
        if (
            s.scalar(
                select(Collaborator.id).where(
                    Collaborator.repository_id == repo.id, Collaborator.user_id == other.id
                )
            )
            is not None
        ):
            raise AlreadyExists(f"{other.username} is already a collaborator")
        collaborator = Collaborator(repository_id=repo.id, user_id=other.id)
        s.add(collaborator)
        s.flush()
        record(s, user, repo, "collaborator", f"added {other.username}")
        return collaborator

    def remove_collaborator(self, s: Session, user: User | None, repo: Repository, username: str) -> None:
        if not can_admin(s, user, repo):
            raise AccessDenied("Only the owner may remove collaborators")
        row = s.scalar(
            select(Collaborator)
            .join(User, User.id == Collaborator.user_id)
            .where(Collaborator.repository_id == repo.id, User.username == username.lower())
        )
        if row is None:
            raise NoSuchUser(username)
        s.delete(row)
        record(s, user, repo, "collaborator", f"removed {username.lower()}")

    # ---- tags ------------------------------------------------------------------------------

    def tags(self, s: Session, repo: Repository) -> list[Tag]:
        return list(s.scalars(select(Tag).where(Tag.repository_id == repo.id).order_by(Tag.pushed_at.desc())))


__all__ = ["RepositoryService", "Settings", "record"]
