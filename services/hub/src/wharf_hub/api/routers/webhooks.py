"""Webhooks: ``/api/v1/repositories/{namespace}/{name}/webhooks`` for the owner, and the
callback URL receivers POST to (``/u/{namespace}/{name}/hook/{secret}/``, protocols.md B).

The callback needs no credentials (its secret is the credential) and answers JSON, errors
included (problem JSON, as under ``/api``: ``api/errors.py`` knows the path), since its
callers are programs.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from wharf_common import jsonsafe

from ...hub import Hub
from ...webhooks.errors import InvalidCallback
from ..deps import api_signed_in
from ..schemas.webhooks import (
    CallbackResult,
    DeliveryInfo,
    HookChainInfo,
    WebhookAdd,
    WebhookCreated,
    WebhookInfo,
)
from ..v1 import RowId, new_router, problems

WEBHOOKS = "/repositories/{namespace}/{name}/webhooks"
CALLBACK = "/u/{namespace}/{name}/hook/{secret}/"
MAX_CALLBACK_BYTES = 64 << 10


def _api(hub: Hub) -> APIRouter:
    r = new_router("webhooks")

    @r.get(WEBHOOKS, summary="List webhooks", responses=problems(401, 403, 404))
    def list_webhooks(namespace: str, name: str, request: Request) -> list[WebhookInfo]:
        """The chain, in the order it is called after a push. Secrets are not shown."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            return [WebhookInfo.of(h) for h in hub.webhooks.list(s, user, repo)]

    @r.post(WEBHOOKS, status_code=201, summary="Add a webhook", responses=problems(401, 403, 404, 409))
    def add_webhook(namespace: str, name: str, body: WebhookAdd, request: Request) -> WebhookCreated:
        """At the end of the chain. The answer holds the signing secret, shown only here."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            return WebhookCreated.created(hub.webhooks.add(s, user, repo, body.name, body.url))

    @r.delete(
        f"{WEBHOOKS}/{{webhook_id}}",
        status_code=204,
        summary="Remove a webhook",
        responses=problems(401, 403, 404),
    )
    def remove_webhook(namespace: str, name: str, webhook_id: RowId, request: Request) -> None:
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            hub.webhooks.remove(s, user, hub.repos.get(s, user, namespace, name), webhook_id)

    @r.get(
        f"{WEBHOOKS}/{{webhook_id}}/deliveries",
        summary="A webhook's deliveries",
        responses=problems(401, 403, 404),
    )
    def list_deliveries(
        namespace: str, name: str, webhook_id: RowId, request: Request, limit: int = Query(50, ge=1, le=500)
    ) -> list[DeliveryInfo]:
        """Every attempt, newest first."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            return [DeliveryInfo.of(d) for d in hub.webhooks.deliveries(s, user, repo, webhook_id, limit)]

    @r.post(
        f"{WEBHOOKS}/{{webhook_id}}/test",
        status_code=202,
        summary="Send a test delivery",
        responses=problems(401, 403, 404),
    )
    def test_webhook(namespace: str, name: str, webhook_id: RowId, request: Request) -> Response:
        """A sample push payload, delivered once by the worker; see the deliveries for the result."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            hub.webhooks.test(s, user, hub.repos.get(s, user, namespace, name), webhook_id)
        return Response(status_code=202)

    @r.get(f"{WEBHOOKS}/chains", summary="Recent webhook chains", responses=problems(401, 403, 404))
    def list_chains(
        namespace: str, name: str, request: Request, limit: int = Query(20, ge=1, le=500)
    ) -> list[HookChainInfo]:
        """The chains pushes started, newest first, with the payload each delivered."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            return [HookChainInfo.of(c) for c in hub.webhooks.chains(s, user, repo, limit)]

    return r


def router(hub: Hub) -> APIRouter:
    r = APIRouter()
    r.include_router(_api(hub))

    def validate(namespace: str, name: str, secret: str, body: object) -> CallbackResult:
        with hub.unit() as s:
            chain = hub.webhooks.callback(s, secret, body, namespace=namespace, name=name)
            return CallbackResult(state=chain.state, description=chain.description)

    @r.post(
        CALLBACK, tags=["webhooks"], summary="Validate a webhook chain step", response_model=CallbackResult
    )
    async def callback(namespace: str, name: str, secret: str, request: Request) -> Response:
        """``{"state": "success|failure|error", "description", "context", "target_url"}``:
        ``success`` calls the next webhook of the chain; anything else stops it."""
        raw = await request.body()
        if len(raw) > MAX_CALLBACK_BYTES:
            raise InvalidCallback("The callback body is too large")
        try:
            body = jsonsafe.loads(raw)
        except ValueError:
            raise InvalidCallback("The callback body is not valid JSON") from None
        result = await run_in_threadpool(validate, namespace, name, secret, body)
        return JSONResponse(result.model_dump())

    return r


__all__ = ["router"]
