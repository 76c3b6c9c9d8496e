"""Response helpers with DR's headers (``toolkit.response``, ``images.set_cache_headers``)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from email.utils import formatdate
from typing import Any

from fastapi.responses import Response

NO_CACHE = {"Cache-Control": "no-cache", "Expires": "-1", "Pragma": "no-cache"}
CACHE_TTL = 31536000


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None, raw: bool = False
) -> Response:
    """JSON with DR's no-cache headers; ``raw`` sends ``data`` (bytes) as stored."""
    body = data if raw else json.dumps(data).encode()
    return Response(
        body, status_code=status, media_type="application/json", headers={**NO_CACHE, **(headers or {})}
    )


def cache_headers() -> dict[str, str]:
    """Image JSON, ancestry and layers never change once complete: cache them for a year."""
    return {
        "Cache-Control": f"public, max-age={CACHE_TTL}",
        "Expires": formatdate(time.time() + CACHE_TTL, usegmt=True),
        "Last-Modified": "Thu, 01 Jan 1970 00:00:00 GMT",
    }
