"""What can go wrong in a build, split the way Celery needs it.

``BuildUserError`` is the user's doing (a source that cannot be cloned, a missing Dockerfile, a
failing step): the build ends as failed with the message in its log, and the task is not retried.
Anything else is a bug or an outage, logged with its traceback.
"""

from __future__ import annotations

from wharf_common.errors import InvalidArgument


class BuildUserError(InvalidArgument):
    """The build failed for a reason its log explains."""


class BuildCancelled(Exception):
    """The hub says the build was cancelled."""


class BuildTimedOut(BuildUserError):
    def __init__(self, seconds: int) -> None:
        super().__init__(f"the build took longer than its timeout ({seconds} s) and was stopped")


__all__ = ["BuildCancelled", "BuildTimedOut", "BuildUserError"]
