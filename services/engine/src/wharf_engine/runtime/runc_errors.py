"""runc's words, read in one place: the typed errors (``errors.py``) its complaints mean.

runc says what went wrong only in English: on stderr as logrus text for its own verbs
(``time="..." level=error msg="container does not exist"``), and in its log, forwarded by the shim,
for ``create`` and ``exec``. The phrases are runc 1.x's (libcontainer's ``ErrNotRunning`` is
"container not running"); check them when runc is upgraded: ``tests/test_runtime_conformance.py``
runs the real binary.
"""

from __future__ import annotations

import re

from .errors import ContainerNotFound, NotRunning, RuntimeFailure, StartFailure

_LOGRUS_MSG = re.compile(r'msg="((?:[^"\\]|\\.)*)"')
_NOT_FOUND = ("does not exist",)
_NOT_RUNNING = ("not running", "has stopped", "stopped container")


def runc_error(stderr: str, verb: str) -> RuntimeFailure:
    """What a runc verb's stderr means, with runc's message (not its log line) as the text."""
    found = _LOGRUS_MSG.findall(stderr)
    message = found[-1].replace('\\"', '"') if found else stderr.strip()
    message = message or f"runc {verb} failed"
    if any(words in message for words in _NOT_FOUND):
        return ContainerNotFound(message)
    if any(words in message for words in _NOT_RUNNING):
        return NotRunning(message)
    return RuntimeFailure(message)


def start_exit_code(message: str) -> int:
    """Docker's exit codes for a process that could not be started."""
    if "executable file not found" in message or "no such file or directory" in message:
        return 127
    if "permission denied" in message:
        return 126
    return 128


def start_error(message: str) -> RuntimeFailure | StartFailure:
    """A failed ``runc create`` or ``exec`` as the shim reports it: a bad command is the user's
    (``StartFailure``, 126/127), anything else the runtime's."""
    code = start_exit_code(message)
    if code in (126, 127):
        return StartFailure(message, code)
    return RuntimeFailure(message)


__all__ = ["runc_error", "start_error", "start_exit_code"]
