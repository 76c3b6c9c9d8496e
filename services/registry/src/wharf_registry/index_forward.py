"""Index mode: the index's v1 calls an engine sends to the registry's own host go on to the hub.

An engine told to use ``localhost:5000/alice/web`` treats ``localhost:5000`` as the index (the
ping says it is not standalone): ``docker login localhost:5000`` sends ``/v1/users/`` there,
and a push or pull starts with ``PUT /v1/repositories/alice/web/`` or ``GET …/images``. With
``index.url`` set, the registry passes these calls to the hub and hands back its answer (the
``X-Docker-Token`` and ``X-Docker-Endpoints`` headers included), so one address serves both. It
forwards rather than redirects: clients drop ``Authorization`` on a redirect to another host.

The client's address goes along as ``X-Forwarded-For``; the hub believes it only when the
registry is one of its ``trusted_proxies`` (otherwise every forwarded login counts as the
registry's own address in the hub's login throttle).
"""

from __future__ import annotations

import httpx
import structlog
from fastapi import Request
from fastapi.responses import Response
from wharf_common.errors import Unavailable

log = structlog.get_logger(__name__)

REQUEST_HEADERS = ("authorization", "content-type", "accept", "user-agent", "x-docker-token")
RESPONSE_HEADERS = (
    "content-type",
    "x-docker-token",
    "x-docker-endpoints",
    "www-authenticate",
    "retry-after",
    "x-docker-registry-version",
)


class IndexUnavailable(Unavailable):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"Cannot reach the index at {url}: {reason}")


class IndexForwarder:
    """Pass one request on to the hub at ``url`` and answer with what it said."""

    def __init__(
        self, url: str, timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout
        self._transport = transport

    async def forward(self, request: Request) -> Response:
        headers = {k: v for k in REQUEST_HEADERS if (v := request.headers.get(k)) is not None}
        peer = request.client.host if request.client else None
        if peer:
            headers["x-forwarded-for"] = peer
        target = f"{self.url}{request.url.path}"
        body = await request.body()
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as http:
                answer = await http.request(
                    request.method,
                    target,
                    params=str(request.query_params),
                    content=body,
                    headers=headers,
                )
        except httpx.HTTPError as exc:
            log.warning("index_forward.unreachable", url=target, error=str(exc) or type(exc).__name__)
            raise IndexUnavailable(self.url, str(exc) or type(exc).__name__) from None
        kept = {k: v for k in RESPONSE_HEADERS if (v := answer.headers.get(k)) is not None}
        log.info(
            "index_forward.forwarded", method=request.method, path=request.url.path, status=answer.status_code
        )
        return Response(answer.content, status_code=answer.status_code, headers=kept)


__all__ = ["IndexForwarder", "IndexUnavailable"]
