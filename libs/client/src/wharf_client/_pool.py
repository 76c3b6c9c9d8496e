"""Keep-alive: the connections a client keeps open between requests, as the docker CLI's transport does.

Requests made one after another share one connection (a ``wharf run`` pings, creates and attaches on
one); a request made while others are in flight opens its own. A connection is put back only after its
response was read to the end, and is checked before reuse: an idle connection that has become
readable was closed by the engine (or is out of step) and is dropped instead.
"""

from __future__ import annotations

import _thread
import io
import os
import select

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    from ._http import Connection

MAX_IDLE = 4


class ConnectionPool:
    def __init__(self) -> None:
        self._idle: list[tuple[object, Connection, io.BufferedReader]] = []
        self._lock = _thread.allocate_lock()
        self._pid = os.getpid()

    def take(self, key: object) -> tuple[Connection, io.BufferedReader] | None:
        """An idle connection to ``key`` (the engine's address) that is still usable, or ``None``."""
        while True:
            with self._lock:
                if self._pid != os.getpid():  # a forked child must not share its parent's sockets
                    self._idle, self._pid = [], os.getpid()
                index = next((i for i, idle in enumerate(self._idle) if idle[0] == key), None)
                if index is None:
                    return None
                _, conn, reader = self._idle.pop(index)
            if _still_idle(conn):
                return conn, reader
            _close(conn, reader)

    def put(self, key: object, conn: Connection, reader: io.BufferedReader) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE and self._pid == os.getpid():
                self._idle.append((key, conn, reader))
                return
        _close(conn, reader)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for _, conn, reader in idle:
            _close(conn, reader)


def _still_idle(conn: Connection) -> bool:
    """Nothing to read on an idle connection: the engine has not closed it nor sent anything."""
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _close(conn: Connection, reader: io.BufferedReader) -> None:
    try:
        reader.close()
    finally:
        conn.close()
