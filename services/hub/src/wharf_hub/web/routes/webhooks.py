"""A repository's webhooks in the browser: the list with each hook's recent deliveries and
the last pushes' chains, add (the signing secret is shown once), remove, a test delivery, and
one hook's full delivery history.

Like every settings page these are for the repository's admins: collaborators get 403.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ...db.models import Repository, User, Webhook
from ...hub import Hub
from ...webhooks.errors import NoSuchWebhook
from .. import sessions
from ..pages import Pages, redirect, settings_url
from .auth import FORM_ERRORS, Field, form_status

RECENT = 10
CHAINS = 5
HISTORY = 50


def router(hub: Hub, pages: Pages) -> APIRouter:
    r = APIRouter()

    def hooks_page(
        request: Request,
        s: Session,
        user: User,
        repo: Repository,
        *,
        status: int = 200,
        error: str | None = None,
        created: Webhook | None = None,
        form: dict[str, str] | None = None,
    ) -> Response:
        hooks = hub.webhooks.list(s, user, repo)
        history = {hook.id: hub.webhooks.deliveries(s, user, repo, hook.id, RECENT) for hook in hooks}
        chains = hub.webhooks.chains(s, user, repo, CHAINS) if hooks else []
        return pages.render(
            request,
            "webhooks.html",
            user=user,
            repo=repo,
            status=status,
            error=error,
            hooks=hooks,
            history=history,
            chains=chains,
            created=created,
            form=form or {"name": "", "url": ""},
        )

    @r.get("/u/{namespace}/{name}/settings/webhooks/")
    def webhooks(request: Request, namespace: str, name: str) -> Response:
        with hub.unit() as s:
            user, repo = sessions.require_admin(hub, s, request, namespace, name)
            return hooks_page(request, s, user, repo)

    @r.post("/u/{namespace}/{name}/settings/webhooks/")
    def add_webhook(
        request: Request, namespace: str, name: str, hook_name: Field = "", url: Field = ""
    ) -> Response:
        try:
            with hub.unit() as s:
                user, repo = sessions.require_admin(hub, s, request, namespace, name)
                created = hub.webhooks.add(s, user, repo, hook_name, url)
                return hooks_page(request, s, user, repo, status=201, created=created)  # the secret, once
        except FORM_ERRORS as exc:
            error, status = exc.message, form_status(exc)
        with hub.unit() as s:
            user, repo = sessions.require_admin(hub, s, request, namespace, name)
            form = {"name": hook_name, "url": url}
            return hooks_page(request, s, user, repo, status=status, error=error, form=form)

    @r.post("/u/{namespace}/{name}/settings/webhooks/{webhook_id}/delete")
    def remove_webhook(request: Request, namespace: str, name: str, webhook_id: int) -> Response:
        with hub.unit() as s:
            user, repo = sessions.require_admin(hub, s, request, namespace, name)
            hub.webhooks.remove(s, user, repo, webhook_id)
        return redirect(settings_url(repo, "webhooks/"), notice="webhook_removed")

    @r.post("/u/{namespace}/{name}/settings/webhooks/{webhook_id}/test")
    def test_webhook(request: Request, namespace: str, name: str, webhook_id: int) -> Response:
        with hub.unit() as s:
            user, repo = sessions.require_admin(hub, s, request, namespace, name)
            hub.webhooks.test(s, user, repo, webhook_id)
        return redirect(settings_url(repo, "webhooks/"), notice="webhook_test")

    @r.get("/u/{namespace}/{name}/settings/webhooks/{webhook_id}/")
    def webhook_history(request: Request, namespace: str, name: str, webhook_id: int) -> Response:
        with hub.unit() as s:
            user, repo = sessions.require_admin(hub, s, request, namespace, name)
            hook = next((h for h in hub.webhooks.list(s, user, repo) if h.id == webhook_id), None)
            if hook is None:
                raise NoSuchWebhook(webhook_id)
            deliveries = hub.webhooks.deliveries(s, user, repo, webhook_id, HISTORY)
            return pages.render(
                request, "webhook.html", user=user, repo=repo, hook=hook, deliveries=deliveries
            )

    return r


__all__ = ["router"]
