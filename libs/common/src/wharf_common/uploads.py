"""What the services say of a request body that did not arrive whole."""

from __future__ import annotations

from .errors import InvalidArgument


class TruncatedUpload(InvalidArgument):
    """The client went away before its body was complete (a cut ``PUT layer``, ``docker load``
    or build context): nothing of it is kept, and the answer says why, as Go's servers word it."""

    def __init__(self) -> None:
        super().__init__("unexpected EOF: the upload ended before it was complete")


__all__ = ["TruncatedUpload"]
