"""ContainerRemove and ContainerPrune (daemon/remove.py) over a FakeRuntime."""

from __future__ import annotations

import asyncio

import pytest
from wharf_engine.containers.errors import ContainerRunning, NoSuchContainer
from wharf_engine.runtime.errors import RuntimeFailure

from .daemon_harness import Engine


def test_remove_of_a_stopped_container_forgets_it_everywhere(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run("gone")
        engine.runtime.exit(container.id, 0)
        await engine.daemon.container_wait(container.id, "not-running")
        await engine.daemon.container_remove("gone", force=False, volumes=False)
        assert container.id not in engine.daemon.containers.by_id and not container.dir.exists()
        with pytest.raises(NoSuchContainer):
            engine.daemon.container_get("gone")
        assert engine.events(container.id)[-1] == "destroy"

    asyncio.run(scenario())


def test_remove_refuses_a_running_container_unless_forced(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run("busy")
        with pytest.raises(ContainerRunning, match="stop the container before removing or force remove"):
            await engine.daemon.container_remove("busy", force=False, volumes=False)
        assert engine.runtime.containers[container.id].status == "running"
        await engine.daemon.container_remove("busy", force=True, volumes=False)
        assert ("kill", container.id, 9, True) in engine.runtime.calls
        assert container.id not in engine.daemon.containers.by_id
        assert container.id not in engine.runtime.containers

    asyncio.run(scenario())


def test_a_runtime_that_cannot_delete_leaves_the_container_dead(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.create()
        engine.runtime.fail("delete", RuntimeFailure("runc delete: device or resource busy"))
        with pytest.raises(RuntimeFailure):
            await engine.daemon.container_remove(container.id, force=False, volumes=False)
        assert container.state.status == "dead" and "resource busy" in container.state.error
        await engine.daemon.container_remove(container.id, force=False, volumes=False)  # a second rm works
        assert container.id not in engine.daemon.containers.by_id

    asyncio.run(scenario())


def test_prune_removes_stopped_containers_and_keeps_running_ones(engine: Engine) -> None:
    async def scenario() -> None:
        stopped = await engine.create()
        running = await engine.run()
        report = await engine.daemon.container_prune()
        assert report["ContainersDeleted"] == [stopped.id]
        assert running.id in engine.daemon.containers.by_id
        assert (await engine.daemon.container_prune())["ContainersDeleted"] is None

    asyncio.run(scenario())
