"""Search pages kept in the process, for as long as the repositories do not change.

The key of a page is the repositories' generation (``hub_generations``, moved by database
triggers on every write to ``repositories`` but its pull count, to ``collaborators`` and to
``stars``: migration 0005), the viewer and the query. The generation lives in the database, so a change
made by any process, or by hand in SQL, makes every process compute pages afresh.

The generation is read before the page's rows: a write committed between the two reads gives
a page newer than its key, never older, so what is kept is never stale.

An anonymous search whose page is kept is answered on the event loop (:class:`GenerationProbe`
reads the generation without SQLAlchemy, the thread pool or the connection pool: one prepared
statement on a connection of its own, a few microseconds on SQLite, one round trip awaited on
PostgreSQL); only a miss, or a probe that failed, takes the thread pool's path.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Hashable
from typing import Any

import psycopg
import structlog
from sqlalchemy import Connection, Engine, select

from ..db.models.generations import REPOSITORIES, Generation

_table = Generation.__table__
_GENERATION = select(_table.c.value).where(_table.c.name == REPOSITORIES)
log = structlog.get_logger(__name__)


def generation(s: Connection) -> int | None:
    """The repositories' generation now (None on a database without the counter)."""
    value = s.execute(_GENERATION).scalar()
    return None if value is None else int(value)


class SearchCache:
    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self._generation = -1
        self._pages: dict[Hashable, bytes] = {}
        self._lock = threading.Lock()

    def kept(self, now: int, key: Hashable) -> bytes | None:
        """The page kept for ``key`` if the generation is still ``now`` (read by the caller
        since its request arrived), else None."""
        with self._lock:
            if now > self._generation:
                self._pages.clear()
                self._generation = now
            return self._pages.get(key) if now == self._generation else None

    def page(self, s: Connection, key: Hashable, compute: Callable[[], bytes]) -> bytes:
        """The page for ``key`` at the current generation: kept, or ``compute()`` (which reads
        after the generation was read) and kept."""
        now = generation(s)
        if now is None:
            return compute()
        with self._lock:
            if now > self._generation:  # the repositories changed: nothing kept is current
                self._pages.clear()
                self._generation = now
            kept = self._pages.get(key) if now == self._generation else None
        if kept is not None:
            return kept
        body = compute()
        with self._lock:
            if now == self._generation:  # not when another request has seen a newer generation
                if len(self._pages) >= self.limit:
                    del self._pages[next(iter(self._pages))]  # the oldest
                self._pages[key] = body
        return body


class GenerationProbe:
    """The repositories' generation read on the event loop, on a connection of its own.

    SQLite: a plain ``sqlite3`` connection in autocommit mode (no transaction is left open: the
    result is read to its end) that only reads, with no busy wait; the read takes microseconds and does not
    block in WAL mode (a rare ``SQLITE_BUSY`` falls back, as below). PostgreSQL: a psycopg ``AsyncConnection`` in autocommit mode, the
    statement prepared on the server, one request at a time on it (no result is shared between
    requests: each reads after it arrived). :meth:`read` answers None when it cannot tell (an
    in-memory database, a failed connection): the caller then takes its ordinary path, and the
    connection is opened again on the next read.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sql = str(_GENERATION.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        self._backend = engine.dialect.name
        self._sqlite: sqlite3.Connection | None = None
        self._pg: psycopg.AsyncConnection[Any] | None = None
        self._pg_lock: asyncio.Lock | None = None
        self._lock = threading.Lock()

    async def read(self) -> int | None:
        try:
            if self._backend == "sqlite":
                return self._read_sqlite()
            if self._backend == "postgresql":
                return await self._read_pg()
        except (sqlite3.Error, psycopg.Error, OSError) as exc:
            log.warning("search.probe_failed", error=f"{type(exc).__name__}: {exc}")
            await self.close()
        return None

    def _read_sqlite(self) -> int | None:
        with self._lock:
            if self._sqlite is None:
                path = self._engine.url.database
                if not path or path == ":memory:" or path.startswith("file:"):
                    return None  # another connection would see another database
                self._sqlite = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
            rows = self._sqlite.execute(self._sql).fetchall()  # to the end: no read left open
        return int(rows[0][0]) if rows else None

    async def _read_pg(self) -> int | None:
        if self._pg_lock is None:
            self._pg_lock = asyncio.Lock()
        async with self._pg_lock:
            if self._pg is None or self._pg.closed:
                args, params = self._engine.dialect.create_connect_args(self._engine.url)
                params.pop("context", None)  # SQLAlchemy's adapters for its own connections
                self._pg = await psycopg.AsyncConnection.connect(*args, **params, autocommit=True)
            cursor = await self._pg.execute(self._sql, prepare=True)
            row = await cursor.fetchone()
        return None if row is None else int(row[0])

    async def close(self) -> None:
        with self._lock:
            if self._sqlite is not None:
                self._sqlite.close()
                self._sqlite = None
        pg, self._pg = self._pg, None
        if pg is not None:
            await pg.close()


__all__ = ["GenerationProbe", "SearchCache", "generation"]
