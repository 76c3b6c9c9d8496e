"""``--format`` handling shared by ps, images and friends (docker's ``formatter.Context``)."""

from __future__ import annotations

from wharf_client import lean as json

from .output import fail
from .tabwriter import tabulate
from .templates import Template, TemplateError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

TABLE_PREFIX = "table"


def prepare(fmt: str) -> tuple[bool, str]:
    """Split the ``table`` prefix off, trim spaces and expand ``\\t`` / ``\\n`` escapes like docker."""
    table = fmt.startswith(TABLE_PREFIX)
    body = fmt[len(TABLE_PREFIX) :] if table else fmt
    body = body.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    return table, body


class _Headers:
    """The header context: every placeholder renders as its column title, methods ignore arguments."""

    def __init__(self, titles: Mapping[str, str]) -> None:
        self._titles = titles

    def __getattr__(self, name: str) -> Any:
        title = self._titles.get(name, name.upper())
        return _Title(title)


class _Title(str):
    def __call__(self, *args: object) -> str:
        return str(self)


def render(fmt: str, items: Iterable[Any], titles: Mapping[str, str], default_table: str) -> str:
    """Render ``items`` with a Go template; ``table`` formats get a header row and aligned columns."""
    if fmt == "json":
        return "".join(json.dumps(_as_dict(item, titles), ensure_ascii=False) + "\n" for item in items)
    if fmt == TABLE_PREFIX:
        fmt = default_table
    table, body = prepare(fmt)
    try:
        template = Template(body)
        rows = [template.render(item) for item in items]
    except TemplateError as exc:
        fail(f"template parsing error: {exc}", 64 if "parsing" in str(exc) else 1)
    if not table:
        return "".join(row + "\n" for row in rows)
    try:
        header = template.render(_Headers(titles))
    except TemplateError:
        header = ""
    lines = "\n".join([header, *rows]).split("\n") if header else "\n".join(rows).split("\n")
    return tabulate(lines) if rows or header else ""


def _as_dict(item: Any, titles: Mapping[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name in titles:
        value = getattr(item, name, None)
        if value is not None and not callable(value):
            result[name] = value
    return result
