"""Test data for the hub's tests: users and repositories in a few words."""

from __future__ import annotations

from typing import Any

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


def bearer(
    hub: Hub, user: User, name: str = "test", scopes: tuple[str, ...] = ("read", "write", "delete")
) -> dict[str, str]:
    """An ``Authorization`` header with a new personal access token of ``user`` (the default
    scopes: everything but the account itself)."""
    with hub.db.session() as s:
        secret = hub.accounts.create_token(s, Factory.reload(s, user), name, scopes).secret
    return {"Authorization": f"Bearer {secret}"}


def assert_problem(response: Any, status: int, detail: str = "") -> None:
    """``response`` is problem JSON (RFC 9457) with ``status`` and a detail containing ``detail``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["type"] == "about:blank" and body["title"]
    assert detail in body["detail"]


__all__ = ["PASSWORD", "Factory", "assert_problem", "bearer"]
