"""The composition root: the only place that builds concrete objects."""

from __future__ import annotations

from fastapi import FastAPI

from .access import Authenticator
from .api import errors
from .api.deps import Guard
from .api.middleware import RequestMiddleware
from .api.routers import images, index, repositories, search, system
from .layers import LayerService
from .metrics import Metrics
from .search import SearchService
from .settings import REGISTRY_VERSION, Settings
from .storage import StorageDriver, build_driver
from .tags import TagService


def create_app(settings: Settings, storage: StorageDriver | None = None) -> FastAPI:
    storage = storage if storage is not None else build_driver(settings.storage, settings.data_root)
    metrics = Metrics()
    auth = Authenticator(settings.auth)
    guard = Guard(auth)
    layers = LayerService(storage)
    tags = TagService(storage, layers)

    app = FastAPI(title="wharf registry", docs_url=None, redoc_url=None, openapi_url=None)
    errors.install(app, metrics)
    app.include_router(system.router(metrics))
    app.include_router(images.router(layers, guard, metrics))
    app.include_router(repositories.router(tags, guard))
    app.include_router(index.router(tags, guard, auth, settings.endpoints))
    app.include_router(index.users_router(auth))
    app.include_router(search.router(SearchService(storage), guard))
    app.add_middleware(RequestMiddleware, metrics=metrics, version=REGISTRY_VERSION, flavor=settings.flavor)
    app.state.storage = storage
    app.state.metrics = metrics
    return app
