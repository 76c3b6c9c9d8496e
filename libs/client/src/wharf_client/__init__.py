"""A stdlib-only client for the wharf engine's Docker Engine API (unix sockets and TCP, hijacked streams)."""

from ._base import CLIENT_API_VERSION, JSONObject, negotiate_version
from ._client import EngineClient
from ._containers import PendingWait
from ._errors import (
    BadRequestError,
    ClientError,
    ConflictError,
    EngineConnectionError,
    EngineError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    ServerError,
)
from ._frames import STDERR, STDIN, STDOUT, FrameDecoder, demultiplex, encode_frame
from ._hijack import HijackedStream
from ._hosts import DEFAULT_HOST, EngineHost, parse_host, resolve_host
from ._tls import TLSConfig, tls_config

__all__ = [
    "CLIENT_API_VERSION",
    "DEFAULT_HOST",
    "STDERR",
    "STDIN",
    "STDOUT",
    "BadRequestError",
    "ClientError",
    "ConflictError",
    "EngineClient",
    "EngineConnectionError",
    "EngineError",
    "EngineHost",
    "FrameDecoder",
    "HijackedStream",
    "JSONObject",
    "NotFoundError",
    "PendingWait",
    "PermissionDeniedError",
    "ProtocolError",
    "ServerError",
    "TLSConfig",
    "demultiplex",
    "encode_frame",
    "negotiate_version",
    "parse_host",
    "resolve_host",
    "tls_config",
]
