"""ContainerTop (daemon/top.py): the container's processes out of the host's ps, by its cgroup's pids."""

from __future__ import annotations

import asyncio
import os

import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.containers.errors import ContainerNotRunning
from wharf_engine.daemon import top

from .daemon_harness import Engine


def test_top_lists_the_processes_of_the_containers_cgroup(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(top, "container_pids", lambda _cid: {os.getpid()})  # this test stands in for it

    async def scenario() -> None:
        container = await engine.run()
        listing = await engine.daemon.container_top(container.id, "")
        assert listing["Titles"][:2] == ["UID", "PID"]
        assert [p[1] for p in listing["Processes"]] == [str(os.getpid())]
        custom = await engine.daemon.container_top(container.id, "-o pid,comm")
        assert custom["Titles"] == ["PID", "COMMAND"] and custom["Processes"][0][0] == str(os.getpid())

    asyncio.run(scenario())


def test_top_refuses_a_stopped_container_and_ps_arguments_without_a_pid(engine: Engine) -> None:
    async def scenario() -> None:
        stopped = await engine.create()
        with pytest.raises(ContainerNotRunning):
            await engine.daemon.container_top(stopped.id, "")
        running = await engine.run()
        with pytest.raises(InvalidArgument, match="Couldn't find PID field"):
            await engine.daemon.container_top(running.id, "-o comm")
        with pytest.raises(InvalidArgument, match="ps:"):
            await engine.daemon.container_top(running.id, "--no-such-option")

    asyncio.run(scenario())
