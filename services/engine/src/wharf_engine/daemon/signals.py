"""Signal names as Docker accepts them: ``SIGKILL``, ``KILL``, ``9``."""

from __future__ import annotations

import signal

from wharf_common.errors import InvalidArgument


def parse_signal(value: str | int | None, default: int = signal.SIGKILL) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, int) or value.isdigit():
        number = int(value)
        if not 0 < number < 65:
            raise InvalidArgument(f"Invalid signal: {value}")
        return number
    name = value.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise InvalidArgument(f"Invalid signal: {value}") from None
