"""The hub's services bundled for the routers and the worker (built only in ``app.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session
from wharf_common.tokens import TokenSigner

from .db import Database
from .services.accesscache import AccessCache
from .services.accounts import AccountService
from .services.buildqueue import BuilderService
from .services.builds import BuildService
from .services.hotpath import HotPath
from .services.index import IndexService
from .services.jobs import Worker, queued
from .services.loopreads import LoopReader
from .services.mail import Mailer
from .services.orgs import OrganizationService
from .services.pullcount import PullCounter
from .services.registry_tokens import RegistryTokenService
from .services.repositories import RepositoryService
from .services.searchcache import GenerationProbe, SearchCache
from .services.social import SocialService
from .services.webhooks import WebhookService
from .settings import Settings


@dataclass(slots=True)
class Hub:
    settings: Settings
    db: Database
    accounts: AccountService
    repos: RepositoryService
    orgs: OrganizationService
    social: SocialService
    index: IndexService
    registry_tokens: RegistryTokenService
    webhooks: WebhookService
    builds: BuildService
    builder: BuilderService
    builder_secret: str
    worker: Worker
    mailer: Mailer
    signer: TokenSigner
    secret_key: bytes
    hot: HotPath
    pulls: PullCounter
    searches: SearchCache
    reads: LoopReader
    generations: GenerationProbe
    access: AccessCache | None  # PostgreSQL only: kept while its NOTIFY is heard

    @contextmanager
    def unit(self) -> Iterator[Session]:
        """One request's unit of work: committed when the block ends, then the worker is woken
        if it queued a job."""
        with self.db.session() as s:
            yield s
        if queued(s):
            self.worker.wake()


__all__ = ["Hub"]
