"""POST /build: the classic builder's API (tar context in, JSON stream out)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from wharf_common import jsonsafe
from wharf_common.errors import InvalidArgument, WharfError
from wharf_common.reference import InvalidReference, parse_reference

from wharf_engine.api.bridge import with_body
from wharf_engine.api.params import FALSE
from wharf_engine.build.executor import BuildFailed
from wharf_engine.build.output import BuildOutput
from wharf_engine.shapes import BuildOptions


class BuildBackend(Protocol):
    async def build_receive_context(self, stream: BinaryIO) -> Path: ...
    async def build_fetch_remote(self, url: str) -> Path: ...
    def build_check(self, context: Path, dockerfile: str) -> None: ...
    async def image_build(self, context: Path, options: BuildOptions, output: BuildOutput) -> str: ...
    def build_cleanup(self, context: Path) -> None: ...


def _first(request: Request, name: str) -> str | None:
    """The first of repeated values, as Go's ``FormValue`` (Starlette's ``get`` gives the last)."""
    values = request.query_params.getlist(name)
    return values[0] if values else None


def _flag(request: Request, name: str, default: bool = False) -> bool:
    value = _first(request, name)
    return default if value is None else value.strip().lower() not in FALSE


def _json(request: Request, name: str, kind: type) -> Any:
    raw = _first(request, name)
    if not raw:
        return kind()
    try:
        data = jsonsafe.loads(raw)
    except ValueError:
        raise InvalidArgument(f"invalid {name}: {raw}") from None
    if not isinstance(data, kind):
        raise InvalidArgument(f"invalid {name}: {raw}")
    return data


def _json_map(request: Request, name: str) -> dict[str, Any]:
    data: dict[str, Any] = _json(request, name, dict)
    return data


def _tags(request: Request) -> list[str]:
    tags = []
    for t in request.query_params.getlist("t"):
        try:
            tags.append(str(parse_reference(t).with_default_tag()))
        except InvalidReference as exc:
            raise InvalidArgument(f"invalid tag {t!r}: {exc}") from None
    return tags


def router(backend: BuildBackend) -> APIRouter:
    r = APIRouter()
    running: set[asyncio.Future[None]] = set()

    @r.post("/build")
    async def build(request: Request) -> Response:
        # scalars are the first of repeated values, as moby's FormValue; t and extrahosts are lists
        options = BuildOptions(
            nocache=_flag(request, "nocache"),
            rm=_flag(request, "rm", default=True),
            forcerm=_flag(request, "forcerm"),
            buildargs={
                k: (None if v is None else str(v)) for k, v in _json_map(request, "buildargs").items()
            },
            labels={k: str(v) for k, v in _json_map(request, "labels").items()},
            target=_first(request, "target") or None,
            cachefrom=[str(name) for name in _json(request, "cachefrom", list)],
            networkmode=_first(request, "networkmode") or "",
            extrahosts=[h for h in request.query_params.getlist("extrahosts") if h],
            tags=_tags(request),
            dockerfile=_first(request, "dockerfile") or "Dockerfile",
        )
        remote = _first(request, "remote")
        if remote:
            context = await backend.build_fetch_remote(remote)
        else:
            context = await with_body(request, backend.build_receive_context)
        try:
            backend.build_check(context, options.dockerfile)  # a bad Dockerfile is a plain 400, as Docker
        except BaseException:
            backend.build_cleanup(context)
            raise
        output = BuildOutput(quiet=_flag(request, "q"))

        async def run() -> None:
            try:
                await backend.image_build(context, options, output)
            except BuildFailed as exc:
                output.error(exc.message, exc.code)
            except WharfError as exc:
                output.error(exc.message)
            finally:
                backend.build_cleanup(context)
                output.close()

        task = asyncio.ensure_future(run())
        running.add(task)
        task.add_done_callback(running.discard)

        async def body() -> AsyncIterator[bytes]:
            finished = False
            try:
                while (line := await output.queue.get()) is not None:
                    yield line
                finished = True
            finally:
                if not finished:
                    # the client went away (^C, a builder's timeout): as Docker does, the build is
                    # cancelled; its running step container is killed and removed, its context too
                    task.cancel()

        return StreamingResponse(body(), media_type="application/json")

    return r
