"""``wharf network inspect`` and ``wharf volume inspect``: one object per name, as docker prints them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from wharf_client import ClientError

from .formatter import prepare
from .output import describe, fail, out
from .templates import Template, TemplateError


def inspect_each(names: list[str], fetch: Callable[[str], dict[str, Any]], format: str | None) -> None:
    """A JSON array (4-space indent), or ``format`` rendered once per object; the names that failed
    are reported together at the end, with exit status 1."""
    template = None
    if format and format != "json":
        try:
            template = Template(prepare(format)[1])
        except TemplateError as exc:
            fail(f"template parsing error: {exc}")
    found: list[dict[str, Any]] = []
    errors: list[str] = []
    for name in names:
        try:
            found.append(fetch(name))
        except ClientError as error:
            errors.append(describe(error))
    if template is None:
        out(json.dumps(found, indent=4, ensure_ascii=False))
    else:
        for item in found:
            try:
                out(template.render(item))
            except TemplateError as exc:
                fail(f"template: {exc}")
    if errors:
        fail("\n".join(errors))
