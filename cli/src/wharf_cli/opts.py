"""Small option parsers shared by several command groups (docker/cli's ``opts`` package)."""

from __future__ import annotations

import sys

from .output import fail, out

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from typing import Any


def parse_filters(values: list[str] | None) -> dict[str, list[str]]:
    """``-f key=value`` (repeatable) into the Engine API's filter map."""
    filters: dict[str, list[str]] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            message = "bad format of filter (expected name=value)"
            fail(f'invalid argument "{item}" for "-f, --filter" flag: {message}')
        filters.setdefault(key.strip().lower(), []).append(value)
    return filters


def parse_labels(values: list[str] | None) -> dict[str, str]:
    return {key: value for key, _, value in (item.partition("=") for item in values or [])}


def natural_key(text: str) -> list[Any]:
    """``sortorder.NaturalLess``: runs of digits compare as numbers."""
    import re  # not on the path of every command: ``re`` brings enum, functools and collections

    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]


def split_reference(reference: str) -> tuple[str, str | None]:
    """``repo[:tag]`` into its parts (a ``:`` before the last ``/`` belongs to a registry port)."""
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        return reference[:colon], reference[colon + 1 :]
    return reference, None


def confirm(warning: str) -> bool:
    """docker's ``PromptForConfirmation``: the question on stdout, the answer from stdin."""
    out(f"{warning}\nAre you sure you want to continue? [y/N] ", end="")
    sys.stdout.flush()
    answer = sys.stdin.readline() if sys.stdin else ""
    return answer.strip().lower() in ("y", "yes")
