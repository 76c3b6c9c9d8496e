"""Local terminal handling for interactive containers: raw mode and size tracking."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    import signal as _signal
    from collections.abc import Callable
    from types import FrameType
    from typing import Any
else:  # signal's C module: ``signal`` itself imports enum to name its constants
    import _signal


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


class raw_terminal:
    """Put the terminal in raw mode; the previous mode is restored on every exit path."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._saved: list[Any] | None = None

    def __enter__(self) -> None:
        import termios
        import tty

        saved = termios.tcgetattr(self._fd)
        try:
            tty.setraw(self._fd)
        except BaseException:
            termios.tcsetattr(self._fd, termios.TCSADRAIN, saved)
            raise
        self._saved = saved

    def __exit__(self, *exc_info: object) -> None:
        import termios

        if self._saved is not None:
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
            self._saved = None


class on_resize:
    """Call ``callback(height, width)`` now and on every SIGWINCH until the block ends."""

    def __init__(self, callback: Callable[[int, int], None]) -> None:
        self._callback = callback
        self._previous: Any = None

    def _resize(self, _signum: int = 0, _frame: FrameType | None = None) -> None:
        size = terminal_size()
        if size:
            try:
                self._callback(*size)
            except Exception:  # a failed resize must never break the session
                pass

    def __enter__(self) -> None:
        self._previous = _signal.signal(_signal.SIGWINCH, self._resize)
        try:
            self._resize()
        except BaseException:
            _signal.signal(_signal.SIGWINCH, self._previous)
            raise

    def __exit__(self, *exc_info: object) -> None:
        _signal.signal(_signal.SIGWINCH, self._previous)


PROXIED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


class forward_signals:
    """Forward the usual termination signals to the container (docker's ``--sig-proxy``)."""

    def __init__(self, send: Callable[[str], None]) -> None:
        self._send = send
        self._previous: dict[int, Any] = {}
        self._names = {getattr(_signal, name): name for name in PROXIED_SIGNALS}

    def _handler(self, signum: int, _frame: FrameType | None) -> None:
        from .background import in_background

        in_background(_quietly, self._send, self._names[signum])

    def __enter__(self) -> None:
        for signum in self._names:
            self._previous[signum] = _signal.signal(signum, self._handler)

    def __exit__(self, *exc_info: object) -> None:
        for signum, old in self._previous.items():
            _signal.signal(signum, old)
        self._previous = {}


def _quietly(send: Callable[[str], None], name: str) -> None:
    try:
        send(name)
    except Exception:
        pass
