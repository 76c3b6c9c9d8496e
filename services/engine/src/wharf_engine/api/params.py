"""Query parameters the way Docker reads them (moby httputils)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from wharf_common import jsonsafe
from wharf_common.errors import InvalidArgument

FALSE = ("", "0", "no", "false", "none")


def qbool(request: Request, name: str, default: bool = False) -> bool:
    """Docker's BoolValue: absent → default; "", 0, no, false, none (any case) → False."""
    if name not in request.query_params:
        return default
    return request.query_params[name].strip().lower() not in FALSE


def qint(request: Request, name: str, default: int | None = None) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument(f"invalid value for {name}: {value!r}") from None


def qfilters(request: Request) -> dict[str, list[str]]:
    """``filters`` JSON: ``{"k": ["v"]}`` or the legacy ``{"k": {"v": true}}``."""
    raw = request.query_params.get("filters")
    if not raw:
        return {}
    try:
        data = jsonsafe.loads(raw)
    except ValueError:
        raise InvalidArgument(f"invalid filter: {raw}") from None
    if not isinstance(data, dict):
        raise InvalidArgument(f"invalid filter: {raw}")
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out[key] = [k for k, v in value.items() if v]
        elif isinstance(value, list):
            out[key] = [str(v) for v in value]
        else:
            raise InvalidArgument(f"invalid filter: {raw}")
    return out


async def json_body(request: Request, *, required: bool = True) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise InvalidArgument("invalid JSON: request body is empty")
        return {}
    try:
        data = jsonsafe.loads(raw)
    except ValueError as exc:
        raise InvalidArgument(f"invalid JSON: {exc}") from None
    if data is None and not required:
        return {}
    if not isinstance(data, dict):
        raise InvalidArgument("invalid JSON: expected an object")
    return data
