"""A small job queue in the database and the worker that drains it.

Requests only insert rows (inside their own transaction, so a job exists exactly when the
change that caused it was committed); the worker claims due jobs one at a time with a lease
(``locked_until``), so a crashed worker's job is picked up again, and runs the handler
registered for the job's kind in a transaction of its own. A handler that raises is retried
by the queue with backoff up to ``MAX_ATTEMPTS``; handlers that manage their own retries
(webhook deliveries) record their outcome and return normally.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import Job

log = structlog.get_logger(__name__)

Handler = Callable[[Session, dict[str, Any]], None]
LEASE = timedelta(seconds=120)
MAX_ATTEMPTS = 5


QUEUED = "wharf.jobs_queued"
"""``Session.info`` key: set when the unit of work queued a job, so that only then is the worker
woken after the commit (every request woke it before, and its claim query cost each request a
read of the jobs table)."""


def enqueue(s: Session, kind: str, payload: dict[str, Any], *, run_at: datetime | None = None) -> Job:
    job = Job(kind=kind, payload=payload, run_at=run_at or utcnow())
    s.add(job)
    s.flush()
    s.info[QUEUED] = True
    return job


def queued(s: Session) -> bool:
    """Whether this session queued a job."""
    return bool(s.info.get(QUEUED))


class Worker:
    def __init__(self, db: Database, poll_interval: float = 0.5, threads: int = 1) -> None:
        self.db = db
        self.poll_interval = poll_interval
        self.handlers: dict[str, Handler] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.threads = max(1, threads)
        self._threads: list[threading.Thread] = []

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    def wake(self) -> None:
        """Look for work now (a request just committed a job)."""
        self._wake.set()

    def _claim(self) -> int | None:
        now = utcnow()
        with self.db.session() as s:
            candidates = s.scalars(
                select(Job.id)
                .where(
                    or_(Job.status == "queued", (Job.status == "running") & (Job.locked_until < now)),
                    Job.run_at <= now,
                )
                .order_by(Job.run_at, Job.id)
                .limit(5)
            ).all()
            for job_id in candidates:
                claimed = s.execute(
                    update(Job)
                    .where(Job.id == job_id, or_(Job.status == "queued", Job.locked_until < now))
                    .values(status="running", locked_until=now + LEASE, attempts=Job.attempts + 1)
                )
                if claimed.rowcount == 1:  # type: ignore[attr-defined]
                    return job_id
        return None

    def run_once(self) -> bool:
        """Run one due job; False when there was none."""
        job_id = self._claim()
        if job_id is None:
            return False
        with self.db.session() as s:
            job = s.get(Job, job_id)
            assert job is not None
            kind, payload, attempts = job.kind, dict(job.payload), job.attempts
        handler = self.handlers.get(kind)
        error = "" if handler else f"no handler for {kind}"
        if handler is not None:
            try:
                with self.db.session() as s:
                    handler(s, payload)
            except Exception as exc:  # a failing job never stops the worker
                error = f"{type(exc).__name__}: {exc}"
                log.warning("job.failed", job_id=job_id, kind=kind, attempt=attempts, error=error)
        with self.db.session() as s:
            job = s.get(Job, job_id)
            assert job is not None
            if not error:
                job.status, job.locked_until = "done", None
            elif attempts >= MAX_ATTEMPTS or handler is None:
                job.status, job.error, job.locked_until = "failed", error[:2000], None
            else:
                job.status, job.error, job.locked_until = "queued", error[:2000], None
                job.run_at = utcnow() + timedelta(seconds=2**attempts)
        return True

    def drain(self, timeout: float = 30.0) -> None:
        """Run due jobs until none is left (tests and the one-shot ``worker --once``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.run_once():
            pass

    def _loop(self) -> None:
        log.info("worker.started")
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception as exc:  # the database went away for a moment: try again later
                log.warning("worker.error", error=str(exc))
                busy = False
            if not busy:
                self._wake.wait(self.poll_interval)
                self._wake.clear()
        log.info("worker.stopped")

    def start(self) -> None:
        """``threads`` loops: a receiver that hangs holds one of them, not the queue."""
        for i in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"wharf-hub-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def run_forever(self) -> None:
        self._loop()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()


__all__ = ["Handler", "Worker", "enqueue", "queued"]
