"""Automated builds in the browser: the settings page ("Create automated build": source, rules,
trigger URL and push-webhook secret), the build list with a Trigger button per rule, and one build
with its log (the page reloads itself while the build runs; no JavaScript).

Settings are for the repository's admins; the build list, logs, Trigger and Cancel for whoever may
push (collaborators, organisation members).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ...db.models import Repository, User
from ...hub import Hub
from ...services.access import can_admin
from ...services.builds import RuleSpec
from .. import sessions
from ..pages import Pages, redirect, settings_url
from .auth import FORM_ERRORS, form_status

RULE_ROWS = 3
Fields = Annotated[list[str], Form()]


def builds_url(repo: Repository, part: str = "") -> str:
    return f"/u/{repo.namespace}/{repo.name}/builds/{part}"


def _rules_from_form(
    types: list[str], names: list[str], dockerfiles: list[str], contexts: list[str], tags: list[str]
) -> list[RuleSpec]:
    rules = []
    for i, name in enumerate(names):
        if not name.strip():
            continue
        rules.append(
            RuleSpec(
                source_type=(types[i] if i < len(types) else "branch").strip().lower(),
                source_name=name.strip(),
                dockerfile=(dockerfiles[i] if i < len(dockerfiles) else "").strip() or "Dockerfile",
                context=(contexts[i] if i < len(contexts) else "").strip() or "/",
                tag_template=(tags[i] if i < len(tags) else "").strip() or "latest",
            )
        )
    return rules


def router(hub: Hub, pages: Pages) -> APIRouter:
    r = APIRouter()

    def pusher(s: Session, request: Request, namespace: str, name: str) -> tuple[User, Repository]:
        user = sessions.require_user(hub, s, request)
        return user, hub.repos.get(s, user, namespace, name)

    def settings_page(
        request: Request,
        s: Session,
        user: User,
        repo: Repository,
        *,
        status: int = 200,
        error: str | None = None,
    ) -> Response:
        auto = hub.builds.automation(s, user, repo)
        rules = list(auto.rules) if auto else []
        return pages.render(
            request,
            "build_settings.html",
            user=user,
            repo=repo,
            status=status,
            error=error,
            auto=auto,
            rows=max(RULE_ROWS, len(rules) + 1),
            rules=rules,
            hub_url=hub.settings.url,
        )

    @r.get("/u/{namespace}/{name}/settings/builds/")
    def build_settings(request: Request, namespace: str, name: str) -> Response:
        with hub.unit() as s:
            user, repo = sessions.require_admin(hub, s, request, namespace, name)
            return settings_page(request, s, user, repo)

    @r.post("/u/{namespace}/{name}/settings/builds/")
    def save_build_settings(
        request: Request,
        namespace: str,
        name: str,
        source_url: Annotated[str, Form()] = "",
        autobuild: Annotated[bool, Form()] = False,
        links: Annotated[str, Form()] = "",
        source_type: Fields = [],  # noqa: B006 - FastAPI reads form lists this way
        source_name: Fields = [],  # noqa: B006
        dockerfile: Fields = [],  # noqa: B006
        context: Fields = [],  # noqa: B006
        tag_template: Fields = [],  # noqa: B006
    ) -> Response:
        rules = _rules_from_form(source_type, source_name, dockerfile, context, tag_template)
        try:
            with hub.unit() as s:
                user, repo = sessions.require_admin(hub, s, request, namespace, name)
                linked = [name for name in links.replace(",", " ").split() if name]
                hub.builds.configure(s, user, repo, source_url, autobuild, rules, linked)
            return redirect(settings_url(repo, "builds/"), notice="saved")
        except FORM_ERRORS as exc:
            error, status = exc.message, form_status(exc)
        with hub.unit() as s:
            user, repo = sessions.require_admin(hub, s, request, namespace, name)
            return settings_page(request, s, user, repo, status=status, error=error)

    @r.post("/u/{namespace}/{name}/settings/builds/token")
    def regenerate_token(request: Request, namespace: str, name: str) -> Response:
        with hub.unit() as s:
            user, repo = sessions.require_admin(hub, s, request, namespace, name)
            hub.builds.regenerate_token(s, user, repo)
        return redirect(settings_url(repo, "builds/"), notice="saved")

    @r.post("/u/{namespace}/{name}/settings/builds/delete")
    def disable_builds(request: Request, namespace: str, name: str) -> Response:
        with hub.unit() as s:
            user, repo = sessions.require_admin(hub, s, request, namespace, name)
            hub.builds.disable(s, user, repo)
        return redirect(settings_url(repo, "builds/"), notice="saved")

    @r.get("/u/{namespace}/{name}/builds/")
    def build_list(request: Request, namespace: str, name: str) -> Response:
        with hub.unit() as s:
            user, repo = pusher(s, request, namespace, name)
            auto = hub.builds.automation(s, user, repo)
            builds = hub.builds.list(s, user, repo)
            return pages.render(
                request,
                "builds.html",
                user=user,
                repo=repo,
                auto=auto,
                builds=builds,
                is_admin=can_admin(s, user, repo),
                builds_url=builds_url,
            )

    @r.post("/u/{namespace}/{name}/builds/trigger")
    def trigger(request: Request, namespace: str, name: str, rule_id: Annotated[int, Form()]) -> Response:
        with hub.unit() as s:
            user, repo = pusher(s, request, namespace, name)
            started = hub.builds.trigger(s, user, repo, rule_id=rule_id)
        target = builds_url(repo, f"{started[0].id}/") if started else builds_url(repo)
        return redirect(target)

    @r.get("/u/{namespace}/{name}/builds/{build_id}/")
    def build_page(request: Request, namespace: str, name: str, build_id: int) -> Response:
        with hub.unit() as s:
            user, repo = pusher(s, request, namespace, name)
            build = hub.builds.get(s, user, repo, build_id)
            return pages.render(
                request, "build.html", user=user, repo=repo, build=build, builds_url=builds_url
            )

    @r.post("/u/{namespace}/{name}/builds/{build_id}/cancel")
    def cancel(request: Request, namespace: str, name: str, build_id: int) -> Response:
        with hub.unit() as s:
            user, repo = pusher(s, request, namespace, name)
            hub.builds.cancel(s, user, repo, build_id)
        return redirect(builds_url(repo, f"{build_id}/"))

    return r


__all__ = ["builds_url", "router"]
