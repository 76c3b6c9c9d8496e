"""``wharf logs``: fetch the logs of a container."""

from __future__ import annotations

import time

from wharf_client import ClientError

from ..humanize import parse_timestamp
from ..output import fail, fail_client, write_stream
from ..session import client
from .flags import Spec

SPEC = Spec(
    flags=("-f --follow", "-t --timestamps"),
    values=("--since", "--until", "-n --tail"),
    args=("container",),
)
_DURATION = r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)"  # ``re`` is imported only for --since/--until
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(value: str) -> float | None:
    """Seconds in a Go duration (``1h30m``, ``10s``, ``250ms``), ``None`` if it is not one."""
    import re

    text = value.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if not text or re.sub(_DURATION, "", text):
        return None
    return sign * sum(float(n) * _UNIT_SECONDS[unit] for n, unit in re.findall(_DURATION, text))


def api_timestamp(value: str | None, now: float | None = None) -> str | None:
    """docker's ``timetypes.GetTimestamp``: durations count back from now; dates become Unix seconds."""
    if not value:
        return None
    import re

    now = time.time() if now is None else now
    duration = parse_go_duration(value)
    if duration is not None:
        moment = now - duration
    elif re.fullmatch(r"\d+(\.\d+)?", value):
        return value
    else:
        parsed = parse_timestamp(value if "T" in value or " " in value else value + "T00:00:00Z")
        if parsed is None:
            fail(f'invalid value for "since/until": {value}')
        moment = parsed
    seconds = int(moment)
    return f"{seconds}.{round((moment - seconds) * 1e9):09d}"


def logs(
    *,
    container: str,
    follow: bool = False,
    since: str | None = None,
    until: str | None = None,
    tail: str = "all",
    timestamps: bool = False,
) -> None:
    api = client()
    try:
        info = api.container_inspect(container)
        tty = bool((info.get("Config") or {}).get("Tty"))
        frames = api.container_logs(
            info["Id"],
            follow=follow,
            tail=tail,
            timestamps=timestamps,
            since=api_timestamp(since),
            until=api_timestamp(until),
            tty=tty,
        )
        for stream_type, data in frames:
            write_stream(stream_type, data)
    except ClientError as error:
        fail_client(error)
