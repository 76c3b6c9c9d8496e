"""Who may do what to a repository: the one place the rules live.

| who \\ what          | pull public | pull private | push | change settings, collaborators, delete |
|---------------------|-------------|--------------|------|----------------------------------------|
| owner, admin        | yes         | yes          | yes  | yes                                    |
| organisation member | yes         | yes          | yes  | owners of the organisation only        |
| collaborator        | yes         | yes          | yes  | no                                     |
| other user          | yes         | no           | no   | no                                     |
| anonymous           | yes         | no           | no   | no                                     |

A first push creates the repository when the pusher may push to the namespace: their own,
an organisation they belong to, or (site admins only) ``library``, whatever the pusher's name.
"""

from __future__ import annotations

from enum import IntEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Collaborator, Organization, OrganizationMember, Repository, User
from ..db.models.repositories import LIBRARY


class Role(IntEnum):
    NONE = 0
    READER = 1  # may pull
    WRITER = 2  # may push
    ADMIN = 3  # may change settings, collaborators, delete


def role_of(
    namespace: str,
    is_private: bool,
    *,
    username: str | None,
    is_admin: bool = False,
    member_is_owner: bool | None = None,
    collaborator: bool = False,
) -> Role:
    """The table above from facts already read (the index's one-statement hot path):
    ``username`` None is anonymous; ``member_is_owner`` None when not a member of an
    organisation called ``namespace``."""
    role = Role.NONE
    if username is None:
        pass
    elif namespace == LIBRARY:  # first: an account called ``library`` gains nothing by its name
        role = Role.ADMIN if is_admin else Role.NONE
    elif is_admin or namespace == username:
        role = Role.ADMIN
    elif member_is_owner is not None:
        role = Role.ADMIN if member_is_owner else Role.WRITER
    if role < Role.WRITER and username is not None and collaborator:
        role = Role.WRITER
    if role < Role.READER and not is_private:
        role = Role.READER
    return role


def namespace_role(s: Session, user: User | None, namespace: str) -> Role:
    """The role ``user`` has on every repository of ``namespace`` (before collaborators)."""
    if user is None:
        return Role.NONE
    if namespace == LIBRARY:  # first: an account called ``library`` gains nothing by its name
        return Role.ADMIN if user.is_admin else Role.NONE
    if user.is_admin or namespace == user.username:
        return Role.ADMIN
    member = s.scalar(
        select(OrganizationMember)
        .join(Organization, Organization.id == OrganizationMember.organization_id)
        .where(Organization.name == namespace, OrganizationMember.user_id == user.id)
    )
    if member is None:
        return Role.NONE
    return Role.ADMIN if member.is_owner else Role.WRITER


def repository_role(s: Session, user: User | None, repo: Repository) -> Role:
    role = namespace_role(s, user, repo.namespace)
    if role < Role.WRITER and user is not None:
        collaborator = s.scalar(
            select(Collaborator.id).where(
                Collaborator.repository_id == repo.id, Collaborator.user_id == user.id
            )
        )
        if collaborator is not None:
            role = Role.WRITER
    if role < Role.READER and not repo.is_private:
        role = Role.READER
    return role


def can_pull(s: Session, user: User | None, repo: Repository) -> bool:
    return repository_role(s, user, repo) >= Role.READER


def can_push(s: Session, user: User | None, repo: Repository) -> bool:
    return repository_role(s, user, repo) >= Role.WRITER


def can_admin(s: Session, user: User | None, repo: Repository) -> bool:
    return repository_role(s, user, repo) >= Role.ADMIN


def can_create(s: Session, user: User | None, namespace: str) -> bool:
    return namespace_role(s, user, namespace) >= Role.WRITER


def creatable_namespaces(s: Session, user: User) -> list[str]:
    """Where ``user`` may create repositories: their own namespace, then their organisations
    (and ``library`` for admins)."""
    orgs = s.scalars(
        select(Organization.name)
        .join(OrganizationMember, OrganizationMember.organization_id == Organization.id)
        .where(OrganizationMember.user_id == user.id)
        .order_by(Organization.name)
    )
    own = [user.username] if user.username != LIBRARY else []  # an account from before names were reserved
    return [*own, *orgs, *([LIBRARY] if user.is_admin else [])]


__all__ = [
    "Role",
    "can_admin",
    "can_create",
    "can_pull",
    "can_push",
    "creatable_namespaces",
    "namespace_role",
    "repository_role",
    "role_of",
]
