"""The composition root: the only place that builds concrete objects."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from wharf_common.bearer import BearerSigner, BearerVerifier, load_or_create_signing_key, write_certificate
from wharf_common.bodylimit import BodyLimitMiddleware, BodyRule
from wharf_common.tokens import TokenSigner, TokenVerifier, load_or_create_private_key, public_key_pem

from . import web
from .api import errors
from .api.routers import accounts, builds, collaborators, index, orgs, repos, search, stars, v2token, webhooks
from .db import Database
from .hub import Hub
from .services.accesscache import AccessCache
from .services.accounts import INITIAL_ADMIN, PURGE, AccountService
from .services.buildqueue import REAP, BuilderService, CeleryQueue, NoQueue
from .services.builds import ENQUEUE, INTERRUPT, BuildService
from .services.hotpath import HotPath
from .services.index import PUSHED, IndexService
from .services.jobs import Worker
from .services.loopreads import LoopReader
from .services.mail import Mailer
from .services.orgs import OrganizationService
from .services.passwords import Passwords
from .services.pullcount import PullCounter
from .services.registry import RegistryReader
from .services.registry_tokens import RegistryTokenService
from .services.repositories import DELETED, RepositoryService
from .services.searchcache import GenerationProbe, SearchCache
from .services.social import SocialService
from .services.webhooks import WebhookService
from .settings import Settings
from .webhooks import DELIVER


def _secret_key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    return _kept_secret(settings.data_root / "secret")


def _builder_secret(settings: Settings) -> str:
    if settings.builder.secret is not None:
        return settings.builder.secret.get_secret_value()
    return _kept_secret(settings.data_root / "builder-secret").decode()


def _kept_secret(path: Path) -> bytes:
    """A random secret made once and kept (0600) at ``path``."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".secret.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        tmp.replace(path)
    return path.read_text().strip().encode()


def _write_public_key(signer: TokenSigner, path: Path) -> None:
    """The registry in index mode reads this file (``--index-public-key``)."""
    pem = public_key_pem(signer.public_key)
    if not path.exists() or path.read_bytes() != pem:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)  # public: any reader may have it
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        tmp.chmod(0o644)  # whatever the umask
        tmp.replace(path)


def build_hub(settings: Settings, db: Database | None = None) -> Hub:
    settings.data_root.mkdir(parents=True, exist_ok=True)
    db = db or Database(settings.database, pool_size=settings.pool_size)
    signer = TokenSigner(load_or_create_private_key(settings.signing_key_path))
    _write_public_key(signer, settings.public_key_path)
    mailer = Mailer(settings.mail, settings.outbox)
    reader = RegistryReader(settings.registry_url, signer)
    accounts = AccountService(
        db,
        Passwords(settings.passwords),
        mailer,
        settings.login_limit,
        settings.url,
        mail_limit=settings.mail_limit,
        reader=reader,
        initial_admin=settings.data_root / INITIAL_ADMIN,
        token_max_days=settings.token_max_days,
    )
    repos = RepositoryService()
    index_service = IndexService(
        repos,
        signer,
        TokenVerifier(signer.public_key),
        reader,
        settings.registry_endpoints,
        settings.token_ttl,
        settings.url,
    )
    bearer_key = load_or_create_signing_key(settings.bearer_key_path)
    write_certificate(bearer_key, settings.bearer_certificate_path, settings.bearer_issuer)
    bearer_signer = BearerSigner(bearer_key, settings.bearer_issuer)
    registry_tokens = RegistryTokenService(
        repos,
        index_service,
        bearer_signer,
        BearerVerifier([bearer_key.public_key()], settings.bearer_issuer),
        settings.bearer_ttl,
    )
    worker = Worker(db, settings.webhooks.poll_interval, settings.webhooks.threads)
    worker.register(PUSHED, index_service.on_pushed)
    worker.register(DELETED, index_service.on_deleted)
    worker.register(PURGE, accounts.purge)
    secret_key = _secret_key(settings)
    webhook_service = WebhookService(settings.webhooks, settings.url, secret_key)
    index_service.push_listeners.append(webhook_service.on_push)
    worker.register(DELIVER, webhook_service.deliver)
    queue = CeleryQueue(settings.builder.broker_url) if settings.builder.broker_url else NoQueue()
    builder = BuilderService(
        queue,
        settings.url,
        settings.builder.build_timeout,
        settings.builder.grace,
        settings.builder.reap_interval,
    )
    worker.register(ENQUEUE, builder.on_enqueue)
    worker.register(INTERRUPT, builder.on_cancel)
    build_service = BuildService()
    index_service.push_listeners.append(build_service.on_base_pushed)
    worker.register(REAP, builder.on_reap)
    loop_reads = LoopReader(db.engine)
    access = AccessCache() if db.engine.dialect.name == "postgresql" else None
    if access is not None:
        access.watch(db.engine)
    return Hub(
        settings=settings,
        db=db,
        accounts=accounts,
        repos=repos,
        orgs=OrganizationService(),
        social=SocialService(),
        index=index_service,
        registry_tokens=registry_tokens,
        webhooks=webhook_service,
        builds=build_service,
        builder=builder,
        builder_secret=_builder_secret(settings),
        worker=worker,
        mailer=mailer,
        signer=signer,
        secret_key=secret_key,
        hot=HotPath(accounts.passwords, accounts.throttle, access),
        pulls=PullCounter(db, settings.pull_count_interval),
        searches=SearchCache(),
        reads=loop_reads,
        generations=GenerationProbe(loop_reads),
        access=access,
    )


def create_app(settings: Settings, hub: Hub | None = None) -> FastAPI:
    hub = hub or build_hub(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.webhooks.worker:
            with hub.unit() as s:
                hub.builder.ensure_reaper(s)
            hub.worker.start()
        hub.pulls.start()
        listening = None
        if hub.access is not None:
            conninfo = hub.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            listening = asyncio.create_task(hub.access.listen(conninfo), name="hub-access-listen")
        try:
            yield
        finally:
            if listening is not None:
                listening.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listening
            hub.pulls.stop()  # the counts added up since the last write, before the pool goes
            hub.worker.stop()
            await hub.reads.close()
            hub.db.dispose()

    app = FastAPI(
        title="wharf hub",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    pages = web.pages(hub)
    errors.install(app, page=web.error_page(hub, pages))
    app.include_router(index.router(hub))
    app.include_router(v2token.router(hub))
    for api in (accounts, repos, collaborators, stars, search, webhooks, orgs, builds):
        app.include_router(api.router(hub))
    app.include_router(web.router(hub, pages))
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        rules=[
            BodyRule.of("POST", builds.PUSH_WEBHOOK, max(settings.max_body_bytes, builds.PUSH_WEBHOOK_BODY))
        ],
        respond=lambda scope, status, message: errors.render(Request(scope), status, message, None),
    )
    app.state.hub = hub
    return app


__all__ = ["build_hub", "create_app"]
