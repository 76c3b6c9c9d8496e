"""The ``webhook.deliver`` job: one HTTP attempt, recorded as a :class:`Delivery` row.

An attempt succeeds on any 2xx. A failed one (other status, timeout, connection error, a host
that does not resolve) queues the next attempt ``backoff * 2**(attempt-1)`` seconds later; the
attempt number ``max_attempts`` is recorded ``gave_up`` and ends the chain with ``error``. A
target the policy refuses is recorded ``refused`` and is not retried. Redirects are not
followed, proxies from the environment are not used, and the connection goes to the address
the policy checked (``Host`` and TLS SNI keep the name).

No row is written before the HTTP call, so the worker holds no write lock while a receiver
is slow (on SQLite a held lock would stall every request, pushes included).
"""

from __future__ import annotations

import functools
import json
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy.orm import Session

from ..db.base import utcnow
from ..db.models import Delivery, HookChain, Repository, User, Webhook
from ..services.jobs import enqueue
from ..settings import WebhookSettings
from .chains import DELIVER, OPEN, ChainSteps, delivered, fail_step
from .errors import HostNotFound, TargetRefused
from .payloads import callback_prefix, sample_payload, with_callback
from .policy import Target, TargetPolicy
from .signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, USER_AGENT, sign

log = structlog.get_logger(__name__)

EXCERPT_BYTES = 1024
ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt got back."""

    ok: bool
    code: int | None = None
    duration_ms: int = 0
    excerpt: str = ""
    error: str = ""


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every attempt: building one (reading the CA bundle) took 70-400 ms
    on a loaded machine, a delay each delivery paid before connecting."""
    return httpx.create_ssl_context(trust_env=False)


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """POST ``body`` to ``target``'s checked address; at most 1 KiB of the answer is read."""
    started = time.monotonic()
    deadline = started + timeout
    request_headers = {**headers, "Host": target.host_header}
    extensions = {"sni_hostname": target.server_name} if target.url.scheme == "https" else {}

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with (
            httpx.Client(
                timeout=timeout, follow_redirects=False, trust_env=False, verify=tls_context()
            ) as client,
            client.stream(
                "POST", target.pinned_url, content=body, headers=request_headers, extensions=extensions
            ) as response,
        ):
            excerpt = b""
            for chunk in response.iter_raw():
                excerpt += chunk
                if len(excerpt) >= EXCERPT_BYTES or time.monotonic() > deadline:
                    break
            text = excerpt[:EXCERPT_BYTES].decode("utf-8", errors="replace")
            ok = 200 <= response.status_code < 300
            error = "" if ok else f"HTTP {response.status_code}"
            return Outcome(ok, response.status_code, elapsed(), text, error)
    except httpx.TimeoutException:
        return Outcome(False, None, elapsed(), "", f"timed out after {timeout:g} s")
    except httpx.HTTPError as exc:
        return Outcome(False, None, elapsed(), "", f"{type(exc).__name__}: {exc}"[:ERROR_CHARS])


