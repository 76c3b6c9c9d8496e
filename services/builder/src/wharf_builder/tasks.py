"""The Celery task: a build id in, the work handed to :class:`BuildExecutor`.

Redelivery is expected (acks late; a worker killed mid-build has its task handed to another after
the visibility timeout): the hub's claim decides whether a delivery runs the build, so a build that
already ended is never run twice, and one left "running" by a dead worker is run again.
"""

from __future__ import annotations

import socket
from typing import Any

import structlog
from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded
from wharf_client import EngineClient

from .errors import BuildUserError
from .executor import BuildExecutor
from .hubapi import HubClient
from .settings import Settings

log = structlog.get_logger(__name__)

RUN_BUILD = "wharf_builder.tasks.run_build"
"""The name the hub sends (``send_task``): the hub never imports the builder."""


def register(app: Celery, settings: Settings) -> Any:
    @app.task(  # type: ignore[untyped-decorator]
        name=RUN_BUILD,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        throws=(BuildUserError,),
        soft_time_limit=settings.build_timeout,
        time_limit=settings.build_timeout + 60,
    )
    def run_build(task: Any, build_id: int) -> str:
        worker = f"{task.request.hostname or socket.gethostname()}:{task.request.id}"
        hub = HubClient(settings.hub_url, settings.secret())
        try:
            spec = hub.claim(int(build_id), worker)
            if spec is None:
                log.info("build.skipped", build_id=build_id, reason="not claimable")
                return "skipped"
            engine = EngineClient(settings.engine_host)
            executor = BuildExecutor(
                engine,
                hub,
                settings.workdir,
                timeout=settings.build_timeout,
                interrupts=(SoftTimeLimitExceeded,),
            )
            return executor.run(spec).status
        finally:
            hub.close()

    return run_build


__all__ = ["RUN_BUILD", "register"]
