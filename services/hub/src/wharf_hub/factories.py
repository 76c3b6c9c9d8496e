"""Test data for the hub's tests: users and repositories in a few words."""

from __future__ import annotations

from sqlalchemy.orm import Session

from .db.models import Repository, User
from .hub import Hub

PASSWORD = "correct-horse-battery"


class Factory:
    """Users and repositories for a test (``factory.user("alice")``); all share ``PASSWORD``."""

    password = PASSWORD

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def user(self, name: str, *, admin: bool = False, active: bool = True) -> User:
        with self.hub.db.session() as s:
            return self.hub.accounts.create_user(
                s, name, f"{name}@example.test", PASSWORD, active=active, admin=admin
            )

    def repo(
        self, owner: User, name: str, *, private: bool = False, namespace: str | None = None
    ) -> Repository:
        with self.hub.db.session() as s:
            return self.hub.repos.create(
                s, self.reload(s, owner), namespace or owner.username, name, is_private=private
            )

    @staticmethod
    def reload(s: Session, user: User) -> User:
        """``user`` attached to the session ``s``."""
        found = s.get(User, user.id)
        assert found is not None
        return found


__all__ = ["PASSWORD", "Factory"]