class Deliverer:
    """The handler of :data:`~.chains.DELIVER` jobs (registered on the worker in ``app.py``)."""

    def __init__(self, settings: WebhookSettings, policy: TargetPolicy, steps: ChainSteps) -> None:
        self.settings = settings
        self.policy = policy
        self.steps = steps

    def deliver(self, s: Session, job: dict[str, Any]) -> None:
        hook = s.get(Webhook, int(job["webhook_id"]))
        chain_id = int(job["chain_id"]) if job.get("chain_id") is not None else None
        position = int(job.get("position", 0))
        if hook is None:
            if chain_id is not None:
                fail_step(s, chain_id, position, "The webhook was removed")
            return
        chain = s.get(HookChain, chain_id) if chain_id is not None else None
        if chain_id is not None and (chain is None or chain.position != position or chain.state not in OPEN):
            log.info("webhook.skipped", webhook_id=hook.id, chain_id=chain_id, reason="step closed")
            return
        repo = s.get(Repository, hook.repository_id)
        assert repo is not None  # the webhook row would be gone with it
        body = self._body(s, job, repo, chain)
        raw = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",  # the excerpt is read raw: no decompression bombs
            "User-Agent": USER_AGENT,
            EVENT_HEADER: str(job.get("event", "push")),
            DELIVERY_HEADER: str(job["delivery"]),
            SIGNATURE_HEADER: sign(hook.secret, raw),
        }
        attempt = int(job.get("attempt", 1))
        try:
            target = self.policy.check(hook.url)
        except HostNotFound as exc:
            outcome = Outcome(False, error=exc.message)
        except TargetRefused as exc:
            self._record(s, hook, chain_id, attempt, "refused", Outcome(False, error=exc.message), body, repo)
            log.warning("webhook.refused", webhook_id=hook.id, url=hook.url, reason=exc.message)
            if chain_id is not None:
                fail_step(s, chain_id, position, f"{hook.name}: {exc.message}")
            return
        else:
            outcome = post(target, raw, headers, self.settings.timeout)
        self._settle(s, hook, job, chain_id, position, attempt, outcome, body, repo)

    def _body(
        self, s: Session, job: dict[str, Any], repo: Repository, chain: HookChain | None
    ) -> dict[str, Any]:
        if isinstance(job.get("payload"), dict):  # an event of its own (a build's), no chain
            return dict(job["payload"])
        if chain is None:  # a test delivery
            pusher = s.get(User, int(job["pusher_id"])) if job.get("pusher_id") else None
            return sample_payload(self.steps.hub_url, repo, pusher).model_dump()
        url = self.steps.callback_url(repo, chain.id, chain.position, str(job["delivery"]))
        return with_callback(dict(chain.payload), url)

    def _settle(
        self,
        s: Session,
        hook: Webhook,
        job: dict[str, Any],
        chain_id: int | None,
        position: int,
        attempt: int,
        outcome: Outcome,
        body: dict[str, Any],
        repo: Repository,
    ) -> None:
        fields = {"webhook_id": hook.id, "chain_id": chain_id, "attempt": attempt, "code": outcome.code}
        if outcome.ok:
            self._record(s, hook, chain_id, attempt, "success", outcome, body, repo)
            log.info("webhook.delivered", **fields, duration_ms=outcome.duration_ms)
            if chain_id is not None:
                delivered(s, chain_id, position)
            return
        once = chain_id is None and "payload" not in job  # a test delivery is tried once
        last = once or attempt >= max(1, self.settings.max_attempts)
        if not last:
            self._record(s, hook, chain_id, attempt, "failed", outcome, body, repo)
            delay = self.settings.backoff * 2 ** (attempt - 1)
            enqueue(s, DELIVER, {**job, "attempt": attempt + 1}, run_at=utcnow() + timedelta(seconds=delay))
            log.warning("webhook.delivery_failed", **fields, error=outcome.error, retry_in=delay)
            return
        status = "failed" if once else "gave_up"
        self._record(s, hook, chain_id, attempt, status, outcome, body, repo)
        log.warning(
            "webhook.gave_up" if chain_id else "webhook.delivery_failed", **fields, error=outcome.error
        )
        if chain_id is not None:
            fail_step(
                s, chain_id, position, f"{hook.name}: gave up after {attempt} attempts ({outcome.error})"
            )

    def _record(
        self,
        s: Session,
        hook: Webhook,
        chain_id: int | None,
        attempt: int,
        status: str,
        outcome: Outcome,
        body: dict[str, Any],
        repo: Repository,
    ) -> None:
        stored = dict(body)
        if chain_id is not None:  # the callback secret is never stored
            stored["callback_url"] = callback_prefix(self.steps.hub_url, repo) + "<secret>/"
        s.add(
            Delivery(
                webhook_id=hook.id,
                chain_id=chain_id,
                attempt=attempt,
                status=status,
                response_code=outcome.code,
                duration_ms=outcome.duration_ms,
                body_excerpt=outcome.excerpt[:EXCERPT_BYTES],
                error=outcome.error[:ERROR_CHARS],
                request_body=stored,
            )
        )
        s.flush()


__all__ = ["EXCERPT_BYTES", "Deliverer", "Outcome", "post"]
