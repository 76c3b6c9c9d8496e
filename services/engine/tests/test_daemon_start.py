"""ContainerStart over a FakeRuntime: create then start in the runtime, the record, the exit watch."""

from __future__ import annotations

import asyncio
import json

import pytest
from wharf_common.errors import Conflict, NotModified
from wharf_engine.containers.errors import NoSuchContainer
from wharf_engine.runtime.errors import RuntimeFailure, StartFailure

from .daemon_harness import Engine, until


def test_start_creates_then_starts_in_the_runtime_and_records_the_pid(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run("web")
        process = engine.runtime.containers[container.id]
        assert engine.runtime.verbs(container.id) == ["delete", "create", "start"]
        assert process.status == "running"
        assert container.state.status == "running" and container.state.pid == process.pid
        assert container.shim_pid == process.shim_pid
        spec = json.loads((container.dir / "bundle" / "config.json").read_bytes())
        assert spec["process"]["args"] == ["top"]
        saved = json.loads((container.dir / "container.json").read_bytes())
        assert saved["state"]["status"] == "running"

    asyncio.run(scenario())


def test_start_of_a_running_container_is_not_modified(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        with pytest.raises(NotModified):
            await engine.daemon.container_start(container.id)
        assert engine.runtime.verbs(container.id).count("create") == 1

    asyncio.run(scenario())


def test_start_of_an_unknown_container_is_no_such_container(engine: Engine) -> None:
    with pytest.raises(NoSuchContainer):
        asyncio.run(engine.daemon.container_start("nope"))


def test_a_command_that_cannot_run_records_docker_exit_code_and_cleans_up(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.create(Cmd=["nope"])
        engine.runtime.fail("create", StartFailure('exec: "nope": executable file not found in $PATH', 127))
        with pytest.raises(StartFailure):
            await engine.daemon.container_start(container.id)
        assert container.state.status == "created" and container.state.exit_code == 127
        assert "executable file not found" in container.state.error
        assert engine.runtime.verbs(container.id) == ["delete", "create", "delete"]

    asyncio.run(scenario())


def test_a_runtime_failure_at_start_kills_what_was_created(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.create()
        engine.runtime.fail("start", RuntimeFailure("runc start: boom"))
        with pytest.raises(RuntimeFailure, match="boom"):
            await engine.daemon.container_start(container.id)
        assert engine.runtime.verbs(container.id)[-2:] == ["start", "kill"]
        await until(lambda: not container.state.running)  # the shim's exit settles it
        assert container.state.exit_code == 137
        assert container.id not in engine.runtime.containers  # deleted on exit

    asyncio.run(scenario())


def test_a_removed_container_cannot_start(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.create()
        container.state.set_removal_in_progress()
        with pytest.raises(Conflict, match="marked for removal"):
            await engine.daemon.container_start(container.id)
        assert "create" not in engine.runtime.verbs(container.id)

    asyncio.run(scenario())


def test_the_exit_is_recorded_and_the_runtime_forgets_the_container(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        engine.runtime.exit(container.id, 3)
        await until(lambda: container.state.status == "exited")
        assert container.state.exit_code == 3 and container.shim_pid == 0
        assert engine.runtime.verbs(container.id)[-1] == "delete"
        assert container.id not in engine.runtime.containers

    asyncio.run(scenario())


def test_auto_remove_removes_the_container_after_its_exit(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run(HostConfig={"AutoRemove": True})
        engine.runtime.exit(container.id, 0)
        await until(lambda: container.id not in engine.daemon.containers.by_id)
        assert not container.dir.exists()

    asyncio.run(scenario())
