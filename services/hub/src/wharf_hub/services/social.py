"""Stars, search and recent activity."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import case, false, func, or_, select, update
from sqlalchemy.orm import Session

from ..db.models import Activity, Collaborator, Repository, Star, User
from ..db.models.repositories import LIBRARY
from .access import can_pull
from .errors import InvalidName, NoSuchRepository

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25


class Viewer(Protocol):
    """Who searches: a :class:`User`, or a :class:`~.hotpath.Account` from the index's hot path."""

    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...


@dataclass(frozen=True, slots=True)
class SearchPage:
    query: str
    page: int
    page_size: int
    num_results: int
    results: list[Repository]

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.num_results / self.page_size))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SocialService:
    # ---- stars -----------------------------------------------------------------------------

    def star(self, s: Session, user: User, repo: Repository) -> None:
        if not can_pull(s, user, repo):
            raise NoSuchRepository(repo.full_name)
        exists = s.scalar(select(Star.id).where(Star.user_id == user.id, Star.repository_id == repo.id))
        if exists is None:
            s.add(Star(user_id=user.id, repository_id=repo.id))
            s.execute(
                update(Repository)
                .where(Repository.id == repo.id)
                .values(star_count=Repository.star_count + 1)
            )
            s.refresh(repo)

    def unstar(self, s: Session, user: User, repo: Repository) -> None:
        row = s.scalar(select(Star).where(Star.user_id == user.id, Star.repository_id == repo.id))
        if row is not None:
            s.delete(row)
            s.execute(
                update(Repository)
                .where(Repository.id == repo.id)
                .values(star_count=Repository.star_count - 1)
            )
            s.refresh(repo)

    def has_starred(self, s: Session, user: User | None, repo: Repository) -> bool:
        if user is None:
            return False
        return (
            s.scalar(select(Star.id).where(Star.user_id == user.id, Star.repository_id == repo.id))
            is not None
        )

    def starred(self, s: Session, user: User, viewer: User | None) -> list[Repository]:
        repos = s.scalars(
            select(Repository)
            .join(Star, Star.repository_id == Repository.id)
            .where(Star.user_id == user.id)
            .order_by(Star.created_at.desc())
        )
        return [r for r in repos if can_pull(s, viewer, r)]

    # ---- search ----------------------------------------------------------------------------

    def search(
        self, s: Session, viewer: Viewer | None, query: str, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> SearchPage:
        """Public, listed repositories (and the viewer's own private ones) matching ``query``:
        exact names first, then official images, then by stars."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidName(f"Limit {page_size} is outside the range of [1, {MAX_PAGE_SIZE}]")
        if page < 1:
            raise InvalidName("page must be 1 or more")
        q = query.strip().lower()
        bare = q.removeprefix("library/")
        pattern = f"%{_escape_like(q)}%"
        full = Repository.namespace + "/" + Repository.name
        visible = Repository.is_private == false()
        if viewer is not None:
            shared = select(Collaborator.repository_id).where(Collaborator.user_id == viewer.id)
            visible = or_(visible, Repository.namespace == viewer.username, Repository.id.in_(shared))
        where = [
            visible,
            Repository.is_unlisted == false(),
            or_(full.like(pattern, escape="\\"), Repository.description.like(pattern, escape="\\")),
        ]
        exact = case(
            (
                or_(
                    full == q,
                    Repository.name == q,
                    (Repository.namespace == LIBRARY) & (Repository.name == bare),
                ),
                0,
            ),
            else_=1,
        )
        total = s.scalar(select(func.count()).select_from(Repository).where(*where)) or 0
        rows = s.scalars(
            select(Repository)
            .where(*where)
            .order_by(
                exact,
                Repository.is_official.desc(),
                Repository.star_count.desc(),
                Repository.namespace,
                Repository.name,
            )
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        return SearchPage(query, page, page_size, total, list(rows))

    # ---- activity --------------------------------------------------------------------------

    def recent(self, s: Session, user: User, limit: int = 20) -> list[Activity]:
        """What happened to the user's repositories and what the user did."""
        own = select(Repository.id).where(Repository.namespace == user.username)
        shared = select(Collaborator.repository_id).where(Collaborator.user_id == user.id)
        rows = s.scalars(
            select(Activity)
            .where(or_(Activity.actor_id == user.id, Activity.repository_id.in_(own.union(shared))))
            .order_by(Activity.created_at.desc(), Activity.id.desc())
            .limit(limit)
        )
        return list(rows)


__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "SearchPage", "SocialService", "Viewer"]
