"""Errors raised by the runtime layer, named for what happened.

    RuntimeFailure (SystemFault)      the runtime refused or failed an operation
    ├── ContainerNotFound             it has no such container (never created, or deleted)
    └── NotRunning                    the container's process has stopped (or never ran)
    StartFailure (InvalidArgument)    the container's process could not be started

``runtime/runc_errors.py`` turns runc's words into these, in one place; callers catch
the types, never match the text. Uncaught they stay what they were: a 500 with the runtime's words
(the daemon says what a user should read, e.g. Docker's "Container x is not running").
"""

from __future__ import annotations

from wharf_common.errors import InvalidArgument, SystemFault


class RuntimeFailure(SystemFault):
    """The OCI runtime refused or failed an operation."""


class ContainerNotFound(RuntimeFailure):
    """The runtime has no container of that id."""


class NotRunning(RuntimeFailure):
    """The container's process is not running: it has exited, or was never started."""


class StartFailure(InvalidArgument):
    """The container process could not be started (bad command, bad user, ...)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
