"""The composition root: the only place that builds concrete objects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from wharf_common.bodylimit import BodyLimitMiddleware, BodyRule

from .api import errors
from .api.guard import RequestGuardMiddleware, listener_names
from .api.logging import RequestLogMiddleware
from .api.routers import build, containers, distribution, execs, images, networks, swarm, system, volumes
from .api.version import VersionMiddleware
from .certs import SERVER_CERT, default_cert_dir
from .daemon.daemon import Daemon
from .runtime.runc import Runc
from .settings import Settings

STREAMED_BODIES = [
    ("POST", "/build"),
    ("POST", "/images/load"),
    ("POST", "/images/create"),  # import from the request body
    ("PUT", "/containers/[^/]+/archive"),
]
"""Endpoints whose bodies stream to disk (never buffered): ``max_upload_bytes`` instead."""


def create_app(settings: Settings, daemon: Daemon | None = None) -> FastAPI:
    if daemon is None:
        daemon = Daemon(settings, runtime=Runc(settings.runtime, settings.data_root / "runc"))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await daemon.restore()
        yield
        await daemon.shutdown()

    app = FastAPI(title="wharf engine", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    errors.install(app)
    app.include_router(system.router(daemon))
    app.include_router(containers.router(daemon))
    app.include_router(images.router(daemon))
    app.include_router(images.commit_router(daemon))
    app.include_router(distribution.router(daemon))
    app.include_router(build.router(daemon))
    app.include_router(execs.router(daemon))
    app.include_router(volumes.router(daemon))
    app.include_router(swarm.router())
    app.include_router(networks.router(daemon))
    app.include_router(containers.fallback_router())  # last: see its docstring
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        respond=lambda _scope, status, message: errors.error_response(status, message),
        rules=[BodyRule.of(method, path, settings.max_upload_bytes) for method, path in STREAMED_BODIES],
    )  # inside VersionMiddleware: the paths it sees are unversioned
    app.add_middleware(VersionMiddleware)
    certificate = (settings.tlscert or default_cert_dir() / SERVER_CERT) if settings.tls_enabled else None
    names = listener_names(settings.hosts, settings.allowed_hostnames, certificate)
    app.add_middleware(RequestGuardMiddleware, allowed_hosts=names)  # browsers: Origin, Host, JSON
    app.add_middleware(RequestLogMiddleware)  # outermost: logs the versioned path as sent
    app.state.daemon = daemon
    return app
