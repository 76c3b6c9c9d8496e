"""Exec endpoints: create, start (hijacked or detached), inspect, resize."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from wharf_common.errors import WharfError

from wharf_engine.api import schemas
from wharf_engine.api.attach import HijackedResponse, handshake, relay_stdio, take_over
from wharf_engine.api.params import json_body, qint
from wharf_engine.api.streams import content_type, mux
from wharf_engine.containers.container import Stdio
from wharf_engine.containers.detach import parse_detach_keys


class ExecBackend(Protocol):
    def exec_create(self, ref: str, config: dict[str, Any]) -> str: ...
    def exec_inspect(self, exec_id: str) -> dict[str, Any]: ...
    async def exec_start(
        self, exec_id: str, *, detach: bool, console_size: tuple[int, int] | None = None
    ) -> Stdio | None: ...
    async def exec_resize(self, exec_id: str, height: int, width: int) -> None: ...
    def exec_check(self, exec_id: str) -> None: ...
    async def exec_wait(self, exec_id: str) -> None: ...


def router(backend: ExecBackend) -> APIRouter:
    r = APIRouter()

    @r.post("/containers/{ref}/exec", status_code=201)
    async def create(ref: str, request: Request) -> Response:
        body = await json_body(request)
        schemas.check(schemas.ExecConfig, body)  # the daemon reads it as plain JSON
        exec_id = backend.exec_create(ref, body)
        return JSONResponse({"Id": exec_id}, status_code=201)

    @r.post("/exec/{exec_id}/start")
    async def start(exec_id: str, request: Request) -> Response:
        body = schemas.check(schemas.ExecStart, await json_body(request, required=False))
        backend.exec_check(exec_id)  # 404 / 409 as plain HTTP errors, before the socket is taken
        if body.get("Detach"):
            await backend.exec_start(exec_id, detach=True)
            return Response(status_code=200)
        info = backend.exec_inspect(exec_id)
        process_tty = bool(info["ProcessConfig"]["tty"])
        # the framing follows the start request's Tty, as Docker (a pty's output in stdout frames,
        # or a plain process's stdout and stderr raw); the detach keys: the query's, else create's
        tty = bool(body["Tty"]) if body.get("Tty") is not None else process_tty
        detach_keys = parse_detach_keys(request.query_params.get("detachKeys") or info["DetachKeys"])
        # take the socket at once: a client may send stdin as soon as its request is out
        conn = take_over(request)
        try:
            await conn.write(handshake(request, content_type(request.scope, tty)))
            try:
                size = body.get("ConsoleSize")
                console = (
                    (int(size[0]), int(size[1]))
                    if isinstance(size, list) and len(size) == 2 and all(size)
                    else None
                )
                stdio = await backend.exec_start(exec_id, detach=False, console_size=console)
            except WharfError as exc:  # the process could not start: say so on the stream, as Docker
                message = exc.message.encode() + b"\r\n"
                await conn.write(message if tty else mux("stderr", message))
                return HijackedResponse()
            if stdio is not None:
                wanted = {k for k, on in ((1, info["OpenStdout"]), (2, info["OpenStderr"])) if on}
                detached = await relay_stdio(
                    conn,
                    stdio,
                    tty=tty,
                    stdin=bool(info["OpenStdin"]),
                    wanted=wanted,
                    close_on_eof=True,
                    detach_keys=detach_keys,
                    process_tty=process_tty,
                )
                if not detached:
                    await backend.exec_wait(exec_id)  # the exit code is known before the client asks
        except ConnectionError:
            pass
        finally:
            conn.close()
        return HijackedResponse()

    @r.get("/exec/{exec_id}/json")
    async def inspect(exec_id: str) -> Response:
        return JSONResponse(backend.exec_inspect(exec_id))

    @r.post("/exec/{exec_id}/resize")
    async def resize(exec_id: str, request: Request) -> Response:
        await backend.exec_resize(exec_id, qint(request, "h", 0) or 0, qint(request, "w", 0) or 0)
        return Response(status_code=200)

    return r
