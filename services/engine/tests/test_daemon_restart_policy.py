"""Restart policies (daemon/restart_policy.py) over a FakeRuntime: which exits are undone, how often, and
what a stop does to a pending restart."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from wharf_common.errors import InvalidArgument, NotModified
from wharf_engine.daemon import restart_policy
from wharf_engine.runtime.errors import StartFailure
from wharf_engine.shapes import StopOptions

from .daemon_harness import Engine, until


def policy(name: str, retries: int = 0) -> dict[str, Any]:
    return {"RestartPolicy": {"Name": name, "MaximumRetryCount": retries}}


def test_on_failure_restarts_after_a_failing_exit_with_a_new_process(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run(HostConfig=policy("on-failure"))
        first = engine.runtime.containers[container.id].pid
        engine.runtime.exit(container.id, 1)
        await until(lambda: container.state.status == "restarting")
        await until(lambda: container.state.status == "running")
        assert container.restart_count == 1
        assert engine.runtime.containers[container.id].pid != first
        assert engine.events(container.id)[-2:] == ["die", "start"]

    asyncio.run(scenario())


def test_on_failure_leaves_a_clean_exit_alone(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run(HostConfig=policy("on-failure"))
        engine.runtime.exit(container.id, 0)
        await until(lambda: container.state.status == "exited")
        await asyncio.sleep(0.15)  # past the first restart's delay
        assert container.state.status == "exited" and container.restart_count == 0

    asyncio.run(scenario())


def test_on_failure_gives_up_after_its_maximum_retry_count(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run(HostConfig=policy("on-failure", 1))
        engine.runtime.exit(container.id, 2)
        await until(lambda: container.state.status == "running" and container.restart_count == 1)
        engine.runtime.exit(container.id, 2)
        await until(lambda: container.state.status == "exited")
        await asyncio.sleep(0.25)
        assert container.state.status == "exited" and container.restart_count == 1

    asyncio.run(scenario())


def test_always_restarts_a_clean_exit_but_not_a_stop(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run(HostConfig=policy("always"))
        engine.runtime.exit(container.id, 0)
        await until(lambda: container.state.status == "running" and container.restart_count == 1)
        await engine.daemon.container_stop(container.id, StopOptions())
        await asyncio.sleep(0.25)
        assert container.state.status == "exited"

    asyncio.run(scenario())


def test_a_stop_cancels_a_pending_restart(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run(HostConfig=policy("unless-stopped"))
        engine.runtime.exit(container.id, 1)
        await until(lambda: container.state.status == "restarting")
        creates = engine.runtime.verbs(container.id).count("create")
        with pytest.raises(NotModified, match="already stopped"):
            await engine.daemon.container_stop(container.id, StopOptions())
        await asyncio.sleep(0.15)
        assert container.state.status == "exited"
        assert engine.runtime.verbs(container.id).count("create") == creates

    asyncio.run(scenario())


def test_a_restart_whose_start_fails_leaves_the_container_exited(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run(HostConfig=policy("always"))
        engine.runtime.fail("create", StartFailure("exec: no such file or directory", 127))
        engine.runtime.exit(container.id, 0)
        await until(lambda: container.state.status == "restarting")
        await until(lambda: container.state.status == "exited")
        assert container.state.exit_code == 127

    asyncio.run(scenario())


def test_engine_start_restarts_always_containers_only(engine: Engine) -> None:
    async def scenario() -> None:
        always = await engine.create(HostConfig=policy("always"))
        stopped = await engine.create(HostConfig=policy("unless-stopped"))
        stopped.manually_stopped = True
        plain = await engine.create()
        restart_policy.on_engine_start(engine.daemon, [always, stopped, plain])
        await until(lambda: always.state.status == "running")
        assert stopped.state.status == "created" and plain.state.status == "created"

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("host_config", "message"),
    [
        (policy("sometimes"), "invalid restart policy"),
        ({**policy("always"), "AutoRemove": True}, "AutoRemove"),
        (policy("always", 3), "maximum retry count"),
    ],
)
def test_bad_policies_are_refused_at_create(
    engine: Engine, host_config: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        asyncio.run(engine.create(HostConfig=host_config))
