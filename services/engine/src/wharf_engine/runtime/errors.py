"""Errors raised by the runtime layer."""

from __future__ import annotations

from wharf_common.errors import InvalidArgument, SystemFault


class RuntimeFailure(SystemFault):
    """The OCI runtime refused or failed an operation."""


class StartFailure(InvalidArgument):
    """The container process could not be started (bad command, bad user, ...)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
