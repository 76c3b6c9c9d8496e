"""wharf-shim-srv: forks spare shims for the engine, so that no container start boots Python.

Started by the engine as ``python3 -E -S shim.py --server FD`` (stdlib C modules only, like the
shim), it imports everything a shim needs once and then forks one spare per request: a fork costs a
small fraction of a fresh interpreter's start-up (figures in docs/performance.md). A shim's resident
memory is this server's plus its own, so the server imports nothing the shim does not need, and
``gc.freeze`` keeps the shared imports out of every shim's collections (and their pages shared).
"""

from __future__ import annotations

import _socket
import gc
import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:  # _signal is signal without its enums (~0.9 MiB), and has no stubs of its own
    import signal as _signal
    from collections.abc import Callable
else:
    import _signal

SERVER_NAME, SHIM_NAME = b"wharf-shim-srv", b"wharf-shim"  # process names (comm) in ps and /proc


def set_name(name: bytes) -> None:
    """The process name (``comm``), as ``prctl(PR_SET_NAME)`` sets it, without ctypes."""
    try:
        fd = os.open("/proc/self/comm", os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.write(fd, name)
    except OSError:
        pass
    finally:
        os.close(fd)


def receive_fds(control: _socket.socket) -> tuple[bytes, list[int]]:
    """One datagram and the fds it carries (``socket.recv_fds`` without ``socket``)."""
    message, ancdata, _, _ = control.recvmsg(64, _socket.CMSG_SPACE(2 * 4), _socket.MSG_CMSG_CLOEXEC)
    fds = []
    for level, kind, data in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += [int.from_bytes(data[i : i + 4], sys.byteorder) for i in range(0, len(data) - 3, 4)]
    return message, fds


def serve_spares(control: _socket.socket, shim_main: Callable[[], int]) -> int:
    """The shim server: one spare shim forked per request on ``control``, until EOF.

    A request is one datagram carrying two fds: the spare's stdin (the job pipe's read end) and
    its stdout (the ready pipe's write end). A child takes them as fds 0 and 1 and runs ``shim_main``,
    whose first fork leaves the shim to no one; the server reaps that child and answers ``ok``.
    EOF on ``control`` (the engine went away) ends the server; the shims it made live on.
    """
    for sig in (_signal.SIGINT, _signal.SIGHUP, _signal.SIGPIPE):
        _signal.signal(sig, _signal.SIG_IGN)
    set_name(SERVER_NAME)
    gc.collect()
    gc.freeze()  # the imports stay shared with every shim: their collections never touch them
    while True:
        try:
            message, fds = receive_fds(control)
        except OSError:
            return 0
        if not message:
            return 0
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            control.sendall(b"error: expected two fds")
            continue
        pid = os.fork()
        if pid == 0:  # the child: becomes the spare (main forks the shim and this child exits)
            status = 70
            try:
                control.close()
                os.dup2(fds[0], 0)
                os.dup2(fds[1], 1)
                for fd in fds:
                    os.close(fd)
                _signal.signal(_signal.SIGTERM, _signal.SIG_DFL)
                set_name(SHIM_NAME)
                status = shim_main()
            finally:
                for stream in (sys.stdout, sys.stderr):
                    try:
                        stream.flush()
                    except (OSError, ValueError):
                        pass
                os._exit(status)
        for fd in fds:
            os.close(fd)
        os.waitpid(pid, 0)
        control.sendall(b"ok")
