"""A small job queue in the database and the worker that drains it.

Requests only insert rows (inside their own transaction, so a job exists exactly when the
change that caused it was committed); the worker claims due jobs one at a time with a lease
(``locked_until``), so a crashed worker's job is picked up again, and runs the handler
registered for the job's kind in a transaction of its own. A handler that raises is retried
by the queue with backoff up to ``MAX_ATTEMPTS``; handlers that manage their own retries
(webhook deliveries) record their outcome and return normally.

A job is picked up at once, not at the next poll: the unit of work that queued it wakes this
process's worker after its commit (:func:`queued`), and on PostgreSQL the commit also sends a
``NOTIFY`` on :data:`CHANNEL`, which the worker of every other hub process listens to. The
poll (``poll_interval``) remains for jobs due later (retries) and SQLite across processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg
import structlog
from sqlalchemy import or_, select, text, update
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import Job

log = structlog.get_logger(__name__)

Handler = Callable[[Session, dict[str, Any]], None]
LEASE = timedelta(seconds=120)
MAX_ATTEMPTS = 5
CHANNEL = "wharf_jobs"
"""The PostgreSQL notification channel a commit that queued a job notifies."""


QUEUED = "wharf.jobs_queued"
"""``Session.info`` key: set when the unit of work queued a job, so that only then is the worker
woken after the commit (every request woke it before, and its claim query cost each request a
read of the jobs table)."""


def enqueue(s: Session, kind: str, payload: dict[str, Any], *, run_at: datetime | None = None) -> Job:
    job = Job(kind=kind, payload=payload, run_at=run_at or utcnow())
    s.add(job)
    s.flush()
    if not s.info.get(QUEUED) and s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})  # sent at commit
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

    def _claim(self) -> tuple[int, str, dict[str, Any], int] | None:
        """A due job, leased to this worker: (id, kind, payload, attempts)."""
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
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount == 1:  # type: ignore[attr-defined]
                    job = s.get_one(Job, job_id, populate_existing=True)
                    return job_id, job.kind, dict(job.payload), job.attempts
        return None

    def run_once(self) -> bool:
        """Run one due job; False when there was none."""
        claimed = self._claim()
        if claimed is None:
            return False
        job_id, kind, payload, attempts = claimed
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
            self._wake.clear()  # before the claim: a wake-up from now on is not lost
            try:
                busy = self.run_once()
            except Exception as exc:  # the database went away for a moment: try again later
                log.warning("worker.error", error=str(exc))
                busy = False
            if not busy:
                self._wake.wait(self.poll_interval)
        log.info("worker.stopped")

    def _listen(self) -> None:
        """PostgreSQL: wake up when any hub process commits a job (``LISTEN`` on :data:`CHANNEL`)."""
        conninfo = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    log.info("worker.listening", channel=CHANNEL)
                    self._wake.set()  # whatever was committed while nobody listened
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self._wake.set()
            except psycopg.Error as exc:  # the database restarted: listen again after a pause
                log.warning("worker.listen_error", error=str(exc))
                self._stop.wait(max(self.poll_interval, 1.0))

    def _start_listener(self) -> None:
        if self.db.engine.dialect.name == "postgresql":
            thread = threading.Thread(target=self._listen, name="wharf-hub-worker-listen", daemon=True)
            thread.start()
            self._threads.append(thread)

    def start(self) -> None:
        """``threads`` loops: a receiver that hangs holds one of them, not the queue."""
        self._start_listener()
        for i in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"wharf-hub-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def run_forever(self) -> None:
        self._start_listener()
        self._loop()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()


__all__ = ["CHANNEL", "Handler", "Worker", "enqueue", "queued"]
