"""Serve an ASGI app with uvicorn on sockets we bound, until SIGTERM/SIGINT; exit cleanly.

Shared by the engine and the registry: the pid file is written before serving and removed
after, and uvicorn's habit of re-raising the shutdown signal (which would kill the process
before its clean-up) is defused. uvicorn is imported here only when a service calls this.

With ``tls``, TCP sockets speak TLS and unix sockets stay plain (``uvicorn.Config(ssl=...)``
would wrap every socket). The TLS layer is ``_tls.py``'s rather than asyncio's: the peer's end of
stream (``close_notify``, or a TCP half-close) is delivered as a half-close to a protocol that
asks to stay open, as on plain TCP, so that a hijacked stream (``docker run -i``) can still
send output after the client's stdin has ended.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._tls import tls_dispatcher


def tcp_listener(host: str, port: int, backlog: int = 128) -> socket.socket:
    """A listening TCP socket on ``host`` (IPv6 when it has a colon, brackets allowed).

    Made with ``IPPROTO_TCP`` on purpose: asyncio sets TCP_NODELAY on accepted sockets only
    then, and without it every request on a reused connection waits for Nagle and delayed ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(backlog)
    return sock


def serve(
    app: Any,
    sockets: list[socket.socket],
    *,
    pidfile: Path | None = None,
    cleanup: Callable[[], None] | None = None,
    tls: ssl.SSLContext | None = None,
    **uvicorn_options: Any,
) -> None:
    import uvicorn

    if tls is not None:
        http = uvicorn_options.get("http", "auto")
        if isinstance(http, str):
            from uvicorn.config import HTTP_PROTOCOLS
            from uvicorn.importer import import_from_string

            http = import_from_string(HTTP_PROTOCOLS.get(http, http))
        uvicorn_options["http"] = tls_dispatcher(http, tls)
    config = uvicorn.Config(app, log_config=None, access_log=False, **uvicorn_options)
    server = uvicorn.Server(config)
    if pidfile:
        pidfile.parent.mkdir(parents=True, exist_ok=True)
        pidfile.write_text(f"{os.getpid()}\n")
    # uvicorn shuts down on SIGTERM/SIGINT, then re-raises the signal with the handler that was
    # there before: make that a no-op so the clean-up below runs and the process exits 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        asyncio.run(server.serve(sockets=sockets))
    finally:
        if pidfile:
            pidfile.unlink(missing_ok=True)
        if cleanup:
            cleanup()


__all__ = ["serve", "tcp_listener"]
