"""wharf-shim-srv: forks spare shims for the engine, so that no container start boots Python.

Started by the engine as ``python3 -S shim.py --server FD`` (stdlib only, like the shim), it
imports everything a shim needs once and then forks one spare per request: a fork costs a small
fraction of a fresh interpreter's start-up (figures in docs/performance.md); ``gc.freeze`` keeps the
shared imports out of every shim's collections.
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import socket
import sys
from collections.abc import Callable

PR_SET_NAME = 15
SERVER_NAME, SHIM_NAME = b"wharf-shim-srv", b"wharf-shim"  # process names (comm) in ps and /proc


def serve_spares(control: socket.socket, shim_main: Callable[[], int]) -> int:
    """The shim server: one spare shim forked per request on ``control``, until EOF.

    A request is one datagram carrying two fds: the spare's stdin (the job pipe's read end) and
    its stdout (the ready pipe's write end). A child takes them as fds 0 and 1 and runs ``shim_main``,
    whose first fork leaves the shim to no one; the server reaps that child and answers ``ok``.
    EOF on ``control`` (the engine went away) ends the server; the shims it made live on.
    """
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NAME, SERVER_NAME, 0, 0, 0)
    gc.freeze()  # the imports stay shared with every shim: their collections never touch them
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 64, 2)
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
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                libc.prctl(PR_SET_NAME, SHIM_NAME, 0, 0, 0)
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
