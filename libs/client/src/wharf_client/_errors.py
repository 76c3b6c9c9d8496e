"""Errors raised by the engine client.

ClientError
├── EngineConnectionError      the engine could not be reached
├── ProtocolError              the engine answered something that is not HTTP we understand
└── EngineError                the engine answered with an error status and ``{"message": ...}``
    ├── BadRequestError        400
    ├── PermissionDeniedError  401, 403
    ├── NotFoundError          404
    ├── ConflictError          409
    └── ServerError            500 and above
"""

from __future__ import annotations


class ClientError(Exception):
    """Base class of every error this package raises."""


class EngineConnectionError(ClientError):
    def __init__(self, url: str, reason: str = "") -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"Cannot connect to the wharf engine at {url}: is the engine running?")

    @classmethod
    def permission_denied(cls, url: str, reason: str) -> EngineConnectionError:
        err = cls(url, reason)
        err.args = (
            f"permission denied while trying to connect to the wharf engine socket at {url}: {reason}",
        )
        return err


class ProtocolError(ClientError):
    """The response could not be parsed (bad status line, truncated chunk, no 101 on hijack...)."""


class EngineError(ClientError):
    """An error response from the engine; ``str(err)`` is the daemon's message."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


class BadRequestError(EngineError):
    pass


class PermissionDeniedError(EngineError):
    pass


class NotFoundError(EngineError):
    pass


class ConflictError(EngineError):
    pass


class ServerError(EngineError):
    pass


def error_for_status(status: int, message: str) -> EngineError:
    """Build the most specific :class:`EngineError` for an HTTP status."""
    kind: type[EngineError]
    if status == 400:
        kind = BadRequestError
    elif status in (401, 403):
        kind = PermissionDeniedError
    elif status == 404:
        kind = NotFoundError
    elif status == 409:
        kind = ConflictError
    elif status >= 500:
        kind = ServerError
    else:
        kind = EngineError
    return kind(status, message)
