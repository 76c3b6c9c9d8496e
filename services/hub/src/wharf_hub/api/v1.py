"""What every ``/api/v1`` router shares: the prefix, operation ids, and documented errors.

Errors are rendered by :mod:`.errors` as problem JSON; :func:`problems` only tells OpenAPI
which statuses an endpoint answers with, under their real media type.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.routing import APIRoute

from .schemas.common import Problem

PREFIX = "/api/v1"

MAX_ROW_ID = 2**31 - 1  # an Integer primary key: PostgreSQL's int4 (SQLite's bound is 2**63 - 1)
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
"""A row's id in a path: a larger number is a 400, not the database's overflow (a 500)."""

_PROBLEM = {"application/problem+json": {"schema": Problem.model_json_schema()}}
_MEANINGS: dict[int | str, str] = {
    400: "Malformed JSON, an unknown or invalid field, or a bad parameter.",
    401: "No credentials where they are needed, or wrong or revoked ones "
    '(`WWW-Authenticate: Bearer realm="wharf-hub"`).',
    403: "Signed in, but without the role this needs (or the account is not active yet).",
    404: "No such user or repository, or a private repository the caller may not see.",
    409: "The name is taken.",
    "default": "Any other error, such as 429 after too many failed logins (see `Retry-After`).",
}


def problems(*statuses: int | str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses an endpoint may answer with."""
    return {status: {"description": _MEANINGS[status], "content": _PROBLEM} for status in statuses}


def _operation_id(route: APIRoute) -> str:
    """The handler's name (``get_repository``), for generated clients."""
    return route.name


def new_router(*tags: str) -> APIRouter:
    """A router for ``/api/v1``. Every endpoint documents 400 and "default" (which also keeps
    FastAPI from listing a 422 that :mod:`.errors` turns into a 400)."""
    return APIRouter(
        prefix=PREFIX,
        tags=list(tags),
        generate_unique_id_function=_operation_id,
        responses=problems(400, "default"),
    )


__all__ = ["MAX_ROW_ID", "PREFIX", "RowId", "new_router", "problems"]
