"""Restart policies (no, on-failure[:N], always, unless-stopped), on exit and at engine start."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog
from wharf_common.errors import InvalidArgument

from wharf_engine.containers.container import Container
from wharf_engine.containers.state import RESTARTING

from .start import start_locked

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)

POLICIES = ("", "no", "on-failure", "always", "unless-stopped")
MAX_DELAY = 60.0


def validate(host_config: Mapping[str, Any]) -> None:
    policy = host_config.get("RestartPolicy") or {}
    name = str(policy.get("Name") or "")
    if name not in POLICIES:
        raise InvalidArgument(f"invalid restart policy '{name}'")
    if name not in ("", "no") and host_config.get("AutoRemove"):
        raise InvalidArgument("can't create 'AutoRemove' container with restart policy")
    if name != "on-failure" and policy.get("MaximumRetryCount"):
        raise InvalidArgument(f"maximum retry count cannot be used with restart policy '{name}'")


def _policy(container: Container) -> tuple[str, int]:
    policy = container.host_config.get("RestartPolicy") or {}
    return str(policy.get("Name") or "no"), int(policy.get("MaximumRetryCount") or 0)


def wants_restart(container: Container, *, engine_starting: bool = False) -> bool:
    name, limit = _policy(container)
    if name == "always":
        return engine_starting or not container.manually_stopped
    if name == "unless-stopped":
        return not container.manually_stopped
    if name == "on-failure" and not engine_starting:
        return container.state.exit_code != 0 and (limit == 0 or container.restart_count < limit)
    return False


def schedule(daemon: Daemon, container: Container) -> None:
    """After an exit the policy wants undone: start again with Docker's doubling back-off."""
    delay = min(0.1 * (2 ** min(container.restart_count, 10)), MAX_DELAY)
    container.restart_count += 1
    container.state.set_restarting()
    container.save()
    container.notify()
    daemon.background(_restart_later(daemon, container, delay))


async def _restart_later(daemon: Daemon, container: Container, delay: float) -> None:
    await asyncio.sleep(delay)
    if container.id not in daemon.containers.by_id or container.manually_stopped:
        if container.state.status == RESTARTING:
            container.state.set_restart_cancelled()
            container.save()
            container.notify()
        return
    async with container.lock:
        if container.state.running:
            return
        try:
            await start_locked(daemon, container)
        except Exception as exc:
            if container.state.status == RESTARTING:  # a start that failed to run has recorded it
                container.state.set_restart_cancelled()
            container.save()
            container.notify()
            log.warning("container.restart_failed", container_id=container.id, error=str(exc))


def on_engine_start(daemon: Daemon, containers: list[Container]) -> None:
    for container in containers:
        if not container.state.running and wants_restart(container, engine_starting=True):
            container.manually_stopped = False
            daemon.background(_restart_later(daemon, container, 0))
