"""Docker's human-readable durations and sizes (go-units HumanDuration, HumanSizeWithPrecision)."""

from __future__ import annotations


def human_duration(seconds: float) -> str:
    """``Less than a second``, ``About a minute``, ``3 hours``, ``2 weeks``..., as go-units."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(s / 3600)
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
    return f"{hours // 24 // 365} years"


def human_size(size: float, precision: int = 3) -> str:
    """Decimal units with ``precision`` significant digits: ``4.26MB``, ``1.2kB``, ``0B``."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.{precision}g}{units[i]}"


__all__ = ["human_duration", "human_size"]
