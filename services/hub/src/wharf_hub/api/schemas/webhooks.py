"""Webhooks of a repository, their delivery history and the chains pushes started."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ...db.models import Delivery, HookChain, Webhook
from .common import Input


class WebhookAdd(Input):
    name: str = Field(
        description="Shown in the history; unique per repository.", examples=["ci"], max_length=100
    )
    url: str = Field(
        description="http(s) only, no credentials; the address must be public (or allowed by the hub).",
        examples=["https://ci.example.com/hooks/docker"],
        max_length=2000,
    )


class WebhookInfo(BaseModel):
    """One webhook of the repository's chain (called in ``position`` order)."""

    id: int
    name: str
    url: str
    position: int
    active: bool
    date_created: datetime

    @classmethod
    def of(cls, hook: Webhook) -> WebhookInfo:
        return cls(
            id=hook.id,
            name=hook.name,
            url=hook.url,
            position=hook.position,
            active=hook.active,
            date_created=hook.created_at,
        )


class WebhookCreated(WebhookInfo):
    secret: str = Field(
        description="Signs every delivery (`X-Wharf-Signature-256: sha256=<HMAC-SHA256(secret, body)>`); "
        "shown only in this answer."
    )

    @classmethod
    def created(cls, hook: Webhook) -> WebhookCreated:
        return cls(**WebhookInfo.of(hook).model_dump(), secret=hook.secret)


class DeliveryInfo(BaseModel):
    """One HTTP attempt to one webhook."""

    id: int
    webhook_id: int
    chain_id: int | None
    attempt: int
    status: str = Field(description="`success`, `failed` (retried), `gave_up` or `refused`.")
    response_code: int | None
    duration_ms: int
    body_excerpt: str = Field(description="The first KiB of the receiver's answer.")
    error: str
    date_created: datetime

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryInfo:
        return cls(
            id=delivery.id,
            webhook_id=delivery.webhook_id,
            chain_id=delivery.chain_id,
            attempt=delivery.attempt,
            status=delivery.status,
            response_code=delivery.response_code,
            duration_ms=delivery.duration_ms,
            body_excerpt=delivery.body_excerpt,
            error=delivery.error,
            date_created=delivery.created_at,
        )


class HookChainInfo(BaseModel):
    """One push's walk down the chain."""

    id: int
    state: str = Field(description="`pending`, `waiting` (for a callback), `success`, `failure` or `error`.")
    position: int = Field(description="Index of the webhook the chain is at.")
    description: str
    payload: dict[str, object]
    date_created: datetime
    last_updated: datetime

    @classmethod
    def of(cls, chain: HookChain) -> HookChainInfo:
        return cls(
            id=chain.id,
            state=chain.state,
            position=chain.position,
            description=chain.description,
            payload=dict(chain.payload),
            date_created=chain.created_at,
            last_updated=chain.updated_at,
        )


class CallbackResult(BaseModel):
    """The chain after a callback: ``pending`` when the next webhook is being called."""

    state: str
    description: str


__all__ = ["CallbackResult", "DeliveryInfo", "HookChainInfo", "WebhookAdd", "WebhookCreated", "WebhookInfo"]
