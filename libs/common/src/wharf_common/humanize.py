"""Docker's human-readable durations and sizes (go-units HumanDuration, HumanSizeWithPrecision, BytesSize).

The engine (``ps`` statuses) and the CLI (sizes, ``CREATED``) print the same words from here.
"""

from __future__ import annotations

_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def human_duration(seconds: float) -> str:
    """``units.HumanDuration``: ``Less than a second``, ``About a minute``, ``3 hours``, ``2 weeks``..."""
    secs = int(seconds)
    if secs < 1:
        return "Less than a second"
    if secs == 1:
        return "1 second"
    if secs < 60:
        return f"{secs} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def _go_g(value: float, precision: int) -> str:
    return f"{value:.{precision}g}"


def human_size(size: float, precision: int = 3) -> str:
    """``units.HumanSizeWithPrecision``: decimal units, ``%.3g`` (``4.26MB``, ``1.2kB``, ``0B``)."""
    index = 0
    while size >= 1000.0 and index < len(_DECIMAL_UNITS) - 1:
        size /= 1000.0
        index += 1
    return f"{_go_g(size, precision)}{_DECIMAL_UNITS[index]}"


def bytes_size(size: float) -> str:
    """``units.BytesSize``: binary units with ``%.4g`` (``1.944GiB``), as ``docker info`` prints memory."""
    index = 0
    while size >= 1024.0 and index < len(_BINARY_UNITS) - 1:
        size /= 1024.0
        index += 1
    return f"{_go_g(size, 4)}{_BINARY_UNITS[index]}"


__all__ = ["bytes_size", "human_duration", "human_size"]
