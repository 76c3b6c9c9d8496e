"""ContainerPause and ContainerUnpause (daemon/lifecycle.py) over a FakeRuntime."""

from __future__ import annotations

import asyncio

import pytest
from wharf_common.errors import Conflict
from wharf_engine.containers.errors import ContainerNotRunning
from wharf_engine.runtime.errors import NotRunning

from .daemon_harness import Engine


def test_pause_then_unpause_freezes_and_thaws_in_the_runtime(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        process = engine.runtime.containers[container.id]
        await engine.daemon.container_pause(container.id)
        assert process.status == "paused" and container.state.status == "paused"
        assert container.state.running  # a paused container still counts as running, as Docker
        await engine.daemon.container_unpause(container.id)
        assert process.status == "running" and container.state.status == "running"
        assert engine.events(container.id)[-2:] == ["pause", "unpause"]

    asyncio.run(scenario())


def test_pause_twice_and_unpause_of_a_running_container_conflict(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        with pytest.raises(Conflict, match="is not paused"):
            await engine.daemon.container_unpause(container.id)
        await engine.daemon.container_pause(container.id)
        with pytest.raises(Conflict, match="is already paused"):
            await engine.daemon.container_pause(container.id)
        assert engine.runtime.verbs(container.id).count("pause") == 1

    asyncio.run(scenario())


def test_pause_of_a_stopped_container_is_not_running(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.create()
        with pytest.raises(ContainerNotRunning, match=f"Container {container.id} is not running"):
            await engine.daemon.container_pause(container.id)
        assert "pause" not in engine.runtime.verbs()

    asyncio.run(scenario())


def test_a_pause_that_races_the_exit_is_dockers_not_running(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        engine.runtime.fail("pause", NotRunning("container not running"))
        with pytest.raises(ContainerNotRunning):
            await engine.daemon.container_pause(container.id)
        assert container.state.status == "running"  # the exit, when it is seen, settles it

    asyncio.run(scenario())


def test_a_paused_container_exits_when_killed(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        await engine.daemon.container_pause(container.id)
        await engine.daemon.container_kill(container.id, "KILL")
        assert container.state.status == "exited" and container.state.exit_code == 137

    asyncio.run(scenario())
