"""The container life cycle: every declared transition, every undeclared one refused, no module
writing state fields behind ``containers/state.py``'s back, container.json unchanged."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import wharf_engine.containers.state as state_py
from wharf_common.errors import Conflict
from wharf_engine.containers.container import Container
from wharf_engine.containers.errors import InvalidStateTransition
from wharf_engine.containers.state import (
    EVENTS,
    STATE_FIELDS,
    STATUSES,
    TRANSITIONS,
    ZERO_TIME,
    State,
)
from wharf_engine.daemon.remove import remove_stopped
from wharf_engine.daemon.start import start_locked
from wharf_engine.runtime.errors import RuntimeFailure

# The whole life cycle, written out: a change to TRANSITIONS has to change this list too.
DECLARED: list[tuple[str, str, str]] = [
    ("created", "running", "running"),
    ("exited", "running", "running"),
    ("restarting", "running", "running"),
    ("created", "start_failed", "created"),
    ("exited", "start_failed", "exited"),
    ("restarting", "start_failed", "exited"),
    ("running", "paused", "paused"),
    ("paused", "unpaused", "running"),
    ("running", "stopped", "exited"),
    ("paused", "stopped", "exited"),
    ("exited", "restarting", "restarting"),
    ("restarting", "restart_cancelled", "exited"),
    ("created", "removal_in_progress", "removing"),
    ("exited", "removal_in_progress", "removing"),
    ("restarting", "removal_in_progress", "removing"),
    ("dead", "removal_in_progress", "removing"),
    ("removing", "removal_in_progress", "removing"),
    ("removing", "dead", "dead"),
]

ARGS: dict[str, tuple[Any, ...]] = {
    "running": (4321,),
    "start_failed": (127, "exec: no such file"),
    "stopped": (137, "2026-01-02T03:04:05.000000Z"),
    "dead": ("driver failed",),
}

SRC = Path(state_py.__file__).resolve().parents[1]  # the wharf_engine package


def used(status: str) -> State:
    """A state in ``status`` carrying a previous run's leftovers, which a transition must settle."""
    live = status in ("running", "paused")
    return State(
        status=status,
        pid=99 if live else 0,
        exit_code=3,
        error="old",
        oom_killed=True,
        started_at="2026-01-01T00:00:00.000000Z",
        finished_at=ZERO_TIME,
    )


def apply(state: State, event: str) -> None:
    getattr(state, f"set_{event}")(*ARGS.get(event, ()))


def test_declared_list_is_the_engine_table() -> None:
    assert {(src, event): dst for src, event, dst in DECLARED} == TRANSITIONS
    assert len(DECLARED) == len(TRANSITIONS)
    assert {s for s, _, _ in DECLARED} | {d for _, _, d in DECLARED} == set(STATUSES)


@pytest.mark.parametrize(("source", "event", "target"), DECLARED)
def test_declared_transition_sets_status_and_derived_fields(source: str, event: str, target: str) -> None:
    state = used(source)
    apply(state, event)
    api = state.to_api()
    assert api["Status"] == target
    assert api["Running"] is (target in ("running", "paused"))
    assert api["Paused"] is (target == "paused")
    assert api["Restarting"] is (target == "restarting")
    assert api["Dead"] is (target == "dead")
    if target in ("running", "paused"):
        assert api["Pid"] > 0
    else:
        assert api["Pid"] == 0
    if event == "running":
        assert (api["Pid"], api["ExitCode"], api["Error"], api["OOMKilled"]) == (4321, 0, "", False)
        assert api["StartedAt"] not in (ZERO_TIME, "2026-01-01T00:00:00.000000Z")
        assert api["FinishedAt"] == ZERO_TIME  # the last stop's, as Docker
    if event == "stopped":
        assert (api["ExitCode"], api["FinishedAt"], api["OOMKilled"]) == (137, ARGS["stopped"][1], False)
        assert api["Error"] == ""
    if event == "start_failed":
        assert (api["ExitCode"], api["Error"]) == (127, "exec: no such file")
    if event == "dead":
        assert api["Error"] == "driver failed"
    if event in ("paused", "unpaused", "restarting", "restart_cancelled", "removal_in_progress"):
        assert api["ExitCode"] == 3  # only the status moves


def test_every_stop_records_finished_at() -> None:
    state = used("running")
    state.set_stopped(1)  # no time from the shim: now
    assert state.finished_at != ZERO_TIME and state.pid == 0
    state = used("paused")
    state.set_stopped(137, oom_killed=True, error="shim exited without an exit status")
    assert (state.finished_at != ZERO_TIME, state.oom_killed, state.error) == (True, True, state.error)


UNDECLARED = [(s, e) for s in STATUSES for e in EVENTS if (s, e) not in TRANSITIONS]


