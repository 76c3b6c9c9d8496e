"""Organisations: namespaces shared by a team. Members push to every repository in the
namespace; owners also change settings, manage members and delete (see :mod:`.access`).
Organisation names share the namespace space with usernames."""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session
from wharf_common.errors import Conflict

from ..db.models import Organization, OrganizationMember, User
from .accounts import name_unavailable
from .errors import AccessDenied, AlreadyExists, LoginRequired, NoSuchUser
from .names import check_username

log = structlog.get_logger(__name__)


class NoSuchOrganization(NoSuchUser):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.message = f"No such organization: {name}"


class LastOwner(Conflict):
    """An organisation keeps at least one owner: the last one may neither leave nor step down."""

    def __init__(self, username: str, org: str) -> None:
        super().__init__(f"{username} is the last owner of {org}: make another member an owner first")


class OrganizationService:
    def get(self, s: Session, name: str) -> Organization:
        org = s.scalar(select(Organization).where(Organization.name == name.lower()))
        if org is None:
            raise NoSuchOrganization(name)
        return org

    def create(self, s: Session, user: User | None, name: str) -> Organization:
        """A new organisation with ``user`` as its first owner."""
        if user is None:
            raise LoginRequired()
        name = check_username(name)  # the same rules: it is a namespace
        if name_unavailable(s, name):  # users, organisations, reserved and deleted names
            raise AlreadyExists(f"The namespace {name} is taken")
        org = Organization(name=name)
        s.add(org)
        s.flush()
        s.add(OrganizationMember(organization_id=org.id, user_id=user.id, is_owner=True))
        log.info("organization.created", organization=name, by=user.username)
        return org

    def members(self, s: Session, org: Organization) -> list[tuple[User, bool]]:
        rows = s.execute(
            select(User, OrganizationMember.is_owner)
            .join(OrganizationMember, OrganizationMember.user_id == User.id)
            .where(OrganizationMember.organization_id == org.id)
            .order_by(User.username)
        )
        return [(user, bool(owner)) for user, owner in rows]

    def _membership(self, s: Session, org: Organization, user: User) -> OrganizationMember | None:
        return s.scalar(
            select(OrganizationMember).where(
                OrganizationMember.organization_id == org.id, OrganizationMember.user_id == user.id
            )
        )

    def _require_owner(self, s: Session, org: Organization, user: User | None) -> User:
        if user is None:
            raise LoginRequired()
        membership = self._membership(s, org, user)
        if not user.is_admin and (membership is None or not membership.is_owner):
            raise AccessDenied(f"Only owners of {org.name} may change its members")
        return user

    def add_member(
        self, s: Session, user: User | None, org: Organization, username: str, *, owner: bool
    ) -> None:
        self._require_owner(s, org, user)
        member = s.scalar(select(User).where(User.username == username.strip().lower()))
        if member is None:
            raise NoSuchUser(username)
        existing = self._membership(s, org, member)
        if existing is not None:
            if existing.is_owner and not owner:
                self._keep_an_owner(s, org, member.username)
            existing.is_owner = owner
            return
        s.add(OrganizationMember(organization_id=org.id, user_id=member.id, is_owner=owner))

    def remove_member(self, s: Session, user: User | None, org: Organization, username: str) -> None:
        self._require_owner(s, org, user)
        member = s.scalar(select(User).where(User.username == username.strip().lower()))
        membership = self._membership(s, org, member) if member is not None else None
        if membership is None:
            raise NoSuchUser(username)
        if membership.is_owner:
            self._keep_an_owner(s, org, member.username if member is not None else username)
        s.delete(membership)

    def _keep_an_owner(self, s: Session, org: Organization, username: str) -> None:
        """Refuse to take away ``username``'s ownership when no other owner would remain."""
        owners = [u for u, is_owner in self.members(s, org) if is_owner]
        if len(owners) <= 1:
            raise LastOwner(username, org.name)


__all__ = ["LastOwner", "NoSuchOrganization", "OrganizationService"]
