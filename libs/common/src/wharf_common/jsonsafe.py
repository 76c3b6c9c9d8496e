"""JSON from the network, parsed with a nesting limit.

``json.loads`` recurses once per ``[`` or ``{``: a body of 100,000 brackets raises
``RecursionError`` (a 500 with a traceback in a handler that only expects ``ValueError``),
and a merely deep document goes on to blow the stack of whatever walks it next. :func:`loads`
measures the depth first, in one pass without recursion, and refuses deep documents with
:class:`JSONTooDeep`, a ``ValueError`` like every other malformed-JSON error, so a caller's
``except ValueError`` answers 400 for both.
"""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64
"""Deeper than any document wharf exchanges (image configs nest 3 or 4 levels)."""

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # the unrolled loop: no backtracking
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 / -1 as signed bytes
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


class JSONTooDeep(ValueError):
    """A JSON document nested deeper than the limit."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested deeper than {max_depth} levels")
        self.max_depth = max_depth


def nesting_depth(raw: bytes | bytearray | str) -> int:
    """The deepest nesting of arrays and objects in ``raw`` (brackets inside strings do not count).

    Linear, and never recursive; for malformed input it is an estimate ``json.loads`` then refuses.
    """
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKET)
    return max(accumulate(array("b", brackets.translate(_STEP))), default=0)


def loads(raw: bytes | bytearray | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(raw)``, refusing documents nested deeper than ``max_depth`` levels.

    Raises ``ValueError``: ``json.JSONDecodeError`` for malformed JSON, :class:`JSONTooDeep`
    for deep JSON; never ``RecursionError``.
    """
    if nesting_depth(raw) > max_depth:
        raise JSONTooDeep(max_depth)
    try:
        return json.loads(raw)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise JSONTooDeep(max_depth) from None


__all__ = ["MAX_DEPTH", "JSONTooDeep", "loads", "nesting_depth"]
