"""POST /containers/{id}/attach: take the socket over and relay it to the container's shim."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import Any, Protocol

from fastapi import Request
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send
from wharf_common.errors import InvalidArgument, SystemFault

from wharf_engine.api.hijack import Hijacked
from wharf_engine.api.params import qbool
from wharf_engine.api.streams import content_type, mux
from wharf_engine.containers.container import Container, Stdio
from wharf_engine.containers.detach import DEFAULT_DETACH_KEYS, EscapeMatcher, parse_detach_keys
from wharf_engine.logs.jsonfile import LogOptions, read_logs
from wharf_engine.settings import API_VERSION

STDIN_FRAME, CLOSE_STDIN = 0, 4


class AttachBackend(Protocol):
    async def container_attach(self, container: Container) -> Stdio: ...


class HijackedResponse(Response):
    """The route already answered on the raw socket; send nothing more."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None


def handshake(request: Request, media_type: str) -> bytes:
    upgrade = request.headers.get("upgrade", "").lower() == "tcp"
    if upgrade:
        lines = [
            "HTTP/1.1 101 UPGRADED",
            f"Content-Type: {media_type}",
            "Connection: Upgrade",
            "Upgrade: tcp",
        ]
    else:
        lines = ["HTTP/1.1 200 OK", f"Content-Type: {media_type}"]
    lines += [f"Api-Version: {API_VERSION}", "Ostype: linux"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def relay_output(reader: asyncio.StreamReader, conn: Hijacked, *, tty: bool, wanted: set[int]) -> None:
    """Shim frames → client: raw bytes for a TTY, Docker's multiplexed frames otherwise."""
    while True:
        try:
            header = await reader.readexactly(8)
            kind, size = struct.unpack(">BxxxI", header)
            payload = await reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        if kind in wanted:
            await conn.write(payload if tty else header + payload)


async def relay_input(
    conn: Hijacked, writer: asyncio.StreamWriter, *, close_on_eof: bool, detach_keys: bytes
) -> bool:
    """Client raw bytes → shim stdin frames, until EOF (False) or the detach keys (True).

    The client's half-close closes stdin when StdinOnce and no TTY, as Docker: on a TTY the
    client's end (``docker run -it`` detached by its own escape proxy) leaves the shell running.
    """
    escape = EscapeMatcher(detach_keys)
    while data := await conn.reader.read(65536):
        data, detached = escape.feed(data)
        if data:
            writer.write(struct.pack(">BxxxI", STDIN_FRAME, len(data)) + data)
            await writer.drain()
        if detached:
            return True
    if close_on_eof:
        writer.write(struct.pack(">BxxxI", CLOSE_STDIN, 0))
        await writer.drain()
    return False


def take_over(request: Request) -> Hijacked:
    hijack = request.scope.get("extensions", {}).get("wharf.hijack")
    if hijack is None:
        raise SystemFault("this server cannot hijack connections")
    conn: Hijacked = hijack()
    return conn


async def relay_stdio(
    conn: Hijacked,
    stdio: Stdio,
    *,
    tty: bool,
    stdin: bool,
    wanted: set[int],
    close_on_eof: bool,
    detach_keys: bytes = DEFAULT_DETACH_KEYS,
    process_tty: bool | None = None,
) -> bool:
    """Shim ↔ client until the process's output ends (it exited) or the client typed the detach
    keys (returns True; the process runs on), then close the shim side.

    ``tty`` is the framing the client asked for; ``process_tty`` whether the process has a
    terminal (the same unless an exec start asked for other framing than its create).
    """
    reader, writer = stdio
    has_tty = tty if process_tty is None else process_tty
    output = asyncio.ensure_future(relay_output(reader, conn, tty=tty, wanted=wanted))
    inputs = (
        asyncio.ensure_future(
            relay_input(conn, writer, close_on_eof=close_on_eof and not has_tty, detach_keys=detach_keys)
        )
        if stdin
        else None
    )
    gone = asyncio.ensure_future(conn.lost.wait())  # the client hung up: nothing to relay to
    detached = False
    try:
        if inputs is not None:
            await asyncio.wait({output, inputs, gone}, return_when=asyncio.FIRST_COMPLETED)
            if inputs.done() and not inputs.cancelled() and inputs.exception() is None and inputs.result():
                detached = True
        if not detached:
            await asyncio.wait({output, gone}, return_when=asyncio.FIRST_COMPLETED)
            if output.done():
                output.result()
    finally:
        for task in (output, inputs, gone):
            if task is not None:
                task.cancel()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return detached


async def attach_response(backend: Any, container: Container, request: Request) -> Response:
    stream, logs = qbool(request, "stream"), qbool(request, "logs")
    stdin, stdout, stderr = qbool(request, "stdin"), qbool(request, "stdout"), qbool(request, "stderr")
    if not (stream or logs):
        raise InvalidArgument("Either the stream or logs parameter must be true")
    detach_keys = parse_detach_keys(request.query_params.get("detachKeys"))
    tty = container.tty
    conn = take_over(request)
    try:
        await conn.write(handshake(request, content_type(request.scope, tty)))
        if logs:
            opts = LogOptions(stdout=stdout, stderr=stderr)
            async for record in read_logs(container.log_path, opts, lambda: False):
                await conn.write(record.data if tty else mux(record.stream, record.data))
        if stream:
            await relay(
                backend, container, conn, stdin=stdin, stdout=stdout, stderr=stderr, detach_keys=detach_keys
            )
    except ConnectionError:
        pass
    finally:
        conn.close()
    return HijackedResponse()


async def relay(
    backend: AttachBackend,
    container: Container,
    conn: Hijacked,
    *,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    detach_keys: bytes = DEFAULT_DETACH_KEYS,
) -> None:
    # a client that goes away before the container starts must not keep an attach pending
    attaching = asyncio.ensure_future(backend.container_attach(container))
    gone = asyncio.ensure_future(conn.lost.wait())
    await asyncio.wait({attaching, gone}, return_when=asyncio.FIRST_COMPLETED)
    if not attaching.done():
        attaching.cancel()
        return
    if attaching.exception() is not None:  # the start failed: the stream ends
        return
    gone.cancel()
    wanted = {k for k, on in ((1, stdout), (2, stderr)) if on}
    await relay_stdio(
        conn,
        attaching.result(),
        tty=container.tty,
        stdin=stdin,
        wanted=wanted,
        close_on_eof=bool(container.config.get("StdinOnce")),
        detach_keys=detach_keys,
    )
