"""ContainerStop, ContainerKill and ContainerRestart (daemon/lifecycle.py, daemon/signals.py) over a
FakeRuntime."""

from __future__ import annotations

import asyncio
import signal

import pytest
from wharf_common.errors import InvalidArgument, NotModified
from wharf_engine.containers.errors import ContainerNotRunning
from wharf_engine.daemon.signals import send_signal
from wharf_engine.runtime.errors import ContainerNotFound, NotRunning, RuntimeFailure
from wharf_engine.shapes import StopOptions

from .daemon_harness import Engine


def test_stop_sends_sigterm_and_returns_once_the_exit_is_recorded(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        await engine.daemon.container_stop(container.id, StopOptions())
        assert engine.runtime.containers.get(container.id) is None  # deleted on exit
        assert container.state.status == "exited" and container.state.exit_code == 128 + signal.SIGTERM
        assert engine.events(container.id)[-2:] == ["die", "stop"]
        assert ("kill", container.id, signal.SIGTERM, False) in engine.runtime.calls
        assert container.manually_stopped

    asyncio.run(scenario())


def test_stop_uses_the_image_stop_signal_and_a_given_one_first(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run(StopSignal="SIGINT")
        process = engine.runtime.containers[container.id]
        await engine.daemon.container_stop(container.id, StopOptions())
        assert process.signals == [signal.SIGINT]
        other = await engine.run()
        process = engine.runtime.containers[other.id]
        await engine.daemon.container_stop(other.id, StopOptions(signal="HUP"))
        assert process.signals == [signal.SIGHUP]

    asyncio.run(scenario())


def test_stop_kills_a_process_that_ignores_the_signal_after_the_timeout(engine: Engine) -> None:
    async def scenario() -> None:
        engine.runtime.ignored_signals = {signal.SIGTERM}
        container = await engine.run()
        process = engine.runtime.containers[container.id]
        await engine.daemon.container_stop(container.id, StopOptions(timeout=0))
        assert process.signals == [signal.SIGTERM, signal.SIGKILL]
        assert ("kill", container.id, signal.SIGKILL, True) in engine.runtime.calls  # SIGKILL: every process
        assert container.state.exit_code == 137

    asyncio.run(scenario())


def test_stop_of_a_stopped_container_is_not_modified(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.create()
        with pytest.raises(NotModified):
            await engine.daemon.container_stop(container.id, StopOptions())
        assert "kill" not in engine.runtime.verbs()

    asyncio.run(scenario())


def test_a_kill_that_races_the_exit_is_no_error(engine: Engine) -> None:
    """runc says "not running" or "does not exist" when the process ended under the kill."""

    async def scenario() -> None:
        for error in (NotRunning("container not running"), ContainerNotFound("container does not exist")):
            container = await engine.run()
            engine.runtime.fail("kill", error)
            await send_signal(engine.daemon, container, signal.SIGTERM)
            assert container.state.running  # nothing happened, and nothing was raised

    asyncio.run(scenario())


def test_a_kill_failure_of_a_live_container_is_raised(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        engine.runtime.fail("kill", RuntimeFailure("permission denied"))
        with pytest.raises(RuntimeFailure, match="permission denied"):
            await engine.daemon.container_kill(container.id, "TERM")

    asyncio.run(scenario())


def test_a_kill_failure_after_the_runtime_saw_the_exit_is_no_error(engine: Engine) -> None:
    """The cgroup vanished under runc's kill: the runtime's state says stopped, as Docker ignores it."""

    async def scenario() -> None:
        container = await engine.run()
        process = engine.runtime.containers[container.id]
        engine.runtime.fail("kill", RuntimeFailure("lstat /sys/fs/cgroup/...: no such file or directory"))
        process.status = "stopped"
        await send_signal(engine.daemon, container, signal.SIGTERM)
        assert engine.runtime.verbs(container.id)[-2:] == ["kill", "state"]

    asyncio.run(scenario())


def test_kill_sends_the_signal_and_sigkill_waits_for_the_exit(engine: Engine) -> None:
    async def scenario() -> None:
        engine.runtime.ignored_signals = {signal.SIGUSR1}
        container = await engine.run()
        await engine.daemon.container_kill(container.id, "USR1")
        assert (container.state.running, container.manually_stopped) == (True, False)
        await engine.daemon.container_kill(container.id, None)
        assert container.state.status == "exited" and container.state.exit_code == 137
        assert container.manually_stopped
        assert engine.events(container.id) == ["create", "start", "kill", "kill", "die"]

    asyncio.run(scenario())


def test_kill_refuses_a_stopped_container_and_a_bad_signal(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.create()
        with pytest.raises(ContainerNotRunning):
            await engine.daemon.container_kill(container.id, None)
        running = await engine.run()
        with pytest.raises(InvalidArgument, match="Invalid signal"):
            await engine.daemon.container_kill(running.id, "SIGNOPE")
        assert "kill" not in engine.runtime.verbs()

    asyncio.run(scenario())


def test_a_signal_to_a_paused_container_is_delivered_once_it_is_thawed(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        await engine.daemon.container_pause(container.id)
        await engine.daemon.container_stop(container.id, StopOptions())
        verbs = engine.runtime.verbs(container.id)
        assert verbs[verbs.index("pause") :] == ["pause", "kill", "resume", "delete"]
        assert container.state.status == "exited" and container.state.exit_code == 128 + signal.SIGTERM

    asyncio.run(scenario())


def test_restart_stops_then_starts_the_container_again(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        first_pid = container.state.pid
        await engine.daemon.container_restart(container.id, None)
        assert container.state.status == "running" and container.state.pid != first_pid
        verbs = engine.runtime.verbs(container.id)
        assert verbs[verbs.index("kill") :] == ["kill", "delete", "delete", "create", "start"]

    asyncio.run(scenario())


def test_restart_of_a_stopped_container_starts_it(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.create()
        await engine.daemon.container_restart(container.id, None)
        assert container.state.status == "running"
        assert "kill" not in engine.runtime.verbs(container.id)

    asyncio.run(scenario())
