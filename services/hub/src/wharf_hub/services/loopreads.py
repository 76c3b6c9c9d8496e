"""Reads made on the event loop, for the requests that come by the thousand.

A kept search page and a pull's token need one or two small reads and nothing else. Sent
through SQLAlchemy from the thread pool, their cost was mostly around the read: the hop to a
pool thread and back, the GIL passed between 16 request threads and the event loop, the pool's
check-out, check-in and isolation-level reset, SQLAlchemy's execution context and result objects
(SQLite: ~75 us of CPU for a one-row read whose own cost is 2 us). :class:`LoopReader` runs
:class:`Prepared` Core statements (compiled once for the dialect, the column types' own result
conversions applied to the rows) on connections of its own:

- SQLite: one ``sqlite3`` connection in autocommit mode with no busy wait; every result is read
  to its end, so no read transaction stays open. In WAL mode a read does not wait for writers:
  it takes microseconds and does not block the loop (a rare ``SQLITE_BUSY`` is a failure, below).
- PostgreSQL: up to ``size`` (:data:`LOOP_CONNECTIONS`) psycopg ``AsyncConnection`` s in
  autocommit mode, beside the pool's (which is that much smaller: ``Settings.pool_size``), statements
  prepared on the server; the loop serves other requests while a read is on the wire.

Only reads: whatever needs a write, or a password hashed, stays on the thread pool's path. A read
that fails (the database away, a connection dropped) raises :class:`LoopReadFailed`; the caller
then takes its ordinary path, and the connection is opened afresh next time.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import namedtuple
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import psycopg
import structlog
from sqlalchemy import Engine, Select

from ..settings import LOOP_CONNECTIONS

log = structlog.get_logger(__name__)


class LoopReadFailed(Exception):
    """The read could not be made here; take the thread pool's path."""


class Prepared:
    """A Core ``SELECT`` compiled once for ``engine``'s dialect; rows as named tuples with the
    values SQLAlchemy would have given (datetimes, booleans)."""

    def __init__(self, statement: Select[Any], engine: Engine) -> None:
        dialect = engine.dialect
        self._compiled = statement.compile(dialect=dialect)
        self.sql = self._compiled.string
        self._order = tuple(self._compiled.positiontup or ()) if self._compiled.positional else None
        processors = [
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in statement.selected_columns
        ]
        self._processors: list[tuple[int, Callable[[Any], Any]]] = [
            (i, p) for i, p in enumerate(processors) if p is not None
        ]
        self.row = namedtuple("Row", list(statement.selected_columns.keys()))  # type: ignore[misc]

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | MutableMapping[str, Any]:
        bound = self._compiled.construct_params(dict(values))
        return tuple(bound[k] for k in self._order) if self._order is not None else bound

    def rows(self, raw: list[Any]) -> list[Any]:
        out = []
        for values in raw:
            values = list(values)
            for i, process in self._processors:
                values[i] = process(values[i])
            out.append(self.row(*values))
        return out


class LoopReader:
    def __init__(self, engine: Engine, size: int = LOOP_CONNECTIONS) -> None:
        self.engine = engine
        self.backend = engine.dialect.name
        self.size = size
        self._sqlite: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def available(self) -> bool:
        """False where another connection would not see the same data (an in-memory SQLite)."""
        if self.backend == "postgresql":
            return True
        path = self.engine.url.database
        return (
            self.backend == "sqlite"
            and bool(path)
            and path != ":memory:"
            and not str(path).startswith("file:")
        )

    def prepare(self, statement: Select[Any]) -> Prepared:
        return Prepared(statement, self.engine)

    async def fetch(self, prepared: Prepared, values: Mapping[str, Any] | None = None) -> list[Any]:
        """Every row of ``prepared`` with ``values``; :class:`LoopReadFailed` if it cannot be read here."""
        if not self.available:
            raise LoopReadFailed("no connection of its own to this database")
        parameters = prepared.parameters(values or {})
        try:
            if self.backend == "sqlite":
                raw = self._fetch_sqlite(prepared.sql, parameters)
            else:
                raw = await self._fetch_pg(prepared.sql, parameters)
        except (sqlite3.Error, psycopg.Error, OSError) as exc:
            log.warning("hub.loop_read_failed", error=f"{type(exc).__name__}: {exc}")
            await self.close()
            raise LoopReadFailed(str(exc)) from exc
        return prepared.rows(raw)

    def _fetch_sqlite(self, sql: str, parameters: Any) -> list[Any]:
        with self._lock:
            if self._sqlite is None:
                path = str(self.engine.url.database)
                self._sqlite = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
            return self._sqlite.execute(sql, parameters).fetchall()  # to the end: no read left open

    async def _fetch_pg(self, sql: str, parameters: Any) -> list[Any]:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:  # first use, or another loop (tests)
            await self.close()
            self._slots, self._loop = asyncio.Semaphore(self.size), loop
        async with self._slots:
            conn = self._idle.pop() if self._idle else await self._connect()
            try:
                cursor = await conn.execute(sql, parameters, prepare=True)
                rows = await cursor.fetchall()
            except BaseException:
                await conn.close()
                raise
            self._idle.append(conn)
        return rows

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        args, params = self.engine.dialect.create_connect_args(self.engine.url)
        params.pop("context", None)  # SQLAlchemy's adapters, for its own connections
        return await psycopg.AsyncConnection.connect(*args, **params, autocommit=True)

    async def close(self) -> None:
        with self._lock:
            if self._sqlite is not None:
                self._sqlite.close()
                self._sqlite = None
        idle, self._idle = self._idle, []
        for conn in idle:
            try:
                await conn.close()
            except (psycopg.Error, OSError, RuntimeError):  # RuntimeError: made on a loop now gone
                pass


__all__ = ["LoopReadFailed", "LoopReader", "Prepared"]
