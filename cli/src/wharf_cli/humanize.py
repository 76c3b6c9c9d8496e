"""Human-readable durations, sizes and statuses, as docker's ``go-units`` and CLI formatters print them."""

from __future__ import annotations

import time

from wharf_common.humanize import human_duration

ELLIPSIS = "…"


def parse_timestamp(value: str | int | float | None) -> float | None:
    """Seconds since the epoch from a Unix time or an RFC 3339 string; ``None`` for Go's zero time."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value) if value > 0 else None
    text = value.strip()
    if text.startswith("0001-01-01"):
        return None
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Python < 3.12 wants at most 6 fractional digits
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    from datetime import datetime  # not on the path of ps's default table

    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def time_ago(timestamp: float | None, now: float | None = None) -> str:
    """``2 minutes ago`` (docker's CREATED / RunningFor columns)."""
    if timestamp is None:
        return ""
    now = time.time() if now is None else now
    return f"{human_duration(max(now - timestamp, 0))} ago"


def container_status(state: dict[str, object], now: float | None = None) -> str:
    """Docker's ``State.String()``: ``Up 2 minutes``, ``Exited (130) 53 minutes ago``, ``Created``..."""
    now = time.time() if now is None else now
    started = parse_timestamp(state.get("StartedAt"))  # type: ignore[arg-type]
    finished = parse_timestamp(state.get("FinishedAt"))  # type: ignore[arg-type]
    exit_code = state.get("ExitCode", 0)
    if state.get("Running"):
        if state.get("Paused"):
            return f"Up {human_duration(now - (started or now))} (Paused)"
        if state.get("Restarting"):
            return f"Restarting ({exit_code}) {time_ago(finished or now, now)}"
        health = state.get("Health")
        if isinstance(health, dict) and health.get("Status"):
            status = health["Status"]
            label = "health: starting" if status == "starting" else status
            return f"Up {human_duration(now - (started or now))} ({label})"
        return f"Up {human_duration(now - (started or now))}"
    if state.get("RemovalInProgress") or state.get("Status") == "removing":
        return "Removal In Progress"
    if state.get("Dead"):
        return "Dead"
    if started is None:
        return "Created"
    if finished is None:
        return ""
    return f"Exited ({exit_code}) {time_ago(finished, now)}"


def ellipsis(text: str, max_width: int) -> str:
    """Docker's ``formatter.Ellipsis``: cut to ``max_width`` characters, the last one being ``…``."""
    if len(text) <= max_width:
        return text
    if max_width <= 0:
        return ""
    return text[: max_width - 1] + ELLIPSIS


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` for the common cases: escapes ``"``, ``\\`` and control characters."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def truncate_id(identifier: str, length: int = 12) -> str:
    """``stringid.TruncateID``: drop an algorithm prefix (``sha256:``) and keep 12 characters."""
    _, _, rest = identifier.rpartition(":")
    return rest[:length]
