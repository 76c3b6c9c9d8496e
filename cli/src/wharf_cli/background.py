"""Daemon threads and a stack of context managers for attached sessions, without ``threading`` or
``contextlib``.

``wharf run`` reads the wait's result and copies stdin in threads, and enters the terminal's context
managers (raw mode, resizes, signal forwarding) only when it needs them. ``threading`` imports
``functools`` and ``collections``, and ``contextlib`` both again: a few milliseconds of the start-up of
every ``run`` and ``exec`` for what ``_thread`` and a list of exits do as well here. Threads started
here are daemon threads: the process does not wait for them at exit.
"""

from __future__ import annotations

import _thread
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType
    from typing import Any, Protocol

    class ContextManager(Protocol):
        def __enter__(self) -> object: ...
        def __exit__(
            self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None, /
        ) -> bool | None: ...


class Background:
    """A daemon thread running ``target(*args)``; :meth:`join` waits for it, with a timeout or not.

    An exception that escapes ``target`` is reported on stderr, as ``threading`` reports it.
    """

    def __init__(self, target: Callable[..., object], *args: Any) -> None:
        self._target = target
        self._args = args
        self._done = _thread.allocate_lock()
        self._started = False

    def start(self) -> Background:
        self._done.acquire()
        self._started = True
        _thread.start_new_thread(self._run, ())
        return self

    def _run(self) -> None:
        try:
            self._target(*self._args)
        except SystemExit:
            pass
        except BaseException as exc:  # reported as threading's excepthook reports it
            sys.stderr.write(f"Exception in thread ({getattr(self._target, '__name__', 'target')}):\n")
            sys.excepthook(type(exc), exc, exc.__traceback__)
        finally:
            self._done.release()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the thread has finished (at most ``timeout`` seconds); whether it has."""
        if not self._started:
            raise RuntimeError("cannot join thread before it is started")
        if not self._done.acquire(timeout=-1 if timeout is None else max(timeout, 0)):
            return False
        self._done.release()
        return True

    def is_alive(self) -> bool:
        if not self._started or not self._done.acquire(blocking=False):
            return self._started
        self._done.release()
        return False


def in_background(target: Callable[..., object], *args: Any) -> Background:
    """Start ``target(*args)`` in a daemon thread."""
    return Background(target, *args).start()


class Exits:
    """``contextlib.ExitStack`` as the sessions use it: :meth:`enter` context managers, leave them
    all (last entered first) when the block ends, whatever ends it."""

    def __init__(self) -> None:
        self._exits: list[Callable[[Any, Any, Any], object]] = []

    def enter(self, manager: ContextManager) -> None:
        exit_ = type(manager).__exit__
        type(manager).__enter__(manager)
        self._exits.append(lambda kind, value, tb: exit_(manager, kind, value, tb))

    def __enter__(self) -> Exits:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        error: BaseException | None = None
        while self._exits:
            exit_ = self._exits.pop()
            try:
                exit_(kind, value, tb)
            except BaseException as exc:  # the other exits still run; the last error propagates
                error = exc
                kind, value, tb = type(exc), exc, exc.__traceback__
        if error is not None:
            raise error
