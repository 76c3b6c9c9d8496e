"""``wharf ps``: list containers."""

from __future__ import annotations

from ..formatter import render
from ..opts import parse_filters
from ..output import out
from ..session import client
from ..views import PS_TABLE, PS_TITLES, ContainerView
from .flags import Spec

SPEC = Spec(
    flags=("-a --all", "-l --latest", "--no-trunc", "-q --quiet", "-s --size"),
    values=("--format",),
    lists=("-f --filter",),
    ints=("-n --last",),
)


def ps(
    *,
    all: bool = False,
    filter: list[str] | None = None,
    format: str | None = None,
    last: int = -1,
    latest: bool = False,
    no_trunc: bool = False,
    quiet: bool = False,
    size: bool = False,
) -> None:
    limit = 1 if latest and last == -1 else last
    fmt = format or ""
    if quiet:
        fmt = "{{.ID}}"
    elif not fmt:
        fmt = PS_TABLE + ("\t{{.Size}}" if size else "")
    want_size = size or (".Size" in fmt and not quiet)
    containers = client().container_list(
        all=all, limit=limit if limit > 0 else None, size=want_size, filters=parse_filters(filter)
    )
    views = [ContainerView(c, trunc=not no_trunc) for c in containers]
    out(render(fmt, views, PS_TITLES, PS_TABLE), end="")
