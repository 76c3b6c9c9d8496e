"""ContainerStats (daemon/stats.py): Docker's JSON shape from the container's cgroups (absent here: zeros)."""

from __future__ import annotations

import asyncio
from typing import Any

from .daemon_harness import Engine


async def one(engine: Engine, cid: str) -> dict[str, Any]:
    return await anext(engine.daemon.container_stats(cid, stream=False))


def test_stats_of_a_running_container_have_dockers_shape(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run("web")
        sample = await one(engine, container.id)
        assert sample["id"] == container.id and sample["name"] == "/web"
        assert {"read", "preread", "cpu_stats", "precpu_stats", "memory_stats", "pids_stats"} <= set(sample)
        assert sample["memory_stats"]["limit"] > 0  # no cgroup limit: the host's memory, as Docker
        assert sample["cpu_stats"]["online_cpus"] >= 1

    asyncio.run(scenario())


def test_stats_of_a_stopped_container_count_no_processes(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.create()
        assert (await one(engine, container.id))["pids_stats"] == {"current": 0}

    asyncio.run(scenario())


def test_a_stats_stream_ends_when_the_container_stops(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        samples = engine.daemon.container_stats(container.id, stream=True)
        await anext(samples)
        engine.runtime.exit(container.id, 0)
        await engine.daemon.container_wait(container.id, "not-running")
        rest = [s async for s in samples]  # no second's wait for the next sample: the stream ends
        assert rest == []

    asyncio.run(scenario())
