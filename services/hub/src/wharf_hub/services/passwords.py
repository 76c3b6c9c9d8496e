"""argon2 hashing, with a short-lived memory of good passwords.

A v1 client sends Basic credentials on every index request (login check, one token per
push and pull); argon2 costs 50-200 ms on purpose (~210 ms on
the 2-core bench host). A successful check is remembered for a few
minutes keyed by the user's *current* hash and a SHA-256 of the password, so a password
change forgets it at once and nothing reusable is kept in memory. Checks of the same key that
arrive while one is running wait for its answer instead of running argon2 again (an engine
pulling with 16 connections, or a hub process that has just started, sent 16 at once).
"""

from __future__ import annotations

import hashlib
import threading
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..settings import PasswordSettings


class Passwords:
    def __init__(
        self, settings: PasswordSettings | None = None, remember: float = 300.0, limit: int = 10_000
    ) -> None:
        cost = settings or PasswordSettings()
        self._hasher = PasswordHasher(cost.time_cost, cost.memory_cost, cost.parallelism)
        self._dummy: str | None = None  # made on first need: not an argon2 hash per start-up
        self._remember = remember
        self._limit = limit
        self._good: dict[tuple[str, str], float] = {}
        self._running: dict[tuple[str, str], _Check] = {}
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def remembered(self, stored_hash: str, password: str) -> bool:
        """True if ``password`` was found good against ``stored_hash`` in the last few minutes;
        False says nothing (never checked, or forgotten): :meth:`verify` then decides. No argon2."""
        key = (stored_hash, hashlib.sha256(password.encode()).hexdigest())
        with self._lock:
            seen = self._good.get(key)
        return seen is not None and time.monotonic() - seen < self._remember

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """``stored_hash=None`` (unknown user) costs the same as a wrong password."""
        if stored_hash is None:
            try:
                if self._dummy is None:
                    self._dummy = self._hasher.hash("wharf-timing-equaliser")
                self._hasher.verify(self._dummy, password)
            except (VerificationError, InvalidHashError):
                pass
            return False
        key = (stored_hash, hashlib.sha256(password.encode()).hexdigest())
        now = time.monotonic()
        with self._lock:
            seen = self._good.get(key)
            if seen is not None and now - seen < self._remember:
                return True
            check = self._running.get(key)
            first = check is None
            if check is None:
                check = self._running[key] = _Check()
        if not first:
            check.done.wait()
            return check.ok
        try:
            check.ok = self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            check.ok = False
        finally:
            with self._lock:
                if check.ok:
                    if len(self._good) >= self._limit:
                        self._good.clear()
                    self._good[key] = now
                del self._running[key]
            check.done.set()
        return check.ok


class _Check:
    """One argon2 check in progress, and its answer for those who waited for it."""

    __slots__ = ("done", "ok")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False


__all__ = ["Passwords"]
