"""Repositories in the browser: the repository page and its tags, create, star, and the
owner's settings (descriptions, visibility, delete, collaborators).

Official images live at ``/_/<name>/``; ``/u/library/<name>/`` redirects there. A private
repository is "not found" to everyone without access; collaborators see it but get 403 on
the settings pages.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from wharf_common.errors import Forbidden

from ...db.models import Repository, User
from ...db.models.repositories import LIBRARY
from ...hub import Hub
from ...services.access import can_admin, creatable_namespaces
from ...services.errors import InvalidName, NoSuchUser
from ...services.repositories import Settings
from .. import sessions
from ..pages import Pages, redirect, repo_url, settings_url
from .auth import FORM_ERRORS, Field, form_status

Flag = Annotated[bool, Form()]


def router(hub: Hub, pages: Pages) -> APIRouter:
    r = APIRouter()

    # ---- the repository page and its tags ---------------------------------------------------

    def repo_page(request: Request, namespace: str, name: str, tab: str) -> Response:
        with hub.unit() as s:
            user = sessions.current_user(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            return pages.render(
                request,
                "repo.html",
                user=user,
                repo=repo,
                tab=tab,
                tags=hub.repos.tags(s, repo),
                starred=hub.social.has_starred(s, user, repo),
                is_admin=can_admin(s, user, repo),
                dockerfile=hub.builds.latest_dockerfile(s, repo),
            )

    @r.get("/u/{namespace}/{name}/")
    def repository(request: Request, namespace: str, name: str) -> Response:
        if namespace == LIBRARY:
            return RedirectResponse(f"/_/{name}/", status_code=301)
        return repo_page(request, namespace, name, "info")

    @r.get("/u/{namespace}/{name}/tags/")
    def repository_tags(request: Request, namespace: str, name: str) -> Response:
        if namespace == LIBRARY:
            return RedirectResponse(f"/_/{name}/tags/", status_code=301)
        return repo_page(request, namespace, name, "tags")

    @r.get("/_/{name}/")
    def official(request: Request, name: str) -> Response:
        return repo_page(request, LIBRARY, name, "info")

    @r.get("/_/{name}/tags/")
    def official_tags(request: Request, name: str) -> Response:
        return repo_page(request, LIBRARY, name, "tags")

    def change_star(request: Request, namespace: str, name: str, starred: bool) -> Response:
        with hub.unit() as s:
            user = sessions.require_user(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            if starred:
                hub.social.star(s, user, repo)
            else:
                hub.social.unstar(s, user, repo)
            return redirect(repo_url(repo))

    @r.post("/u/{namespace}/{name}/star")
    def star(request: Request, namespace: str, name: str) -> Response:
        return change_star(request, namespace, name, starred=True)

    @r.post("/u/{namespace}/{name}/unstar")
    def unstar(request: Request, namespace: str, name: str) -> Response:
        return change_star(request, namespace, name, starred=False)

    # ---- create ------------------------------------------------------------------------------

    def new_page(
        request: Request,
        s: Session,
        user: User,
        *,
        status: int = 200,
        error: str | None = None,
        form: dict[str, str] | None = None,
    ) -> Response:
        form = form or {"namespace": user.username, "name": "", "description": "", "visibility": "public"}
        namespaces = creatable_namespaces(s, user)
        return pages.render(
            request, "new.html", user=user, status=status, error=error, form=form, namespaces=namespaces
        )

    @r.get("/new")
    def new_form(request: Request) -> Response:
        with hub.unit() as s:
            return new_page(request, s, sessions.require_user(hub, s, request))

    @r.post("/new")
    def create(
        request: Request,
        namespace: Field = "",
        name: Field = "",
        description: Field = "",
        visibility: Field = "public",
    ) -> Response:
        try:
            with hub.unit() as s:
                user = sessions.require_user(hub, s, request)
                repo = hub.repos.create(
                    s, user, namespace, name, description=description, is_private=visibility == "private"
                )
            return redirect(repo_url(repo), notice="created")
        except (*FORM_ERRORS, Forbidden) as exc:
            error, status = exc.message, form_status(exc)
        form = {"namespace": namespace, "name": name, "description": description, "visibility": visibility}
        with hub.unit() as s:
            user = sessions.require_user(hub, s, request)
            return new_page(request, s, user, status=status, error=error, form=form)

    # ---- settings ----------------------------------------------------------------------------

    def settings_page(
        request: Request,
        s: Session,
        user: User | None,
        repo: Repository,
        *,
        status: int = 200,
        error: str | None = None,
    ) -> Response:
        return pages.render(request, "settings.html", user=user, repo=repo, status=status, error=error)

    @r.get("/u/{namespace}/{name}/settings/")
    def settings(request: Request, namespace: str, name: str) -> Response:
        with hub.unit() as s:
            user, repo = sessions.require_admin(hub, s, request, namespace, name)
            return settings_page(request, s, user, repo)

    @r.post("/u/{namespace}/{name}/settings/")
    def save_settings(
        request: Request,
        namespace: str,
        name: str,
        description: Field = "",
        full_description: Field = "",
        visibility: Field = "public",
        unlisted: Flag = False,
    ) -> Response:
        changes = Settings(
            description=description,
            full_description=full_description.replace("\r\n", "\n"),
            is_private=visibility == "private",
            is_unlisted=unlisted,
        )
        try:
            with hub.unit() as s:
                user, repo = sessions.require_admin(hub, s, request, namespace, name)
                hub.repos.update(s, user, repo, changes)
            return redirect(settings_url(repo), notice="saved")
        except FORM_ERRORS as exc:
            error, status = exc.message, form_status(exc)
        with hub.unit() as s:
            user, repo = sessions.require_admin(hub, s, request, namespace, name)
            return settings_page(request, s, user, repo, status=status, error=error)

    @r.post("/u/{namespace}/{name}/settings/delete")
    def delete(request: Request, namespace: str, name: str, confirm: Field = "") -> Response:
        try:
            with hub.unit() as s:
                user, repo = sessions.require_admin(hub, s, request, namespace, name)
                if confirm.strip() != repo.name:
                    raise InvalidName(f"Type the repository name ({repo.name}) to delete it")
                hub.repos.delete(s, user, repo)
            return redirect(f"/u/{user.username}/", notice="deleted")
        except InvalidName as exc:
            error = exc.message
        with hub.unit() as s:
            user, repo = sessions.require_admin(hub, s, request, namespace, name)
            return settings_page(request, s, user, repo, status=400, error=error)

    # ---- collaborators -----------------------------------------------------------------------

    def collaborators_page(
        request: Request,
        s: Session,
        user: User,
        repo: Repository,
        *,
        status: int = 200,
        error: str | None = None,
    ) -> Response:
        return pages.render(
            request,
            "collaborators.html",
            user=user,
            repo=repo,
            status=status,
            error=error,
            collaborators=hub.repos.collaborators(s, repo),
        )

    @r.get("/u/{namespace}/{name}/settings/collaborators/")
    def collaborators(request: Request, namespace: str, name: str) -> Response:
        with hub.unit() as s:
            user, repo = sessions.require_admin(hub, s, request, namespace, name)
            return collaborators_page(request, s, user, repo)

    def change_collaborators(
        request: Request, namespace: str, name: str, username: str, add: bool
    ) -> Response:
        try:
            with hub.unit() as s:
                user, repo = sessions.require_admin(hub, s, request, namespace, name)
                if add:
                    hub.repos.add_collaborator(s, user, repo, username)
                else:
                    hub.repos.remove_collaborator(s, user, repo, username)
            notice = "collaborator_added" if add else "collaborator_removed"
            return redirect(settings_url(repo, "collaborators/"), notice=notice)
        except (*FORM_ERRORS, NoSuchUser) as exc:
            error, status = exc.message, form_status(exc)
        with hub.unit() as s:
            user, repo = sessions.require_admin(hub, s, request, namespace, name)
            return collaborators_page(request, s, user, repo, status=status, error=error)

    @r.post("/u/{namespace}/{name}/settings/collaborators/")
    def add_collaborator(request: Request, namespace: str, name: str, username: Field = "") -> Response:
        return change_collaborators(request, namespace, name, username, add=True)

    @r.post("/u/{namespace}/{name}/settings/collaborators/remove")
    def remove_collaborator(request: Request, namespace: str, name: str, username: Field = "") -> Response:
        return change_collaborators(request, namespace, name, username, add=False)

    return r


__all__ = ["router"]
