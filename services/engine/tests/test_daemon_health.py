"""Healthchecks (daemon/health.py) over a FakeRuntime: probes through the runtime's exec_output, the
status they lead to, timeouts, and no probes while paused or stopped."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from wharf_engine.containers import health
from wharf_engine.daemon.health import run_probe
from wharf_engine.runtime.base import ExecOutput
from wharf_engine.runtime.errors import NotRunning
from wharf_engine.shapes.containers import Healthcheck

from .daemon_harness import Engine, until

MS = 1_000_000


def check(**extra: Any) -> Healthcheck:
    shape = {"Test": ["CMD", "check"], "Interval": 5 * MS, "Timeout": 1000 * MS, "Retries": 1, **extra}
    return cast(Healthcheck, shape)


def status(container: Any) -> str:
    return str((container.state.health or {}).get("Status"))


def test_probes_run_in_the_runtime_and_set_the_health_status(engine: Engine) -> None:
    async def scenario() -> None:
        engine.runtime.probe_results = [ExecOutput(1, b"not yet\n"), ExecOutput(0, b"fine\n")]
        container = await engine.run(Healthcheck=check())
        assert status(container) == "starting"
        await until(lambda: status(container) == "unhealthy")
        await until(lambda: status(container) == "healthy")
        log = container.state.health["Log"] if container.state.health else []
        assert [(e["ExitCode"], e["Output"]) for e in log[:2]] == [(1, "not yet\n"), (0, "fine\n")]
        _verb, cid, process = next(c for c in engine.runtime.calls if c[0] == "exec_output")
        assert cid == container.id and process["args"] == ["check"]
        actions = engine.events(container.id)
        assert "health_status: unhealthy" in actions and "health_status: healthy" in actions
        await engine.daemon.container_kill(container.id, None)
        assert container.id not in engine.daemon.health.tasks

    asyncio.run(scenario())


def test_a_probe_killed_at_its_timeout_is_a_failure_with_dockers_words(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        engine.runtime.probe_results = [ExecOutput(None, b"")]
        probe = health.probe(check(Timeout=2500 * MS))
        assert probe is not None
        entry = await run_probe(engine.daemon, container, probe)
        assert entry["ExitCode"] == -1 and entry["Output"] == "Health check exceeded timeout (2.5s)"

    asyncio.run(scenario())


def test_a_probe_the_runtime_refuses_is_a_failure_not_a_crash(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        engine.runtime.fail("exec_output", NotRunning("cannot exec in a stopped container"))
        probe = health.probe(check())
        assert probe is not None
        entry = await run_probe(engine.daemon, container, probe)
        assert entry["ExitCode"] == -1 and "stopped container" in entry["Output"]

    asyncio.run(scenario())


def test_no_probe_runs_while_the_container_is_paused(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run(Healthcheck=check())
        await until(lambda: "exec_output" in engine.runtime.verbs())
        await engine.daemon.container_pause(container.id)
        probes = engine.runtime.verbs().count("exec_output")
        await asyncio.sleep(0.05)  # ten intervals
        assert engine.runtime.verbs().count("exec_output") <= probes + 1  # one may have been under way
        await engine.daemon.container_unpause(container.id)
        await until(lambda: engine.runtime.verbs().count("exec_output") > probes + 1)

    asyncio.run(scenario())


def test_a_container_without_a_healthcheck_is_never_probed(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        assert container.state.health is None and container.id not in engine.daemon.health.tasks
        disabled = await engine.run(Healthcheck={"Test": ["NONE"]})
        assert disabled.id not in engine.daemon.health.tasks

    asyncio.run(scenario())


def test_probes_run_with_the_containers_capabilities_and_ulimits(engine: Engine) -> None:
    async def scenario() -> None:
        engine.runtime.probe_results = [ExecOutput(0, b"fine\n")]
        container = await engine.run(
            Healthcheck=check(),
            HostConfig={"CapDrop": ["NET_RAW"], "Ulimits": [{"Name": "nofile", "Soft": 512, "Hard": 1024}]},
        )
        await until(lambda: status(container) == "healthy")
        _verb, _cid, process = next(c for c in engine.runtime.calls if c[0] == "exec_output")
        assert "CAP_NET_RAW" not in process["capabilities"]["bounding"]
        assert "CAP_KILL" in process["capabilities"]["bounding"]
        nofile = next(r for r in process["rlimits"] if r["type"] == "RLIMIT_NOFILE")
        assert (nofile["soft"], nofile["hard"]) == (512, 1024)

    asyncio.run(scenario())
