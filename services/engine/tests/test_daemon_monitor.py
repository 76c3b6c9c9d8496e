"""A container's exit (daemon/monitor.py) and the engine's start-up (daemon/restore.py) over a FakeRuntime."""

from __future__ import annotations

import asyncio
import json

import pytest
from wharf_engine.daemon import monitor, networks
from wharf_engine.daemon.daemon import Daemon
from wharf_engine.runtime.errors import RuntimeFailure
from wharf_engine.runtime.fake import FakeRuntime

from .daemon_harness import Engine, until


def test_an_exit_is_recorded_from_the_shims_exit_file(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        engine.runtime.exit(container.id, 42)
        await until(lambda: container.state.status == "exited")
        assert container.state.exit_code == 42 and container.state.finished_at
        assert engine.events(container.id)[-1] == "die"
        saved = json.loads((container.dir / "container.json").read_bytes())
        assert saved["state"]["status"] == "exited"

    asyncio.run(scenario())


def test_a_shim_gone_without_an_exit_status_is_exit_255(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        await monitor.handle_exit(engine.daemon, container)  # no exit.json: the shim was killed
        assert container.state.exit_code == 255
        assert container.state.error == "shim exited without an exit status"

    asyncio.run(scenario())


def test_a_runtime_delete_failure_at_exit_still_records_the_exit(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        engine.runtime.fail("delete", RuntimeFailure("runc delete: device or resource busy"))
        engine.runtime.exit(container.id, 1)
        await until(lambda: container.state.status == "exited")
        assert container.state.exit_code == 1

    asyncio.run(scenario())


def restarted(engine: Engine, runtime: FakeRuntime, monkeypatch: pytest.MonkeyPatch) -> Daemon:
    """A second engine over the same data root (its network restore, which needs root, skipped)."""

    async def no_networks(*_args: object) -> None:
        pass

    monkeypatch.setattr(networks, "restore", no_networks)
    daemon = Daemon(engine.daemon.settings, runtime=runtime)
    monkeypatch.setattr(daemon.networks.nat, "recover", lambda: None)
    return daemon


def test_restore_adopts_a_container_whose_shim_lives_on(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        container = await engine.run()
        runtime = engine.runtime  # the shims outlive the engine: the runtime's state is still there
        daemon = restarted(engine, runtime, monkeypatch)
        await daemon.restore()
        adopted = daemon.containers.get(container.id)
        assert adopted.state.status == "running"
        assert runtime.verbs().count("warm") == 1
        runtime.exit(container.id, 5)  # the new engine hears of the exit
        await until(lambda: adopted.state.status == "exited")
        assert adopted.state.exit_code == 5

    asyncio.run(scenario())


def test_restore_settles_a_container_whose_shim_died(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        container = await engine.run()
        daemon = restarted(engine, FakeRuntime(), monkeypatch)  # a reboot: no shim, no runtime state
        await daemon.restore()
        settled = daemon.containers.get(container.id)
        assert settled.state.status == "exited" and settled.state.exit_code == 255

    asyncio.run(scenario())


def test_restore_finishes_a_removal_the_old_engine_began(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        container = await engine.create()
        container.state.set_removal_in_progress()
        container.save()
        daemon = restarted(engine, FakeRuntime(), monkeypatch)
        await daemon.restore()
        assert container.id not in daemon.containers.by_id and not container.dir.exists()

    asyncio.run(scenario())
