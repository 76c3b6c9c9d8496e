"""Search pages kept in the process, for as long as the repositories do not change.

The key of a page is the repositories' generation (``hub_generations``, moved by database
triggers on every write to ``repositories`` but its pull count, to ``collaborators`` and to
``stars``: migration 0005), the viewer and the query. The generation lives in the database, so a change
made by any process, or by hand in SQL, makes every process compute pages afresh.

The generation is read before the page's rows: a write committed between the two reads gives
a page newer than its key, never older, so what is kept is never stale.

An anonymous search whose page is kept is answered on the event loop (:class:`GenerationProbe`
reads the generation with :mod:`.loopreads`: no SQLAlchemy execution, thread pool or connection
pool; a few microseconds on SQLite, one round trip awaited on PostgreSQL); only a miss, or a
probe that failed, takes the thread pool's path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from sqlalchemy import Connection, select

from ..db.models.generations import REPOSITORIES, Generation
from .loopreads import LoopReader, LoopReadFailed

_table = Generation.__table__
_GENERATION = select(_table.c.value).where(_table.c.name == REPOSITORIES)


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
    """The repositories' generation read on the event loop (:class:`~.loopreads.LoopReader`);
    each request reads after it arrived (no answer is shared between requests). None when it
    cannot tell here: the caller then takes its ordinary path."""

    def __init__(self, reader: LoopReader) -> None:
        self._reader = reader
        self._prepared = reader.prepare(_GENERATION)

    async def read(self) -> int | None:
        try:
            rows = await self._reader.fetch(self._prepared)
        except LoopReadFailed:
            return None
        return int(rows[0].value) if rows else None


__all__ = ["GenerationProbe", "SearchCache", "generation"]
