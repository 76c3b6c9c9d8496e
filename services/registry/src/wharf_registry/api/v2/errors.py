"""The v2 error body ``{"errors": [{"code", "message", "detail"}]}`` for any error under ``/v2``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi.responses import Response
from wharf_common.errors import WharfError

from ...v2.errors import KIND_CODES, ChallengeRequired, RangeInvalid, code_of, detail_of


def is_v2(path: str) -> bool:
    return path == "/v2" or path.startswith("/v2/")


def v2_response(
    status: int, code: str, message: str, detail: Any = None, headers: Mapping[str, str] | None = None
) -> Response:
    body = {"errors": [{"code": code, "message": message, "detail": detail}]}
    return Response(
        json.dumps(body).encode(),
        status_code=status,
        media_type="application/json",
        headers=dict(headers or {}),
    )


def v2_error(exc: WharfError) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, ChallengeRequired):
        headers["WWW-Authenticate"] = exc.challenge
    if isinstance(exc, RangeInvalid):
        headers["Range"] = f"0-{max(exc.size - 1, 0)}"
    return v2_response(exc.status, code_of(exc), exc.message, detail_of(exc), headers)


def v2_status_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    code = "UNSUPPORTED" if status == 405 else KIND_CODES.get(status, "UNKNOWN")
    return v2_response(status, code, message, None, headers)
