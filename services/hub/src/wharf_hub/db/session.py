"""One :class:`Database` per process: the engine, and sessions that are units of work.

``with db.session() as s:`` opens a transaction that commits when the block ends and rolls
back on an exception; services flush but never commit. SQLite gets foreign keys, WAL and a
busy timeout so the web process and the webhook worker can share the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")  # in WAL: durable at checkpoints, never corrupt
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def make_engine(url: str, pool_size: int = 8) -> Engine:
    """A pool of ``pool_size`` connections kept open (a few more at a peak, closed after): one
    per request thread, so that a request never pays for a connect and its pragmas."""
    overflow = max(4, pool_size // 4)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, pool_size=pool_size, max_overflow=overflow
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # no pre-ping: it was a round trip per request; a connection the server dropped fails one
    # request, and SQLAlchemy then throws away every pooled connection of that age
    return create_engine(url, pool_size=pool_size, max_overflow=overflow, pool_recycle=3600)


class Database:
    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size)
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A Core connection in autocommit mode, for the hot paths: they read rows and need none
        of a session's object tracking, and their rare writes are single statements, so each
        statement is its own transaction (no BEGIN and COMMIT round trips)."""
        with self._autocommit.connect() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()


__all__ = ["Database", "make_engine"]
