"""``wharf events``: the engine's event stream, printed as docker prints it."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime
from typing import Annotated, Any

import typer
from wharf_client import ClientError

from ...inspecting import json_or_template
from ...opts import parse_filters
from ...output import fail, fail_client, out
from ...session import client
from ...templates import TemplateError

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str) -> float | None:
    """Go's ``time.ParseDuration`` in seconds (``90s``, ``1h30m``, ``-5m``); ``None`` if it is not one."""
    sign, text = (-1.0, value[1:]) if value.startswith("-") else (1.0, value.lstrip("+"))
    if text == "0":
        return 0.0
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sign * sum(float(number) * _UNITS[unit] for number, unit in parts)


def timestamp(value: str, now: float | None = None) -> str:
    """docker's ``timetypes.GetTimestamp``: a duration ago, an RFC 3339 date (local time unless it has a
    zone) or Unix seconds, as the ``seconds.nanoseconds`` the engine takes. Raises ``ValueError``."""
    now = time.time() if now is None else now
    duration = parse_duration(value) if value != "0" else None
    if duration is not None:
        return str(int(now - duration))
    text = value[:-1] + "+00:00" if value[-1:] in ("z", "Z") else value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        if "-" in value or not re.fullmatch(r"\d+(\.\d{1,9})?", value):
            raise ValueError(f"failed to parse value as time or duration: {json.dumps(value)}") from None
        return value  # already Unix seconds
    if moment.tzinfo is None:
        moment = moment.astimezone()
    seconds = moment.timestamp()
    return f"{int(seconds)}.{moment.microsecond * 1000:09d}"


def rfc3339_nano(nanoseconds: int) -> str:
    """Go's ``RFC3339NanoFixed`` in local time: ``2026-01-02T15:04:05.000000000+01:00`` (``Z`` for UTC)."""
    moment = datetime.fromtimestamp(nanoseconds // 1_000_000_000).astimezone()
    offset = moment.strftime("%z")
    zone = "Z" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{nanoseconds % 1_000_000_000:09d}{zone}"


def pretty(event: dict[str, Any]) -> str:
    """docker's ``prettyPrintEvent``: time, type, action, actor id and its sorted attributes."""
    parts: list[str] = []
    if event.get("timeNano"):
        parts.append(rfc3339_nano(int(event["timeNano"])))
    elif event.get("time"):
        parts.append(rfc3339_nano(int(event["time"]) * 1_000_000_000))
    actor = event.get("Actor") or {}
    parts.append(f"{event.get('Type', '')} {event.get('Action', '')} {actor.get('ID', '')}")
    line = " ".join(parts)
    attributes = actor.get("Attributes") or {}
    if attributes:
        line += " (" + ", ".join(f"{key}={attributes[key]}" for key in sorted(attributes)) + ")"
    return line


def template_context(event: dict[str, Any]) -> dict[str, Any]:
    """The event with the field names of docker's ``events.Message`` (what ``--format`` sees)."""
    return {
        "Status": event.get("status", ""),
        "ID": event.get("id", ""),
        "From": event.get("from", ""),
        "Type": event.get("Type", ""),
        "Action": event.get("Action", ""),
        "Actor": {"ID": "", "Attributes": {}, **(event.get("Actor") or {})},
        "Scope": event.get("scope", ""),
        "Time": event.get("time", 0),
        "TimeNano": event.get("timeNano", 0),
    }


def events(
    since: Annotated[
        str | None, typer.Option("--since", help="Show all events created since timestamp")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Stream events until this timestamp")] = None,
    filter: Annotated[
        list[str] | None, typer.Option("-f", "--filter", help="Filter output based on conditions provided")
    ] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="Format the output using the given Go template")
    ] = None,
) -> None:
    """Get real time events from the server."""
    template = json_or_template(format)
    now = time.time()
    try:
        since_ts = timestamp(since, now) if since else None
        until_ts = timestamp(until, now) if until else None
    except ValueError as exc:
        fail(str(exc))
    try:
        for event in client().events(since=since_ts, until=until_ts, filters=parse_filters(filter)):
            if format == "json":
                line = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
            elif template is not None:
                try:
                    line = template.render(template_context(event))
                except TemplateError as exc:
                    fail(f"template: {exc}")
            else:
                line = pretty(event)
            out(line)
            sys.stdout.flush()
    except ClientError as error:
        fail_client(error)


def register(app: typer.Typer) -> None:
    app.command("events")(events)
