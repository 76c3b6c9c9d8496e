"""The composition root: the only place that builds concrete objects."""

from __future__ import annotations

import structlog
from fastapi import FastAPI
from wharf_common.bodylimit import BodyLimitMiddleware, BodyRule
from wharf_common.registry_v1 import REGISTRY_VERSION
from wharf_common.tokens import TokenVerifier

from .access import Authenticator
from .api import errors
from .api.deps import Guard
from .api.middleware import RequestMiddleware
from .api.routers import images, index, repositories, search, system
from .api.v2 import blobs as v2_blobs
from .api.v2 import manifests as v2_manifests
from .index_access import IndexAuthority, load_index_key
from .index_forward import IndexForwarder
from .layers import LayerService
from .metrics import Metrics
from .reachable import ReachableImages, RepositoryImages
from .search import SearchService
from .settings import Settings
from .storage import StorageDriver, build_driver
from .tags import TagService
from .v2 import V2Services, build_v2
from .v2 import names as v2_names
from .v2.access import BasicAuthority, V2Authority
from .v2.bearer import BearerAuthority, HubReporter, InvalidBearerKey, PullCounter, load_bearer_verifier

log = structlog.get_logger(__name__)


def create_app(settings: Settings, storage: StorageDriver | None = None) -> FastAPI:
    """The registry app: standalone, or in index mode when ``settings.index.public_key`` is set.

    Raises :class:`~wharf_registry.index_access.InvalidIndexKey` for an unusable key.
    """
    index_key = load_index_key(settings.index)
    storage = storage if storage is not None else build_driver(settings.storage, settings.data_root)
    metrics = Metrics()
    layers = LayerService(storage, settings.uploads)
    tags = TagService(storage, layers)
    v2 = build_v2(storage, layers, tags, settings.v2)

    app = FastAPI(title="wharf registry", docs_url=None, redoc_url=None, openapi_url=None)
    errors.install(app, metrics)
    app.include_router(system.router(metrics, standalone=index_key is None))
    if index_key is None:
        auth = Authenticator(settings.auth)
        guard = Guard(auth)
        app.include_router(images.router(layers, guard, metrics))
        app.include_router(repositories.router(tags, guard))
        app.include_router(index.router(tags, guard, auth, settings.endpoints))
        app.include_router(index.users_router(auth))
        app.include_router(search.router(SearchService(storage), guard))
        _mount_v2(app, v2, BasicAuthority(auth))
    else:
        if settings.auth.users_file is not None:
            log.warning("registry.users_file_ignored", reason="index mode: only the hub's tokens count")
        reachable = ReachableImages(tags, layers)
        tags.add_listener(reachable.invalidate)
        held = RepositoryImages(layers, reachable)
        tags.scope = held  # a tag names only an image its repository holds
        guard = Guard(IndexAuthority(TokenVerifier(index_key), held, settings.index))
        app.include_router(images.router(layers, guard, metrics))
        app.include_router(repositories.router(tags, guard))
        app.include_router(repositories.delete_router(tags, guard))
        _mount_v2_index(app, v2, settings)
        forwarder = IndexForwarder(settings.index.url, settings.index.timeout) if settings.index.url else None
        app.include_router(index.elsewhere_router(forwarder))  # last: it must not shadow the routes above
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        respond=errors.body_limit_response,
        rules=[  # streamed: uploads.max_layer_size and v2.max_manifest_size rule
            BodyRule.of("PUT", "/v1/images/[^/]+/layer", None),
            BodyRule.of("POST PATCH PUT", "/v2/.+/blobs/uploads/?.*", None),
            BodyRule.of("PUT", "/v2/.+/manifests/[^/]+", None),
        ],
    )
    app.add_middleware(RequestMiddleware, metrics=metrics, version=REGISTRY_VERSION, flavor=settings.flavor)
    app.state.storage = storage
    app.state.v2 = v2
    app.state.metrics = metrics
    return app


def _mount_v2_index(app: FastAPI, v2: V2Services, settings: Settings) -> None:
    """Index mode's v2: the hub's bearer tokens; pushes and pulls reported to the hub."""
    verifier = load_bearer_verifier(settings.bearer)
    if verifier is None:
        log.warning(
            "registry.v2_off", reason="index mode without bearer.certificate (the hub's bearer-signing.crt)"
        )
        return
    hub = settings.index.url.rstrip("/") if settings.index.url else None
    realm = settings.bearer.realm or (f"{hub}/v2/token" if hub else None)
    if realm is None:
        raise InvalidBearerKey("v2 in index mode needs bearer.realm or index.url (where clients get tokens)")
    authority = BearerAuthority(verifier, realm, settings.bearer.service)
    _mount_v2(app, v2, authority)
    if hub is not None and settings.bearer.report:

        async def manifest(repository: str, digest: str) -> bytes:
            return (await v2.manifests.get(v2_names.repository(repository), digest)).raw

        reporter = HubReporter(hub, authority, manifest, timeout=settings.index.timeout)
        v2.on_manifest_put(reporter.pushed)
        v2.on_manifest_delete(reporter.deleted)
        app.add_middleware(PullCounter, reporter=reporter)
        app.state.hub_reporter = reporter


def _mount_v2(app: FastAPI, v2: V2Services, authority: V2Authority) -> None:
    app.include_router(v2_manifests.router(v2.manifests, v2.listing, authority))
    app.include_router(v2_blobs.router(v2.blobs, v2.uploads, authority))
