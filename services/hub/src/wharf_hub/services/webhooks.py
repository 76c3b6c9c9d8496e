"""Webhooks of a repository: manage them, start their chain on a push, take the callbacks.

Only the repository's owner (and admins, organisation owners) see or change webhooks. The
deliveries themselves run in the worker (:mod:`wharf_hub.webhooks.delivery`), never in a
request; a push only queues the first step of the chain.
"""

from __future__ import annotations

import builtins
import uuid
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import Delivery, HookChain, Repository, User, Webhook
from ..settings import WebhookSettings
from ..webhooks.chains import DELIVER, OPEN, ChainSteps, active_hooks
from ..webhooks.delivery import Deliverer
from ..webhooks.errors import InvalidCallback, NoSuchCallback, NoSuchWebhook
from ..webhooks.payloads import push_payload
from ..webhooks.policy import TargetPolicy
from ..webhooks.signing import callback_key, new_secret, secret_hash
from .access import can_admin
from .errors import AccessDenied, AlreadyExists, InvalidName, LoginRequired
from .jobs import enqueue

log = structlog.get_logger(__name__)

MAX_HOOKS = 20
MAX_NAME = 100
STATES = ("success", "failure", "error")
LIMITS = {"description": 255, "context": 100, "target_url": 2000}


def callback_fields(body: object) -> dict[str, str]:
    """``{"state", "description", "context", "target_url"}`` from a callback body, checked."""
    if not isinstance(body, dict):
        raise InvalidCallback("The callback body must be a JSON object")
    state = body.get("state")
    if state not in STATES:
        raise InvalidCallback('"state" is required and must be one of: success, failure, error')
    fields = {"state": str(state)}
    for key, limit in LIMITS.items():
        value = body.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise InvalidCallback(f'"{key}" must be a string')
        if len(value) > limit:
            raise InvalidCallback(f'"{key}" may have at most {limit} characters')
        fields[key] = value
    return fields


