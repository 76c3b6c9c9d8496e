"""Pull counts, added up in the process and written on a short timer.

Every pull's token request used to update its repository's row: a write transaction per pull,
which on SQLite takes the database's one write lock and on PostgreSQL the row's lock, so pulls
of one repository queued behind each other. Here a pull only adds to a counter in memory; a
thread writes the sums every ``interval`` seconds (one transaction, repositories in id order so
that processes flushing at once lock rows in the same order), and :meth:`PullCounter.stop`
writes what is left when the process shuts down (SIGTERM, SIGINT). A write that fails puts its
counts back for the next try.

What can be lost: the counts of the last ``interval`` seconds of a process that is killed
without a chance to run its shutdown (SIGKILL, a power cut). ``interval=0`` writes each pull in
the request's own transaction, as before.
"""

from __future__ import annotations

import threading
from collections import Counter

import structlog
from sqlalchemy import Connection, bindparam, update
from sqlalchemy.orm import Session

from ..db import Database
from ..db.models import Repository
from .accesscache import NEUTRAL

log = structlog.get_logger(__name__)

_ADD = (
    update(Repository)
    .where(Repository.id == bindparam("repo_id"))
    .values(pull_count=Repository.pull_count + bindparam("pulls"))
    .execution_options(synchronize_session=False, **{NEUTRAL: True})  # the access rows keep
)


class PullCounter:
    def __init__(self, db: Database, interval: float = 1.0) -> None:
        self.db = db
        self.interval = interval
        self._pending: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, s: Connection | Session | None, repository_id: int) -> None:
        """Count one pull; with ``interval=0``, written in ``s`` (the request's transaction,
        required then)."""
        if self.interval <= 0:
            if s is None:
                raise ValueError("pull_count_interval=0 writes each pull in its request's transaction")
            s.execute(_ADD, {"repo_id": repository_id, "pulls": 1})
            return
        with self._lock:
            self._pending[repository_id] += 1

    def pending(self) -> int:
        with self._lock:
            return sum(self._pending.values())

    def flush(self) -> int:
        """Write the counts added so far; how many pulls were written."""
        with self._lock:
            taken, self._pending = self._pending, Counter()
        if not taken:
            return 0
        try:
            with self.db.session() as s:
                for repo_id in sorted(taken):  # one order in every process: no lock cycles
                    s.execute(_ADD, {"repo_id": repo_id, "pulls": taken[repo_id]})
        except Exception as exc:  # the database is away: keep the counts for the next try
            with self._lock:
                self._pending.update(taken)
            log.warning("pulls.flush_failed", error=str(exc), pending=sum(taken.values()))
            return 0
        return sum(taken.values())

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pull-counter", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def stop(self) -> None:
        """Stop the timer and write what is left (called at shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()


__all__ = ["PullCounter"]
