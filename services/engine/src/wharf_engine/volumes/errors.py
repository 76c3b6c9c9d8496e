"""Volume errors, with Docker's wording."""

from __future__ import annotations

from wharf_common.errors import Conflict, InvalidArgument, NotFound


class NoSuchVolume(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"get {name}: no such volume")


class VolumeInUse(Conflict):
    def __init__(self, name: str, users: list[str]) -> None:
        super().__init__(f"remove {name}: volume is in use - [{', '.join(users)}]")


class InvalidMount(InvalidArgument):
    pass


class InvalidVolumeName(InvalidMount):
    def __init__(self, name: str) -> None:
        super().__init__(
            f'create {name}: "{name}" includes invalid characters for a local volume name, only '
            '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. '
            "If you intended to pass a host directory, use absolute path"
        )
