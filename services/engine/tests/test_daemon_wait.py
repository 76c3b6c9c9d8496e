"""ContainerWait (daemon/wait.py) over a FakeRuntime: the three conditions."""

from __future__ import annotations

import asyncio

import pytest
from wharf_common.errors import InvalidArgument

from .daemon_harness import Engine


def test_wait_returns_the_exit_code_when_the_container_exits(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        waiter = asyncio.create_task(engine.daemon.container_wait(container.id, "not-running"))
        await asyncio.sleep(0.01)
        assert not waiter.done()
        engine.runtime.exit(container.id, 7)
        assert await asyncio.wait_for(waiter, 5) == 7

    asyncio.run(scenario())


def test_wait_not_running_of_a_stopped_container_returns_at_once(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.create()
        assert await asyncio.wait_for(engine.daemon.container_wait(container.id, "not-running"), 1) == 0

    asyncio.run(scenario())


def test_wait_next_exit_waits_for_a_start_and_its_exit(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.create()
        waiter = asyncio.create_task(engine.daemon.container_wait(container.id, "next-exit"))
        await engine.daemon.container_start(container.id)
        assert not waiter.done()
        engine.runtime.exit(container.id, 2)
        assert await asyncio.wait_for(waiter, 5) == 2

    asyncio.run(scenario())


def test_wait_removed_waits_past_the_exit_for_the_removal(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        waiter = asyncio.create_task(engine.daemon.container_wait(container.id, "removed"))
        engine.runtime.exit(container.id, 1)
        await engine.daemon.container_wait(container.id, "not-running")
        assert not waiter.done()
        await engine.daemon.container_remove(container.id, force=False, volumes=False)
        assert await asyncio.wait_for(waiter, 5) == 1

    asyncio.run(scenario())


def test_an_exit_the_restart_policy_undoes_still_ends_the_wait(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run(HostConfig={"RestartPolicy": {"Name": "always"}})
        waiter = asyncio.create_task(engine.daemon.container_wait(container.id, "not-running"))
        engine.runtime.exit(container.id, 4)
        assert await asyncio.wait_for(waiter, 5) == 4

    asyncio.run(scenario())


def test_wait_refuses_an_unknown_condition(engine: Engine) -> None:
    with pytest.raises(InvalidArgument, match="invalid condition"):
        asyncio.run(engine.daemon.container_wait("x", "whenever"))
