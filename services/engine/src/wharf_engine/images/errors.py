"""Image errors, with Docker's wording."""

from __future__ import annotations

from wharf_common.errors import Conflict, InvalidArgument, NotFound


class NoSuchImage(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No such image: {ref}")


class ImageInUse(Conflict):
    pass


class AmbiguousImage(InvalidArgument):
    pass
