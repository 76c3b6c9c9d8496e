"""Automated builds, the builder's side: hand ids to the queue, claims, status, log, push credential.

Workers (``wharf-builder``) take build ids from Celery on Redis and talk to the hub at
``/internal/builds/...`` with the shared builder secret. A claim returns the build's spec and a
push credential valid for that build alone (``wharf-build-<id>`` and a random secret, which the
index accepts only for the build's repository and only while the build runs). The hub never
imports the builder: it sends the task by name.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from datetime import timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session
from wharf_common.errors import Conflict, InvalidArgument

from ..db.base import utcnow
from ..db.models import Build, Job, Repository
from ..db.models.builds import BUILD_STATES, FINAL_STATES
from .buildevents import announce
from .builds import NoSuchBuild
from .jobs import enqueue

log = structlog.get_logger(__name__)

REAP = "build.reap"
RUN_BUILD = "wharf_builder.tasks.run_build"
"""The builder's task name (``wharf_builder.tasks.RUN_BUILD``)."""
PUSH_USER = re.compile(r"wharf-build-([0-9]{1,18})")
MAX_LOG = 4 << 20
RUNNING = ("cloning", "building", "pushing")


class BuildNotClaimable(Conflict):
    def __init__(self, build_id: int, why: str) -> None:
        super().__init__(f"build {build_id} is {why}")


class BuildQueue(Protocol):
    def send(self, build_id: int) -> None: ...

    def interrupt(self, build_id: int) -> None:
        """Stop the build's task where it runs (a cancel)."""
        ...


def task_id(build_id: int) -> str:
    """The task's id: known without storing it, so a cancel can name the task."""
    return f"wharf-build-{build_id}"


class CeleryQueue:
    """Sends ``run_build(id)`` to the builders' broker (Redis), by name."""

    def __init__(self, broker_url: str) -> None:
        self.broker_url = broker_url
        self._app: Any = None
        self._lock = threading.Lock()

    def _celery(self) -> Any:
        with self._lock:
            if self._app is None:
                from celery import Celery  # only hubs with builders pay for the import

                self._app = Celery("wharf_hub", broker=self.broker_url, set_as_current=False)
                self._app.conf.broker_connection_retry_on_startup = True
            return self._app

    def send(self, build_id: int) -> None:
        self._celery().send_task(
            RUN_BUILD,
            args=[build_id],
            task_id=task_id(build_id),
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.2},
        )

    def interrupt(self, build_id: int) -> None:
        """Celery's revoke with SIGUSR1: the task gets SoftTimeLimitExceeded where it blocks (a
        build step with no output), and the builder reports the build cancelled."""
        self._celery().control.revoke(task_id(build_id), terminate=True, signal="SIGUSR1")


