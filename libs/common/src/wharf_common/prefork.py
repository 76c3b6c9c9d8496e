"""Serve one set of listening sockets from N worker processes (the pre-fork model).

The parent binds the sockets, then forks ``workers`` children; each child builds its own app
(its own database pool and threads: nothing that a fork would share by accident) and serves the
inherited sockets with :func:`wharf_common.serving.serve`, the kernel spreading connections over
them. The parent only supervises: a child that dies is replaced (at most once a second, so a
child that cannot start does not spin), and SIGTERM/SIGINT are passed on to every child, which
finish their requests and exit; a child still there after ``grace`` seconds is killed.

Each worker listens on a socket of its own: every TCP listener gets ``workers - 1`` siblings
bound to the same address with ``SO_REUSEPORT``, so the kernel spreads new connections over the
workers by a hash of their addresses. With one shared socket, the worker that wakes first accepts
every connection waiting (asyncio accepts until the queue is empty): a burst of keep-alive
connections (a load balancer's, a benchmark's) landed 16/0 or 15/1 on two workers, and the second
process served nothing. Where ``SO_REUSEPORT`` cannot be set, the workers share the socket.

Why not uvicorn's ``--workers``: it spawns fresh interpreters that import the app by name, so the
settings would have to travel through the environment; forking after the sockets are bound and
the migrations have run keeps ``main.py`` the one place that reads the flags.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import structlog

from .serving import serve

log = structlog.get_logger(__name__)

RESPAWN_INTERVAL = 1.0


class Prefork:
    """The parent's view of its children; :meth:`run` returns when all have exited."""

    def __init__(
        self,
        make_app: Callable[[], Any],
        sockets: list[socket.socket],
        workers: int,
        *,
        grace: float = 10.0,
        **uvicorn_options: Any,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be 1 or more")
        self.make_app = make_app
        self.sockets = sockets
        self.workers = workers
        self.grace = grace
        self.uvicorn_options = uvicorn_options
        self.slots = spread(sockets, workers)  # each worker's listening sockets
        self.children: dict[int, int] = {}  # pid -> slot
        self.stopping = False
        self._last_spawn: dict[int, float] = {}

    def _spawn(self, slot: int) -> None:
        wait = self._last_spawn.get(slot, 0.0) + RESPAWN_INTERVAL - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_spawn[slot] = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the parent's code
            code = 1
            try:
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                    signal.signal(sig, signal.SIG_DFL)
                os.environ["WHARF_WORKER"] = str(slot)
                serve(self.make_app(), self.slots[slot], **self.uvicorn_options)
                code = 0
            except BaseException as exc:  # a child reports and exits; the parent respawns it
                log.error("worker.crashed", slot=slot, error=f"{type(exc).__name__}: {exc}")
            finally:
                os._exit(code)
        self.children[pid] = slot
        log.info("worker.started", slot=slot, pid=pid)

    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def run(self) -> None:
        previous = {sig: signal.signal(sig, self._on_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for slot in range(self.workers):
                self._spawn(slot)
            deadline: float | None = None
            while self.children:
                if self.stopping and deadline is None:
                    deadline = time.monotonic() + self.grace
                if deadline is not None and time.monotonic() > deadline:
                    for pid in list(self.children):
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    time.sleep(0.05)
                    continue
                gone = self.children.pop(pid, None)
                if gone is None:
                    continue
                if not self.stopping:
                    log.warning("worker.died", slot=gone, pid=pid, status=status)
                    self._spawn(gone)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def spread(sockets: list[socket.socket], workers: int) -> list[list[socket.socket]]:
    """The sockets each of ``workers`` serves: listening TCP sockets get ``SO_REUSEPORT`` siblings
    on the same address (one per further worker, so the kernel spreads connections over them);
    other sockets, or all when the option cannot be set, are shared by every worker."""
    slots: list[list[socket.socket]] = [[] for _ in range(workers)]
    for sock in sockets:
        siblings = [sock]
        if (
            workers > 1
            and sock.family in (socket.AF_INET, socket.AF_INET6)
            and hasattr(socket, "SO_REUSEPORT")
        ):
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                for _ in range(workers - 1):
                    sibling = socket.socket(sock.family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
                    siblings.append(sibling)
                    sibling.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sibling.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                    if sock.family == socket.AF_INET6:
                        sibling.setsockopt(
                            socket.IPPROTO_IPV6,
                            socket.IPV6_V6ONLY,
                            sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY),
                        )
                    sibling.bind(sock.getsockname())
                    sibling.listen(128)
            except OSError as exc:
                log.warning("workers.share_socket", error=str(exc))
                for sibling in siblings[1:]:
                    sibling.close()
                siblings = [sock]
        for slot in range(workers):
            slots[slot].append(siblings[slot % len(siblings)])
    return slots


def serve_workers(
    make_app: Callable[[], Any],
    sockets: list[socket.socket],
    workers: int,
    *,
    pidfile: Path | None = None,
    cleanup: Callable[[], None] | None = None,
    **uvicorn_options: Any,
) -> None:
    """:func:`~wharf_common.serving.serve` in ``workers`` processes; one process serves in place."""
    if workers <= 1:
        serve(make_app(), sockets, pidfile=pidfile, cleanup=cleanup, **uvicorn_options)
        return
    if pidfile:
        pidfile.parent.mkdir(parents=True, exist_ok=True)
        pidfile.write_text(f"{os.getpid()}\n")
    try:
        Prefork(make_app, sockets, workers, **uvicorn_options).run()
    finally:
        if pidfile:
            pidfile.unlink(missing_ok=True)
        if cleanup:
            cleanup()


__all__ = ["Prefork", "serve_workers", "spread"]
