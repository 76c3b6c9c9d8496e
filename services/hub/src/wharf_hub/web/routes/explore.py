"""Finding things: the landing page or the signed-in dashboard, search, user profiles with
their repositories and stars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ...db.models import Activity, Repository, User
from ...hub import Hub
from ...services.errors import NoSuchUser
from .. import sessions
from ..pages import Pages

LANDING_SIZE = 12
VERBS = {
    "push": "pushed",
    "create": "created",
    "settings": "changed the settings of",
    "collaborator": "changed the collaborators of",
    "star": "starred",
}


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the dashboard's recent activity."""

    actor: str
    verb: str
    repo: Repository | None
    detail: str
    created_at: datetime


def events(s: Session, user: User, rows: list[Activity]) -> list[Event]:
    found = []
    for row in rows:
        actor = s.get(User, row.actor_id) if row.actor_id else None
        repo = s.get(Repository, row.repository_id) if row.repository_id else None
        name = (
            "you" if actor is not None and actor.id == user.id else (actor.username if actor else "someone")
        )
        found.append(Event(name, VERBS.get(row.kind, row.kind), repo, row.detail, row.created_at))
    return found


def router(hub: Hub, pages: Pages) -> APIRouter:
    r = APIRouter()

    @r.get("/")
    def home(request: Request) -> Response:
        with hub.unit() as s:
            user = sessions.current_user(hub, s, request)
            if user is None:
                popular = hub.social.search(s, None, "", 1, LANDING_SIZE).results
                return pages.render(request, "landing.html", user=None, popular=popular)
            return pages.render(
                request,
                "dashboard.html",
                user=user,
                repos=hub.repos.list_for(s, user),
                events=events(s, user, hub.social.recent(s, user)),
            )

    @r.get("/search")
    def search(request: Request, q: str = "", page: int = 1) -> Response:
        with hub.unit() as s:
            user = sessions.current_user(hub, s, request)
            found = hub.social.search(s, user, q, max(page, 1))
            return pages.render(request, "search.html", user=user, q=q, found=found)

    @r.get("/u/{namespace}/")
    def profile(request: Request, namespace: str) -> Response:
        with hub.unit() as s:
            viewer = sessions.current_user(hub, s, request)
            owner = hub.accounts.find(s, namespace)
            if owner is None and not hub.accounts.namespace_taken(s, namespace.lower()):
                raise NoSuchUser(namespace)
            return pages.render(
                request,
                "profile.html",
                user=viewer,
                namespace=namespace.lower(),
                owner=owner,
                repos=hub.repos.list_namespace(s, viewer, namespace.lower()),
                starred=hub.social.starred(s, owner, viewer) if owner is not None else [],
            )

    return r


__all__ = ["Event", "events", "router"]
