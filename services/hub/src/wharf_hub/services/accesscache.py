"""A pull's access rows kept in the process while nothing they were read from changes.

The token request every pull starts with reads one statement (:data:`.hotpath.PULL_STATEMENT`:
the caller's account, login-throttle row and access token, the repository, the caller's
organisation membership and collaboration, the image list). On PostgreSQL that read was the
largest cost the hub put on the database, and with the hub's processes and PostgreSQL on the
same cores it kept a second process from doubling the first. :class:`AccessCache` keeps those
rows, keyed by the statement's parameters, and every decision is still made from them per
request (the password against the hash read, expiry and throttle times against the clock).

What is kept is valid until a write to a table the statement reads, counted by a generation:

- **Any process, any code path**: triggers on those tables (migration 0006) send
  ``NOTIFY`` on :data:`CHANNEL` when a writing transaction commits; :meth:`AccessCache.listen`
  holds a ``LISTEN`` connection on the event loop and moves the generation on each one. While
  that connection is not up (starting, the database restarted) nothing is kept or served:
  :meth:`AccessCache.snapshot` says None and the request reads as before.
- **This process, at once**: a write statement run through the hub's engine marks its
  connection; when the connection goes back to the pool (after the commit, before the response
  that follows it is sent) the generation moves, so a client that changed its password, or
  revoked a token, is never answered from rows older than its change by the process that made it.

A read stores its rows only under the generation it started at, and only if that generation
is still current when it ends: a read that raced a write is used once and not kept. Another
process sees a change once its ``NOTIFY`` has arrived (milliseconds). SQLite has no ``NOTIFY``
and is meant for one process: nothing is kept there (its read costs microseconds anyway).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable
from typing import Any

import psycopg
import structlog
from sqlalchemy import Engine, event

log = structlog.get_logger(__name__)

CHANNEL = "hub_access"
NEUTRAL = "access_neutral"  # execution option: this write changes nothing PULL_STATEMENT reads
_WROTE = "hub_access_wrote"  # the connection's info: a write ran since it was checked out
# the tables the pull statement reads; a write to another table does not move the generation
WATCHED = frozenset(
    {
        "users",
        "login_throttle",
        "access_tokens",
        "repositories",
        "organizations",
        "organization_members",
        "collaborators",
        "repository_images",
    }
)
_READS = ("SELECT", "SHOW")


class AccessCache:
    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._generation = 0
        self._live = False  # invalidations from other processes are heard
        self._rows: dict[Hashable, list[Any]] = {}

    def snapshot(self) -> int | None:
        """The generation to read under, taken before the read; None: keep nothing now."""
        with self._lock:
            return self._generation if self._live else None

    def get(self, generation: int, key: Hashable) -> list[Any] | None:
        with self._lock:
            return self._rows.get(key) if generation == self._generation else None

    def put(self, generation: int, key: Hashable, rows: list[Any]) -> None:
        """Keep ``rows``, read after :meth:`snapshot` gave ``generation``, if nothing moved since."""
        with self._lock:
            if not self._live or generation != self._generation:
                return
            if len(self._rows) >= self.limit:
                del self._rows[next(iter(self._rows))]  # the oldest
            self._rows[key] = rows

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._rows.clear()

    def _set_live(self, live: bool) -> None:
        with self._lock:
            self._live = live
            self._generation += 1
            self._rows.clear()

    @property
    def live(self) -> bool:
        return self._live

    # ---- this process's writes --------------------------------------------------------------

    def watch(self, engine: Engine) -> None:
        """Move the generation when a connection of ``engine`` that wrote to a watched table is
        given back to the pool (its transaction is over by then)."""
        event.listen(engine, "after_cursor_execute", _mark_writes)
        event.listen(engine.pool, "checkin", self._checked_in)

    def _checked_in(self, _dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(_WROTE, False):
            self.invalidate()

    # ---- other processes' writes ------------------------------------------------------------

    async def listen(self, conninfo: str, retry: float = 1.0) -> None:
        """``LISTEN`` on :data:`CHANNEL` until cancelled; live only while the connection is up.
        Run as a task on the loop that serves the requests."""
        try:
            while True:
                try:
                    async with await psycopg.AsyncConnection.connect(
                        conninfo, autocommit=True, connect_timeout=10
                    ) as conn:
                        await conn.execute(f"LISTEN {CHANNEL}")
                        self._set_live(True)  # whatever was written before this: not kept
                        log.debug("hub.access_cache_listening")
                        async for _ in conn.notifies():
                            self.invalidate()
                except (psycopg.Error, OSError) as exc:
                    log.warning("hub.access_cache_listen_failed", error=f"{type(exc).__name__}: {exc}")
                self._set_live(False)
                await asyncio.sleep(retry)
        finally:
            self._set_live(False)


def _mark_writes(
    conn: Any, _cursor: Any, statement: str, _parameters: Any, context: Any, _executemany: bool
) -> None:
    if context is not None and context.execution_options.get(NEUTRAL):
        return
    if statement.lstrip()[:6].upper().startswith(_READS):
        return
    table = getattr(getattr(getattr(context, "compiled", None), "statement", None), "table", None)
    name = getattr(table, "name", None)
    if name is None or name in WATCHED:  # an unknown statement counts as a write to them
        conn.info[_WROTE] = True


__all__ = ["CHANNEL", "NEUTRAL", "WATCHED", "AccessCache"]
