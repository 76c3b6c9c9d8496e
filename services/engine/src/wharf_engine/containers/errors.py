"""Container errors, with Docker's wording (moby daemon/errors.go)."""

from __future__ import annotations

from wharf_common.errors import Conflict, InvalidArgument, NotFound, SystemFault


class NoSuchContainer(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No such container: {ref}")


class NameConflict(Conflict):
    def __init__(self, name: str, owner: str) -> None:
        super().__init__(
            f'Conflict. The container name "/{name}" is already in use by container "{owner}". '
            "You have to remove (or rename) that container to be able to reuse that name."
        )


class AmbiguousContainer(InvalidArgument):
    def __init__(self, ref: str) -> None:
        super().__init__(f"multiple containers found with provided prefix: {ref}")


class ContainerRunning(Conflict):
    pass


class ContainerNotRunning(Conflict):
    def __init__(self, cid: str) -> None:
        super().__init__(f"Container {cid} is not running")


class InvalidName(InvalidArgument):
    def __init__(self, name: str) -> None:
        super().__init__(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")


class InvalidStateTransition(SystemFault):
    """A status change ``containers/state.py:TRANSITIONS`` does not declare: an engine bug."""

    def __init__(self, status: str, event: str) -> None:
        super().__init__(f"internal error: a {status} container cannot take the change {event!r}")
        self.from_status = status
        self.event = event
