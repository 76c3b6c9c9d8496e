"""Search pages kept in the process, for as long as the repositories do not change.

The key of a page is the repositories' generation (``hub_generations``, moved by database
triggers on every write to ``repositories`` but its pull count, to ``collaborators`` and to
``stars``: migration 0005), the viewer and the query. The generation lives in the database, so a change
made by any process, or by hand in SQL, makes every process compute pages afresh.

The generation is read before the page's rows: a write committed between the two reads gives
a page newer than its key, never older, so what is kept is never stale.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from sqlalchemy import Connection, select

from ..db.models.generations import REPOSITORIES, Generation

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


__all__ = ["SearchCache", "generation"]
