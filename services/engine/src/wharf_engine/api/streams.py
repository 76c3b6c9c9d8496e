"""Docker's stream formats: 8-byte-header multiplexing, raw TTY, JSON progress lines."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

from starlette.types import Scope

STREAMS = {"stdin": 0, "stdout": 1, "stderr": 2}
RAW = "application/vnd.docker.raw-stream"
MULTIPLEXED = "application/vnd.docker.multiplexed-stream"


def mux(stream: str | int, data: bytes) -> bytes:
    kind = STREAMS[stream] if isinstance(stream, str) else stream
    return struct.pack(">BxxxI", kind, len(data)) + data


def content_type(scope: Scope, tty: bool) -> str:
    """Multiplexed-stream only for non-TTY at API 1.42 and newer, as Docker."""
    version: tuple[int, int] = scope.get("wharf.api_version", (1, 45))
    return MULTIPLEXED if not tty and version >= (1, 42) else RAW


def json_line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\r\n"


def error_line(message: str) -> bytes:
    return json_line({"errorDetail": {"message": message}, "error": message})


def path_stat_header(info: dict[str, Any]) -> str:
    """``X-Docker-Container-Path-Stat``: base64 of the JSON stat, as ``docker cp`` reads it."""
    return base64.b64encode(json.dumps(info).encode()).decode()