class WebhookService:
    def __init__(
        self, settings: WebhookSettings, hub_url: str, secret_key: bytes, policy: TargetPolicy | None = None
    ) -> None:
        self.settings = settings
        self.hub_url = hub_url
        self.policy = policy or TargetPolicy(settings.allow, settings.deny)
        self.steps = ChainSteps(hub_url, callback_key(secret_key))
        self.deliverer = Deliverer(settings, self.policy, self.steps)

    # ---- managing webhooks (the owner) ----------------------------------------------------

    @staticmethod
    def _check_admin(s: Session, user: User | None, repo: Repository) -> None:
        if user is None:
            raise LoginRequired()
        if not can_admin(s, user, repo):
            raise AccessDenied("Only the owner may manage the webhooks of this repository")

    def _hook(self, s: Session, repo: Repository, webhook_id: int) -> Webhook:
        hook = s.get(Webhook, webhook_id)
        if hook is None or hook.repository_id != repo.id:
            raise NoSuchWebhook(webhook_id)
        return hook

    def list(self, s: Session, user: User | None, repo: Repository) -> list[Webhook]:
        """The chain, in the order it is called."""
        self._check_admin(s, user, repo)
        return builtins.list(
            s.scalars(
                select(Webhook).where(Webhook.repository_id == repo.id).order_by(Webhook.position, Webhook.id)
            )
        )

    def add(self, s: Session, user: User | None, repo: Repository, name: str, url: str) -> Webhook:
        """A webhook at the end of the chain, with a new signing secret (``Webhook.secret``)."""
        self._check_admin(s, user, repo)
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidName(f"A webhook needs a name of 1 to {MAX_NAME} characters")
        url = url.strip()
        self.policy.check(url)  # TargetRefused / HostNotFound: 400 with the reason
        hooks = self.list(s, user, repo)
        if any(h.name == name for h in hooks):
            raise AlreadyExists(f"A webhook named {name} already exists")
        if len(hooks) >= MAX_HOOKS:
            raise InvalidName(f"A repository may have at most {MAX_HOOKS} webhooks")
        last = s.scalar(select(func.max(Webhook.position)).where(Webhook.repository_id == repo.id))
        hook = Webhook(
            repository_id=repo.id,
            name=name,
            url=url,
            secret=new_secret(),
            position=(last + 1) if last is not None else 0,
            active=True,
        )
        s.add(hook)
        s.flush()
        log.info(
            "webhook.added", webhook_id=hook.id, repository=repo.remote, by=user.username if user else None
        )
        return hook

    def remove(self, s: Session, user: User | None, repo: Repository, webhook_id: int) -> None:
        self._check_admin(s, user, repo)
        hook = self._hook(s, repo, webhook_id)
        s.delete(hook)
        s.flush()
        log.info("webhook.removed", webhook_id=webhook_id, repository=repo.remote)

    def deliveries(
        self, s: Session, user: User | None, repo: Repository, webhook_id: int | None = None, limit: int = 50
    ) -> builtins.list[Delivery]:
        """Attempts, newest first: of one webhook, or of every webhook of ``repo``."""
        self._check_admin(s, user, repo)
        query = select(Delivery).join(Webhook, Webhook.id == Delivery.webhook_id)
        query = query.where(Webhook.repository_id == repo.id)
        if webhook_id is not None:
            query = query.where(Delivery.webhook_id == self._hook(s, repo, webhook_id).id)
        limit = max(1, min(limit, 500))
        return builtins.list(s.scalars(query.order_by(Delivery.id.desc()).limit(limit)))

    def chains(
        self, s: Session, user: User | None, repo: Repository, limit: int = 20
    ) -> builtins.list[HookChain]:
        """The chains pushes started, newest first."""
        self._check_admin(s, user, repo)
        limit = max(1, min(limit, 500))
        query = select(HookChain).where(HookChain.repository_id == repo.id).order_by(HookChain.id.desc())
        return builtins.list(s.scalars(query.limit(limit)))

    def test(self, s: Session, user: User | None, repo: Repository, webhook_id: int) -> None:
        """Queue one delivery of a sample payload to one webhook (tried once, no chain)."""
        self._check_admin(s, user, repo)
        hook = self._hook(s, repo, webhook_id)
        job = {
            "webhook_id": hook.id,
            "chain_id": None,
            "attempt": 1,
            "delivery": uuid.uuid4().hex,
            "pusher_id": user.id if user else None,
        }
        enqueue(s, DELIVER, job)
        log.info("webhook.test_queued", webhook_id=hook.id)

    # ---- a push and its chain (the worker, the receivers) -----------------------------------

    def on_push(
        self, s: Session, repo: Repository, pusher: User | None, tag: str, images: builtins.list[str]
    ) -> None:
        """The push listener: one chain per pushed tag, when the repository has webhooks."""
        hooks = active_hooks(s, repo.id)
        if not hooks:
            return
        payload = push_payload(self.hub_url, repo, pusher, tag, images).model_dump()
        self.steps.start(s, repo, payload, hooks)

    def deliver(self, s: Session, job: dict[str, Any]) -> None:
        """The worker's handler for ``webhook.deliver`` jobs."""
        self.deliverer.deliver(s, job)

    def callback(
        self, s: Session, secret: str, body: object, *, namespace: str | None = None, name: str | None = None
    ) -> HookChain:
        """A receiver validates its step: ``success`` moves the chain on, ``failure``/``error``
        stop it. Unknown or used secrets (or another repository's path) are :class:`NoSuchCallback`."""
        digest = secret_hash(secret)
        chain = s.scalar(select(HookChain).where(HookChain.callback_hash == digest))
        if chain is None or chain.state not in OPEN:
            raise NoSuchCallback()
        if namespace is not None or name is not None:
            repo = s.get(Repository, chain.repository_id)
            if repo is None or (namespace, name) != (repo.namespace, repo.name):
                raise NoSuchCallback()
        fields = callback_fields(body)
        if fields["state"] == "success":
            moved = self.steps.advance(s, chain, digest, fields["description"])
        else:
            moved = self.steps.close(s, chain, digest, fields["state"], fields["description"])
        if not moved:
            raise NoSuchCallback()
        log.info(
            "webhook.callback",
            chain_id=chain.id,
            state=fields["state"],
            context=fields["context"],
            target_url=fields["target_url"],
            chain_state=chain.state,
        )
        return chain


__all__ = ["WebhookService", "callback_fields"]
