"""A container's ``State`` and the one place its status changes, as moby's ``container/state.go``.

Every status change goes through a ``set_*`` method, checked against ``TRANSITIONS``: the table
is the whole life cycle, and a change it does not declare is a bug in the engine, raised as
``InvalidStateTransition`` (and logged) instead of being written. The methods also keep the
fields that go with a status consistent: ``Pid`` is 0 unless the process runs, every stop records
``FinishedAt``, a start clears the last run's ``ExitCode``, ``Error`` and ``OOMKilled``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import structlog

from wharf_engine.shapes import ContainerState

from .errors import InvalidStateTransition

log = structlog.get_logger(__name__)

ZERO_TIME = "0001-01-01T00:00:00Z"

CREATED = "created"
RUNNING = "running"
PAUSED = "paused"
RESTARTING = "restarting"
REMOVING = "removing"
EXITED = "exited"
DEAD = "dead"
STATUSES = (CREATED, RUNNING, PAUSED, RESTARTING, REMOVING, EXITED, DEAD)

TRANSITIONS: dict[tuple[str, str], str] = {
    # (status, event) -> the status it leaves; an event is a ``State.set_<event>`` method
    (CREATED, "running"): RUNNING,
    (EXITED, "running"): RUNNING,
    (RESTARTING, "running"): RUNNING,  # the policy's restart
    (CREATED, "start_failed"): CREATED,  # never ran: it stays created, with ExitCode and Error
    (EXITED, "start_failed"): EXITED,
    (RESTARTING, "start_failed"): EXITED,
    (RUNNING, "paused"): PAUSED,
    (PAUSED, "unpaused"): RUNNING,
    (RUNNING, "stopped"): EXITED,
    (PAUSED, "stopped"): EXITED,  # the frozen process was killed
    (EXITED, "restarting"): RESTARTING,  # the restart policy wants the exit undone
    (RESTARTING, "restart_cancelled"): EXITED,  # stopped or failed before it ran again
    (CREATED, "removal_in_progress"): REMOVING,
    (EXITED, "removal_in_progress"): REMOVING,
    (RESTARTING, "removal_in_progress"): REMOVING,
    (DEAD, "removal_in_progress"): REMOVING,  # rm again after a failed removal
    (REMOVING, "removal_in_progress"): REMOVING,  # an engine restarted mid-removal finishes it
    (REMOVING, "dead"): DEAD,  # the removal failed half-way
}
EVENTS = tuple(dict.fromkeys(event for _, event in TRANSITIONS))


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(slots=True)
class State:
    """Docker's ``State``. Read its fields freely; change them only through the ``set_*`` methods."""

    status: str = CREATED
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    oom_killed: bool = False
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME
    health: dict[str, Any] | None = None  # Docker's State.Health, with a healthcheck

    @property
    def running(self) -> bool:
        return self.status in (RUNNING, PAUSED)

    def _move(self, event: str) -> None:
        target = TRANSITIONS.get((self.status, event))
        if target is None:
            log.error("container.invalid_state_transition", status=self.status, change=event)
            raise InvalidStateTransition(self.status, event)
        self.status = target

    def set_running(self, pid: int, started_at: str | None = None) -> None:
        """The process runs (start, or the policy's restart)."""
        self._move("running")
        self.pid = pid
        self.exit_code = 0
        self.error = ""
        self.oom_killed = False
        self.started_at = started_at or now_rfc3339()  # FinishedAt stays the last stop's, as Docker

    def set_start_failed(self, exit_code: int, error: str) -> None:
        """The process could not start (Docker's 126/127): nothing runs, the reason is kept."""
        self._move("start_failed")
        self.pid = 0
        self.exit_code = exit_code
        self.error = error

    def set_stopped(
        self, exit_code: int, finished_at: str | None = None, *, oom_killed: bool = False, error: str = ""
    ) -> None:
        """The process has exited."""
        self._move("stopped")
        self.pid = 0
        self.exit_code = exit_code
        self.oom_killed = oom_killed
        self.error = error
        self.finished_at = finished_at or now_rfc3339()

    def set_paused(self) -> None:
        self._move("paused")

    def set_unpaused(self) -> None:
        self._move("unpaused")

    def set_restarting(self) -> None:
        """The restart policy starts it again after a back-off; ExitCode stays the last run's."""
        self._move("restarting")

    def set_restart_cancelled(self) -> None:
        """A pending restart will not happen: back to the last exit."""
        self._move("restart_cancelled")

    def set_removal_in_progress(self) -> None:
        self._move("removal_in_progress")

    def set_dead(self, error: str) -> None:
        """The removal failed half-way: only another ``rm`` can move it on."""
        self._move("dead")
        self.error = error

    def set_health(self, health: dict[str, Any] | None) -> None:
        """The healthcheck monitor's record (not a status change)."""
        self.health = health

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in STATE_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        return cls(**data)

    def to_api(self) -> ContainerState:
        shown: ContainerState = {
            "Status": self.status,
            "Running": self.running,
            "Paused": self.status == PAUSED,
            "Restarting": self.status == RESTARTING,
            "OOMKilled": self.oom_killed,
            "Dead": self.status == DEAD,
            "Pid": self.pid,
            "ExitCode": self.exit_code,
            "Error": self.error,
            "StartedAt": self.started_at,
            "FinishedAt": self.finished_at,
        }
        if self.health is not None:
            shown["Health"] = self.health
        return shown


# what container.json holds of it (computed once: dataclasses.fields costs more than the dump)
STATE_FIELDS = tuple(f.name for f in fields(State))
