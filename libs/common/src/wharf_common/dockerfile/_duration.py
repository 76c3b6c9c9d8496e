"""Go's ``time.ParseDuration``, for the HEALTHCHECK flags (``--interval=1m30s``)."""

from __future__ import annotations

import re
from fractions import Fraction

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_NUMBER_RE = re.compile(r"([0-9]*)(?:\.([0-9]*))?")
_UNIT_RE = re.compile(r"[^0-9.]*")


def parse_duration(text: str) -> int:
    """Nanoseconds of a Go duration (``300ms``, ``-1.5h``, ``2h45m``); ValueError with Go's message."""
    rest = text
    negative = rest[:1] == "-"
    if rest[:1] in ("-", "+"):
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f'time: invalid duration "{text}"')
    total = Fraction(0)
    while rest:
        number = _NUMBER_RE.match(rest)
        assert number is not None  # the pattern matches the empty string
        whole, fraction = number[1], number[2] or ""
        if not whole and not fraction:
            raise ValueError(f'time: invalid duration "{text}"')
        rest = rest[number.end() :]
        unit_match = _UNIT_RE.match(rest)
        unit = unit_match[0] if unit_match else ""
        rest = rest[len(unit) :]
        if not unit:
            raise ValueError(f'time: missing unit in duration "{text}"')
        if unit not in _UNITS_NS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        value = Fraction(int(whole or "0"))
        if fraction:
            value += Fraction(int(fraction), 10 ** len(fraction))
        total += value * _UNITS_NS[unit]
    nanoseconds = int(total)
    return -nanoseconds if negative else nanoseconds


__all__ = ["parse_duration"]
