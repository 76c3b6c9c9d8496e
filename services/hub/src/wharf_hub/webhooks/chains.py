"""Callback chains (protocols.md B): a push calls the repository's first webhook; each next one
only after the receiver of the previous one POSTed ``{"state": "success"}`` to its callback URL.

States: ``pending`` (a step is being delivered), ``waiting`` (delivered, no callback yet), and
the final ``success`` (the last step was validated), ``failure`` / ``error`` (a receiver said
so, or a delivery gave up or was refused). Every transition is a conditional UPDATE on the step
(``position``) and an open state, so the worker and a callback racing for one chain cannot both
win. Each step has its own callback secret, derived from the hub's key and a per-step nonce;
only its hash is stored, and a used or finished step's hash no longer matches.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db.base import utcnow
from ..db.models import HookChain, Repository, Webhook
from ..services.jobs import enqueue
from .payloads import callback_url
from .signing import callback_secret, secret_hash, unusable_hash

log = structlog.get_logger(__name__)

DELIVER = "webhook.deliver"
"""The job kind of one delivery attempt: ``{webhook_id, chain_id, position, attempt, delivery}``."""
OPEN = ("pending", "waiting")
FINAL = ("success", "failure", "error")


def active_hooks(s: Session, repository_id: int) -> list[Webhook]:
    """The chain of a repository: its active webhooks by ``position`` (then age)."""
    return list(
        s.scalars(
            select(Webhook)
            .where(Webhook.repository_id == repository_id, Webhook.active.is_(True))
            .order_by(Webhook.position, Webhook.id)
        )
    )


class ChainSteps:
    """Starts, advances and ends chains; knows how a step's callback URL is made."""

    def __init__(self, hub_url: str, key: bytes) -> None:
        self.hub_url = hub_url
        self.key = key

    def callback_url(self, repo: Repository, chain_id: int, position: int, nonce: str) -> str:
        return callback_url(self.hub_url, repo, callback_secret(self.key, chain_id, position, nonce))

    def start(self, s: Session, repo: Repository, payload: dict[str, Any], hooks: list[Webhook]) -> HookChain:
        """A new chain for one pushed tag; its first step is queued."""
        chain = HookChain(repository_id=repo.id, payload=payload, callback_hash=unusable_hash(), position=0)
        s.add(chain)
        s.flush()
        nonce, chain.callback_hash = self._step(chain.id, 0)
        self._enqueue(s, chain.id, 0, hooks[0], nonce)
        log.info("webhook.chain_started", chain_id=chain.id, repository=repo.remote, hooks=len(hooks))
        return chain

    def _step(self, chain_id: int, position: int) -> tuple[str, str]:
        """A new step's nonce (also its ``X-Wharf-Delivery``) and the hash of its callback secret."""
        nonce = uuid.uuid4().hex
        return nonce, secret_hash(callback_secret(self.key, chain_id, position, nonce))

    @staticmethod
    def _enqueue(s: Session, chain_id: int, position: int, hook: Webhook, nonce: str) -> None:
        job = {
            "webhook_id": hook.id,
            "chain_id": chain_id,
            "position": position,
            "attempt": 1,
            "delivery": nonce,
        }
        enqueue(s, DELIVER, job)

    def advance(self, s: Session, chain: HookChain, used_hash: str, description: str) -> bool:
        """The step behind ``used_hash`` was validated: queue the next hook, or finish with
        success after the last one. False when the step was already closed (a race lost)."""
        hooks = active_hooks(s, chain.repository_id)
        position = chain.position + 1
        if position >= len(hooks):
            return self._transition(s, chain, used_hash, state="success", description=description)
        nonce, digest = self._step(chain.id, position)
        moved = self._transition(
            s,
            chain,
            used_hash,
            state="pending",
            position=position,
            callback_hash=digest,
            description=description,
        )
        if moved:
            self._enqueue(s, chain.id, position, hooks[position], nonce)
            log.info(
                "webhook.chain_advanced", chain_id=chain.id, position=position, hook_id=hooks[position].id
            )
        return moved

    def close(self, s: Session, chain: HookChain, used_hash: str, state: str, description: str) -> bool:
        """A receiver answered ``failure`` or ``error``: the chain stops here."""
        return self._transition(s, chain, used_hash, state=state, description=description)

    @staticmethod
    def _transition(s: Session, chain: HookChain, used_hash: str, **values: Any) -> bool:
        values.setdefault("callback_hash", unusable_hash())
        result = s.execute(
            update(HookChain)
            .where(
                HookChain.id == chain.id,
                HookChain.callback_hash == used_hash,
                HookChain.state.in_(OPEN),
            )
            .values(updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        s.refresh(chain)
        done = bool(result.rowcount)  # type: ignore[attr-defined]
        if done and chain.state in FINAL:
            log.info("webhook.chain_ended", chain_id=chain.id, state=chain.state)
        return done


def delivered(s: Session, chain_id: int, position: int) -> None:
    """Step ``position`` was delivered (2xx): wait for its callback, unless one already came."""
    s.execute(
        update(HookChain)
        .where(HookChain.id == chain_id, HookChain.position == position, HookChain.state == "pending")
        .values(state="waiting", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def fail_step(s: Session, chain_id: int, position: int, description: str) -> None:
    """Step ``position`` could not be delivered (gave up, refused, webhook gone): the chain ends
    with ``error``, unless it already moved on."""
    result = s.execute(
        update(HookChain)
        .where(HookChain.id == chain_id, HookChain.position == position, HookChain.state.in_(OPEN))
        .values(
            state="error", description=description[:255], callback_hash=unusable_hash(), updated_at=utcnow()
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        log.info("webhook.chain_ended", chain_id=chain_id, state="error", reason=description)


__all__ = ["DELIVER", "FINAL", "OPEN", "ChainSteps", "active_hooks", "delivered", "fail_step"]
