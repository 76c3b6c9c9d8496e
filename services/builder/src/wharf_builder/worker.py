"""The Celery application, built from :class:`Settings` (nothing happens at import)."""

from __future__ import annotations

from celery import Celery

from . import tasks
from .settings import Settings


def make_app(settings: Settings) -> Celery:
    app = Celery("wharf_builder", broker=settings.broker_url, backend=settings.backend, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        result_expires=7 * 86400,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        result_backend_transport_options={"retry_policy": {"timeout": 5.0}},
        worker_hijack_root_logger=False,
        worker_concurrency=settings.concurrency,
    )
    tasks.register(app, settings)
    return app


__all__ = ["make_app"]