class NoQueue:
    """No builders configured: builds stay queued; the job that would send one fails with this
    message in the hub's log."""

    def send(self, build_id: int) -> None:
        raise RuntimeError("no builder broker configured (WHARF_HUB_BUILDER__BROKER_URL)")

    def interrupt(self, build_id: int) -> None:
        pass


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class BuilderService:
    def __init__(
        self, queue: BuildQueue, hub_url: str, build_timeout: int, grace: int, reap_interval: float = 60
    ) -> None:
        self.queue = queue
        self.hub_url = hub_url
        self.build_timeout = build_timeout
        self.grace = grace
        self.reap_interval = reap_interval

    @property
    def lost_after(self) -> timedelta:
        """A build whose worker said nothing for this long is lost (the worker died)."""
        return timedelta(seconds=self.build_timeout + self.grace)

    # ---- queue ------------------------------------------------------------------------------

    def on_enqueue(self, s: Session, payload: dict[str, Any]) -> None:
        """The job queued with the build: after commit, hand the id to the builders."""
        build = s.get(Build, int(payload["build_id"]))
        if build is None or build.status != "queued":
            return
        self.queue.send(build.id)
        log.info("builds.sent", build_id=build.id)

    def on_cancel(self, s: Session, payload: dict[str, Any]) -> None:
        """The job a cancel of a running build queues: after commit, interrupt its task."""
        build = s.get(Build, int(payload["build_id"]))
        if build is not None and not build.is_final:
            self.queue.interrupt(build.id)

    # ---- worker calls -----------------------------------------------------------------------------

    def claim(self, s: Session, build_id: int, worker: str) -> tuple[Build, str]:
        """The build to run and its push secret; refused when it ended or runs elsewhere."""
        build = s.scalar(select(Build).where(Build.id == build_id).with_for_update())
        if build is None:
            raise NoSuchBuild(build_id)
        now = utcnow()
        if build.is_final:
            raise BuildNotClaimable(build_id, build.status)
        if build.cancel_requested:
            self._finish(s, build, "cancelled", "cancelled")
            raise BuildNotClaimable(build_id, "cancelled")
        if build.status != "queued" and build.heartbeat_at and now - build.heartbeat_at < self.lost_after:
            raise BuildNotClaimable(build_id, f"running on {build.claimed_by}")
        if build.status != "queued":
            self._append(build, f"\nThe worker {build.claimed_by} was lost; running the build again.\n")
        secret = secrets.token_urlsafe(32)
        build.claimed_by, build.attempts = worker[:200], build.attempts + 1
        build.started_at = build.heartbeat_at = now
        build.push_secret_hash = _hash(secret)
        build.status = "cloning"
        if build.attempts == 1:
            announce(s, self.hub_url, build, "started")
        log.info("builds.claimed", build_id=build_id, worker=worker, attempt=build.attempts)
        return build, secret

    def report(self, s: Session, build_id: int, status: str, fields: dict[str, Any]) -> bool:
        """A status from the worker; True when the build has been cancelled."""
        build = self._running(s, build_id)
        if status not in BUILD_STATES or status == "queued":
            raise InvalidArgument(f"unknown build status {status!r}")
        for name, limit in (
            ("commit_sha", 64),
            ("commit_message", 10_000),
            ("image_id", 80),
            ("dockerfile_text", 65_536),
        ):
            value = fields.get(name)
            if isinstance(value, str) and value:
                setattr(build, name, value[:limit])
        build.heartbeat_at = utcnow()
        if status in FINAL_STATES:
            error = fields.get("error")
            self._finish(s, build, status, str(error)[:10_000] if error else None)
        elif not build.is_final:
            build.status = status
        return build.cancel_requested

    def append_log(self, s: Session, build_id: int, text: str) -> bool:
        build = self._running(s, build_id)
        self._append(build, text)
        build.heartbeat_at = utcnow()
        return build.cancel_requested

    def authenticate_push(self, s: Session, username: str, password: str) -> Build | None:
        """The build whose push credential this is, while it runs; None when it is not one."""
        match = PUSH_USER.fullmatch(username)
        if match is None:
            return None
        build = s.get(Build, int(match.group(1)))
        if (
            build is None
            or build.is_final
            or build.push_secret_hash is None
            or not secrets.compare_digest(build.push_secret_hash, _hash(password))
        ):
            return None
        return build

    def ensure_reaper(self, s: Session) -> None:
        """Starts the reaper's chain of jobs unless one is waiting (every process may ask)."""
        waiting = s.scalar(select(Job.id).where(Job.kind == REAP, Job.status.in_(("queued", "running"))))
        if waiting is None:
            enqueue(s, REAP, {})

    def on_reap(self, s: Session, _payload: dict[str, Any]) -> None:
        """The reaper's job: reap, then queue the next run."""
        self.reap(s)
        enqueue(s, REAP, {}, run_at=utcnow() + timedelta(seconds=self.reap_interval))

    def reap(self, s: Session) -> int:
        """Builds whose worker went silent past the timeout end as failed (never "running" forever)."""
        cutoff = utcnow() - self.lost_after
        lost = s.scalars(select(Build).where(Build.status.in_(RUNNING), Build.heartbeat_at < cutoff))
        count = 0
        for build in lost:
            self._append(build, f"\nERROR: the worker {build.claimed_by} stopped reporting; build failed.\n")
            self._finish(s, build, "failed", "the worker running this build was lost")
            count += 1
        return count

    # ---- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _running(s: Session, build_id: int) -> Build:
        build = s.get(Build, build_id)
        if build is None:
            raise NoSuchBuild(build_id)
        return build

    @staticmethod
    def _append(build: Build, text: str) -> None:
        if len(build.log) >= MAX_LOG:
            return
        room = MAX_LOG - len(build.log)
        build.log += text if len(text) <= room else text[:room] + "\n[log truncated]\n"

    def _finish(self, s: Session, build: Build, status: str, error: str | None) -> None:
        if build.is_final:
            return
        build.status, build.error, build.finished_at = status, error, utcnow()
        build.push_secret_hash = None
        announce(s, self.hub_url, build, status)


def spec(build: Build, repo: Repository, secret: str) -> dict[str, Any]:
    """What a worker gets with its claim (``wharf_builder.hubapi.BuildSpec``)."""
    return {
        "id": build.id,
        "repository": repo.remote,
        "image": repo.full_name,
        "source_url": build.source_url,
        "source_type": build.source_type,
        "ref": build.source_ref,
        "commit": build.commit_sha,
        "dockerfile": build.dockerfile,
        "context": build.context,
        "tags": list(build.tags),
        "build_args": dict(build.build_args),
        "push_username": f"wharf-build-{build.id}",
        "push_password": secret,
    }


__all__ = [
    "REAP",
    "RUN_BUILD",
    "BuildNotClaimable",
    "BuildQueue",
    "BuilderService",
    "CeleryQueue",
    "NoQueue",
    "spec",
]