@pytest.mark.parametrize(("source", "event"), UNDECLARED)
def test_undeclared_transition_raises_and_changes_nothing(source: str, event: str) -> None:
    state = used(source)
    before = state.to_dict()
    with pytest.raises(InvalidStateTransition, match=f"a {source} container cannot take the change"):
        apply(state, event)
    assert state.to_dict() == before
    assert InvalidStateTransition.status == 500  # an engine bug, not the client's


def test_undeclared_list_is_not_empty() -> None:
    assert len(UNDECLARED) == len(STATUSES) * len(EVENTS) - len(TRANSITIONS) > 30


def test_every_event_is_a_method() -> None:
    for event in EVENTS:
        assert callable(getattr(State, f"set_{event}"))


# --- no module writes a state field itself ---------------------------------------------------

FIELDS = set(STATE_FIELDS)


def _is_state(node: ast.expr) -> bool:
    """``….state`` or a local called ``state``."""
    return (isinstance(node, ast.Attribute) and node.attr == "state") or (
        isinstance(node, ast.Name) and node.id == "state"
    )


def direct_writes(source: str) -> list[int]:
    """Line numbers of assignments to (or setattr of) a state field of ``x.state``/``state``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            lines += [node.lineno] if node.args and _is_state(node.args[0]) else []
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Attribute) and sub.attr in FIELDS and _is_state(sub.value):
                    lines.append(sub.lineno)
    return lines


def test_scanner_catches_every_kind_of_write() -> None:
    source = (
        "c.state.status = 'exited'\n"
        "c.state.pid += 1\n"
        "state.exit_code: int = 3\n"
        "a, c.state.error = 1, 'x'\n"
        "setattr(c.state, 'status', 'dead')\n"
        "x = c.state.status\n"
        "c.status = 'fine'\n"
    )
    assert direct_writes(source) == [1, 2, 3, 4, 5]


def test_no_module_writes_state_fields_outside_state_py() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "containers" / "state.py":
            continue
        offenders += [f"{path.relative_to(SRC)}:{n}" for n in direct_writes(path.read_text())]
    assert offenders == [], "write state through State.set_*(): " + ", ".join(offenders)


# --- container.json keeps its format ---------------------------------------------------------

OLD_RECORD = {
    "id": "c" * 64,
    "name": "old",
    "created": "2026-01-01T00:00:00Z",
    "image_id": "sha256:" + "a" * 64,
    "config": {"Image": "busybox"},
    "host_config": {},
    "path": "sh",
    "args": ["-c", "true"],
    "shim_pid": 0,
    "restart_count": 2,
    "mounts": [],
    "network": {},
    "manually_stopped": True,
    "state": {
        "status": "exited",
        "pid": 0,
        "exit_code": 1,
        "error": "",
        "oom_killed": False,
        "started_at": "2026-01-01T00:00:01Z",
        "finished_at": "2026-01-01T00:00:02Z",
        "health": None,
    },
}


def test_container_json_written_by_an_older_engine_reads_and_writes_the_same(tmp_path: Path) -> None:
    container = Container.from_json(json.dumps(OLD_RECORD).encode(), tmp_path)
    assert container.state.to_api()["ExitCode"] == 1 and container.state.status == "exited"
    assert json.loads(container.to_json()) == OLD_RECORD


# --- the removal that fails half-way leaves the container dead -----------------------------


class FailingRuntime:
    def __init__(self, root: Path) -> None:
        self.root = root

    async def delete(self, cid: str, *, force: bool = False) -> None:
        raise RuntimeFailure("runc delete: device or resource busy")


def stopped_container(tmp_path: Path) -> tuple[Any, Container]:
    cid = "d" * 64
    directory = tmp_path / "containers" / cid
    directory.mkdir(parents=True)
    container = Container.from_json(json.dumps({**OLD_RECORD, "id": cid}).encode(), directory)
    (tmp_path / "runc" / cid).mkdir(parents=True)  # the runtime still has it
    daemon = SimpleNamespace(
        containers=SimpleNamespace(by_id={cid: container}), runtime=FailingRuntime(tmp_path / "runc")
    )
    return daemon, container


def test_failed_removal_leaves_the_container_dead_and_unstartable(tmp_path: Path) -> None:
    daemon, container = stopped_container(tmp_path)
    with pytest.raises(RuntimeFailure):
        asyncio.run(remove_stopped(daemon, container))
    assert container.state.to_api()["Dead"] is True
    assert "device or resource busy" in container.state.error
    saved = json.loads((container.dir / "container.json").read_bytes())
    assert saved["state"]["status"] == "dead"
    with pytest.raises(Conflict, match="marked for removal"):
        asyncio.run(start_locked(cast(Any, daemon), container))
    assert container.state.status == "dead"
