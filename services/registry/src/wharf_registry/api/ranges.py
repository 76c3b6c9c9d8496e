"""HTTP ``Range: bytes=…`` for layer downloads (RFC 9110 §14; one range only)."""

from __future__ import annotations

import re

from wharf_common.errors import InvalidArgument

_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)", re.ASCII)


class RangeNotSatisfiable(InvalidArgument):
    status = 416

    def __init__(self, size: int) -> None:
        super().__init__("Requested range not satisfiable")
        self.size = size


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` with ``end`` exclusive, or None to send everything.

    A malformed header or several ranges is ignored (allowed by the RFC); a range that starts
    past the end raises :class:`RangeNotSatisfiable`.
    """
    if not header:
        return None
    match = _RANGE_RE.fullmatch(header.strip())
    if not match or (not match[1] and not match[2]):
        return None
    if not match[1]:  # suffix: the last n bytes
        n = int(match[2])
        if n == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - n), size
    start = int(match[1])
    end = min(int(match[2]) + 1, size) if match[2] else size
    if match[2] and int(match[2]) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(size)
    return start, end
