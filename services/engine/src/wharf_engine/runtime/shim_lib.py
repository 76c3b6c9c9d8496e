"""What the shim would take from ``subprocess``, ``json``, ``ctypes`` and ``pathlib``, on C modules alone.

Each of those modules would be resident in every shim (docs/performance.md, "Memory"): here are the few
things the shim needs of them, on ``posix``'s ``posix_spawnp``, ``_json``'s scanner and encoder, and
``_ctypes``. Stdlib C modules only, like the rest of the shim.
"""

from __future__ import annotations

import _ctypes
import _json
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:  # _signal is signal without its enums (~0.9 MiB), and has no stubs of its own
    import signal as _signal
else:
    import _signal

PR_SET_CHILD_SUBREAPER = 36
RUNC_RESET_SIGNALS = (_signal.SIGPIPE, _signal.SIGXFSZ)  # as subprocess's restore_signals

quote = _json.encode_basestring_ascii  # a str as a JSON string, as json.dumps writes it


class _JsonContext:
    """What ``_json.make_scanner`` reads from a ``json.JSONDecoder``: the decoder without ``json``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN, Infinity, -Infinity


_scan = _json.make_scanner(_JsonContext())  # type: ignore[arg-type]


def json_loads(text: str) -> object:
    """``json.loads`` for one document, on ``_json``'s C scanner; ValueError if it is not JSON."""
    text = text.strip()
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        raise ValueError("no JSON value") from None
    if end != len(text):
        raise ValueError("extra data after the JSON value")
    return value


def exists(path: str) -> bool:
    try:
        os.lstat(path)
    except OSError:
        return False
    return True


def read_line(fd: int) -> bytes:
    """One line from ``fd`` (unbuffered: nothing after it is consumed), b"" at end of file."""
    line = bytearray()
    while not line.endswith(b"\n"):
        chunk = os.read(fd, 1 if line else 4096)
        if not chunk:
            break
        line += chunk
    return bytes(line)


class _Int(_ctypes._SimpleCData):  # type: ignore[type-arg]
    _type_ = "i"


class _Function(_ctypes.CFuncPtr):
    _flags_ = _ctypes.FUNCFLAG_CDECL
    _restype_ = _Int


# prctl(2) through _ctypes alone (os has none, and ctypes would cost every shim ~0.5 MiB more)
_prctl = _Function(_ctypes.dlsym(_ctypes.dlopen(None), "prctl"))  # type: ignore[arg-type]


def set_child_subreaper() -> None:
    _prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def runc_error(log_path: str) -> str:
    """The last error runc wrote to its JSON log, with runc's own prefixes."""
    message = "runc create failed"
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return message
    for line in lines:
        try:
            entry = json_loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "fatal") and entry.get("msg"):
            message = str(entry["msg"])
    return message


class Child:
    """A process started with ``posix_spawnp`` (``subprocess`` costs the shim ~2.6 MiB)."""

    def __init__(self, argv: list[str], stdio: tuple[int, int, int]) -> None:
        actions = [(os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate(stdio)]
        self.pid = os.posix_spawnp(
            argv[0], argv, os.environ, file_actions=actions, setsigdef=RUNC_RESET_SIGNALS
        )
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode
