"""ContainerUpdate (daemon/update.py) over a FakeRuntime: live limits to the runtime, kept in HostConfig."""

from __future__ import annotations

import asyncio

import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.daemon.update import UpdateConflict
from wharf_engine.runtime.errors import RuntimeFailure

from .daemon_harness import Engine


def test_update_of_a_running_container_reaches_the_runtime_and_the_record(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        answer = await engine.daemon.container_update(container.id, {"Memory": 64 << 20, "CpuShares": 512})
        assert answer == {"Warnings": []}
        resources = engine.runtime.containers[container.id].resources
        assert resources["memory"]["limit"] == 64 << 20 and resources["cpu"]["shares"] == 512
        assert container.host_config["Memory"] == 64 << 20 and container.host_config["CpuShares"] == 512
        assert engine.events(container.id)[-1] == "update"

    asyncio.run(scenario())


def test_update_of_a_stopped_container_only_changes_its_record(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.create()
        await engine.daemon.container_update(container.id, {"PidsLimit": 50})
        assert container.host_config["PidsLimit"] == 50
        assert "update" not in engine.runtime.verbs()
        await engine.daemon.container_start(container.id)
        assert ("update" not in engine.runtime.verbs()) and container.host_config["PidsLimit"] == 50

    asyncio.run(scenario())


def test_a_limit_the_runtime_refuses_is_a_bad_request_and_is_not_kept(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        engine.runtime.fail("update", RuntimeFailure("memory.limit_in_bytes: device or resource busy"))
        with pytest.raises(InvalidArgument, match=f"Cannot update container {container.id}: memory"):
            await engine.daemon.container_update(container.id, {"Memory": 8 << 20})
        assert not container.host_config.get("Memory")

    asyncio.run(scenario())


def test_update_refuses_what_docker_refuses_before_the_runtime_is_asked(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run(HostConfig={"NanoCpus": 500_000_000, "NetworkMode": "none"})
        with pytest.raises(UpdateConflict, match="CPU Quota cannot be updated"):
            await engine.daemon.container_update(container.id, {"CpuQuota": 50_000})
        with pytest.raises(InvalidArgument, match="KernelMemory cannot be updated"):
            await engine.daemon.container_update(container.id, {"KernelMemory": 1 << 20})
        with pytest.raises(InvalidArgument, match="invalid restart policy"):
            await engine.daemon.container_update(container.id, {"RestartPolicy": {"Name": "sometimes"}})
        assert "update" not in engine.runtime.verbs()

    asyncio.run(scenario())


def test_update_of_the_restart_policy_needs_no_runtime(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        await engine.daemon.container_update(container.id, {"RestartPolicy": {"Name": "always"}})
        assert container.host_config["RestartPolicy"] == {"Name": "always", "MaximumRetryCount": 0}
        assert "update" not in engine.runtime.verbs()

    asyncio.run(scenario())
