"""``--format`` for the commands that print JSON by default (inspect, events), and network/volume inspect."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from wharf_client import ClientError

from .formatter import prepare
from .output import describe, fail, out
from .templates import Template, TemplateError


def json_or_template(format: str | None) -> Template | None:
    """``--format``'s template, or None for JSON (no format, or ``json``); a bad template fails."""
    if not format or format == "json":
        return None
    try:
        return Template(prepare(format)[1])
    except TemplateError as exc:
        fail(f"template parsing error: {exc}")


def inspect_each(names: list[str], fetch: Callable[[str], dict[str, Any]], format: str | None) -> None:
    """A JSON array (4-space indent), or ``format`` rendered once per object; the names that failed
    are reported together at the end, with exit status 1."""
    template = json_or_template(format)
    found: list[dict[str, Any]] = []
    errors: list[str] = []
    for name in names:
        try:
            found.append(fetch(name))
        except ClientError as error:
            errors.append(describe(error))
    show(found, template)
    if errors:
        fail("\n".join(errors))


def show(found: list[dict[str, Any]], template: Template | None, *, blank_when_none: bool = False) -> None:
    """The inspected objects: one JSON array (4-space indent), or ``template`` rendered once per
    object (``blank_when_none``: an empty line when there is none, as docker's TemplateInspector)."""
    if template is None:
        out(json.dumps(found, indent=4, ensure_ascii=False))
    elif not found and blank_when_none:
        out()
    else:
        for item in found:
            try:
                out(template.render(item))
            except TemplateError as exc:
                fail(f"template: {exc}")
