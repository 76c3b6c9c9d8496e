"""Error kinds shared by every wharf service.

Components raise a subclass of one kind beside the code that raises it; each
service's ``api/errors.py`` maps kinds to its protocol's status codes and bodies.

    WharfError
     ├── NotFound            404  "No such container: x"
     ├── Conflict            409  name in use, container running, image in use
     ├── InvalidArgument     400  malformed input, bad parameters
     ├── Unauthorized        401
     ├── Forbidden           403
     ├── NotModified         304  already started / already stopped
     ├── Unavailable         503
     ├── NotSupported        501  a feature this build or driver does not have
     └── SystemFault         500  a real fault (runtime failed, disk error)
"""

from __future__ import annotations


class WharfError(Exception):
    """Base of every error a wharf component raises on purpose."""

    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(WharfError):
    status = 404


class Conflict(WharfError):
    status = 409


class InvalidArgument(WharfError):
    status = 400


class Unauthorized(WharfError):
    status = 401


class Forbidden(WharfError):
    status = 403


class NotModified(WharfError):
    status = 304


class Unavailable(WharfError):
    status = 503


class NotSupported(WharfError):
    status = 501


class SystemFault(WharfError):
    status = 500


__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidArgument",
    "NotFound",
    "NotModified",
    "NotSupported",
    "SystemFault",
    "Unauthorized",
    "Unavailable",
    "WharfError",
]
