"""``/_ping``, ``/v1/_ping``, ``/`` and ``/metrics``.

The ping answers as DR does (protocols.md A.1): ``X-Docker-Registry-Standalone: true`` in
standalone mode, ``false`` in index mode, which sends engines to the index for tokens.
``/v2/`` is the v2 API's (``api/v2/``), mounted beside v1 on the same storage.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from ...metrics import CONTENT_TYPE, Metrics
from ..responses import json_response


def router(metrics: Metrics, *, standalone: bool = True) -> APIRouter:
    api = APIRouter()
    ping_headers = {"X-Docker-Registry-Standalone": "true" if standalone else "false"}

    @api.get("/_ping")
    @api.get("/v1/_ping")
    async def ping() -> Response:
        return json_response({}, headers=ping_headers)

    @api.get("/")
    async def root() -> Response:
        return json_response("wharf registry server")

    @api.get("/metrics")
    async def get_metrics() -> Response:
        return PlainTextResponse(metrics.render(), media_type=CONTENT_TYPE)

    return api
