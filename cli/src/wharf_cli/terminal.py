"""Local terminal handling for interactive containers: raw mode and size tracking."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


def is_terminal(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def stdin_fd() -> int:
    try:
        return sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return -1


def terminal_size() -> tuple[int, int] | None:
    """``(height, width)`` of the terminal on stdout (or stdin), ``None`` if neither is one."""
    for fd in (1, 0):
        try:
            size = os.get_terminal_size(fd)
        except OSError:
            continue
        if size.lines > 0 and size.columns > 0:
            return size.lines, size.columns
    return None


@contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """Put the terminal in raw mode; the previous mode is restored on every exit path."""
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextmanager
def on_resize(callback: Callable[[int, int], None]) -> Iterator[None]:
    """Call ``callback(height, width)`` now and on every SIGWINCH until the block ends."""

    def resize(_signum: int = 0, _frame: FrameType | None = None) -> None:
        size = terminal_size()
        if size:
            try:
                callback(*size)
            except Exception:  # a failed resize must never break the session
                pass

    previous = signal.signal(signal.SIGWINCH, resize)
    try:
        resize()
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)


PROXIED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


@contextmanager
def forward_signals(send: Callable[[str], None]) -> Iterator[None]:
    """Forward the usual termination signals to the container (docker's ``--sig-proxy``)."""
    import threading

    def handler(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        threading.Thread(target=_quietly, args=(send, name), daemon=True).start()

    previous = {}
    for name in PROXIED_SIGNALS:
        signum = getattr(signal, name)
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _quietly(send: Callable[[str], None], name: str) -> None:
    try:
        send(name)
    except Exception:
        pass
