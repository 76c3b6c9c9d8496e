"""The engine's healthcheck monitor: for each running container with a healthcheck, a task that
runs the probe in the container (the runtime's ``exec_output``: ``runc exec``) on its timer, has it
killed at its timeout, and keeps ``State.Health`` and the ``health_status`` events as Docker does."""

from __future__ import annotations

import asyncio
import contextvars
import json
import time
from typing import TYPE_CHECKING, Any

import structlog
from wharf_common.errors import WharfError

from wharf_engine.containers import health
from wharf_engine.containers.container import Container, now_rfc3339
from wharf_engine.containers.users import group_ids, resolve_user
from wharf_engine.logs.jsonfile import parse_time
from wharf_engine.runtime.security import process_privileges, rlimits
from wharf_engine.runtime.spec import host_rlimits

from .rootfs import rootfs

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)


class HealthMonitors:
    """One probe task per running container that has a healthcheck."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, container: Container) -> None:
        """At every start (and engine restart) of ``container``: Health begins again at starting."""
        self.stop(container.id)
        probe = health.probe(container.config.get("Healthcheck"), container.config.get("Shell"))
        if probe is None:
            return
        container.state.set_health(
            {**(container.state.health or health.starting()), "Status": health.STARTING, "FailingStreak": 0}
        )
        container.save()
        task = asyncio.get_running_loop().create_task(
            self._monitor(container, probe), context=contextvars.Context()
        )
        self.tasks[container.id] = task
        task.add_done_callback(lambda done: self._forget(container.id, done))

    def _forget(self, cid: str, task: asyncio.Task[None]) -> None:
        if self.tasks.get(cid) is task:
            del self.tasks[cid]

    def stop(self, cid: str) -> None:
        task = self.tasks.pop(cid, None)
        if task is not None:
            task.cancel()

    def close(self) -> None:
        for cid in list(self.tasks):
            self.stop(cid)

    async def _monitor(self, container: Container, probe: health.Probe) -> None:
        started = parse_time(container.state.started_at)
        while True:
            status = (container.state.health or {}).get("Status")
            in_start_period = time.time() - started < probe.start_period
            wait = probe.start_interval if status == health.STARTING and in_start_period else probe.interval
            await asyncio.sleep(wait)
            if container.state.status == "paused":
                continue
            if container.state.status != "running":
                return
            entry = await run_probe(self.daemon, container, probe)
            if container.state.status != "running" or container.state.health is None:
                return
            before = container.state.health.get("Status")
            after = health.record(
                container.state.health,
                entry,
                retries=probe.retries,
                in_start_period=time.time() - started < probe.start_period,
            )
            container.save()
            if after != before:
                self.daemon.container_event(container, f"health_status: {after}")
                log.info("container.health", container_id=container.id, status=after)


def _process(container: Container, argv: list[str]) -> dict[str, Any]:
    root = rootfs(container)
    user = resolve_user(root, str(container.config.get("User") or ""))
    groups = [*user.additional_gids, *group_ids(root, container.host_config.get("GroupAdd") or [])]
    return {
        "terminal": False,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": groups},
        "args": argv,
        "env": [e for e in container.config.get("Env") or [] if "=" in e],
        "cwd": container.config.get("WorkingDir") or "/",
        "rlimits": rlimits(container.host_config, host_rlimits()),
        **process_privileges(container.host_config),  # the container's own, as Docker's exec
    }


async def run_probe(daemon: Daemon, container: Container, probe: health.Probe) -> dict[str, Any]:
    """One probe: its log entry (Start, End, ExitCode, Output); -1 when killed at its timeout."""
    bundle = container.dir / "bundle"
    process_file, pid_file = bundle / "health-process.json", bundle / "health.pid"
    start = now_rfc3339()
    try:
        process_file.write_text(json.dumps(_process(container, probe.argv)))
        result = await daemon.runtime.exec_output(
            container.id, process_file, pid_file=pid_file, timeout=probe.timeout
        )
    except (OSError, WharfError) as exc:  # e.g. the image's /etc/passwd lost the container's user
        return {"Start": start, "End": now_rfc3339(), "ExitCode": -1, "Output": f"health probe: {exc}"}
    if result.exit_code is None:
        timeout = f"{probe.timeout:g}s"
        return {
            "Start": start,
            "End": now_rfc3339(),
            "ExitCode": -1,
            "Output": f"Health check exceeded timeout ({timeout})",
        }
    text = result.output[: health.MAX_OUTPUT].decode(errors="replace")
    return {"Start": start, "End": now_rfc3339(), "ExitCode": result.exit_code, "Output": text}
