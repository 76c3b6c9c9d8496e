"""Hub settings: env vars ``WHARF_HUB_*`` (nested with ``__``), overridden by flags.

Examples::

    WHARF_HUB_DATABASE_URL=postgresql+psycopg://hub@db/hub wharf-hub --port 8080
    WHARF_HUB_MAIL__SMTP_HOST=mail.example.com WHARF_HUB_WEBHOOKS__ALLOW='["10.0.0.0/8"]' wharf-hub
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOP_CONNECTIONS = 4
"""PostgreSQL connections each process keeps for reads on its event loop (``services/loopreads.py``),
taken from its pool's share (measured: 2 gave the token path ~25% fewer requests/s than 4 at 16
connections on 2 cores)."""


class MailSettings(BaseModel):
    """Without ``smtp_host`` mails go to ``<data root>/outbox`` (one ``.eml`` file each) and the log."""

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    sender: str = "wharf hub <hub@localhost>"
    outbox: Path | None = None


class WebhookSettings(BaseModel):
    """Where webhooks may go: ``deny`` wins over ``allow``; addresses in neither list are allowed
    only when they are public (never loopback, private, link-local or multicast)."""

    allow: list[str] = Field(default_factory=list)
    """CIDRs allowed even though they are not public (tests allow ``127.0.0.0/8``)."""
    deny: list[str] = Field(default_factory=list)
    timeout: float = 10.0
    max_attempts: int = 5
    backoff: float = 2.0
    """Seconds before the first retry; doubled after every failed attempt."""
    worker: bool = True
    """Deliver from a thread inside the hub process; off when ``wharf-hub worker`` runs apart."""
    poll_interval: float = 0.5
    threads: int = 4
    """Jobs run at once (webhook attempts, tag syncs): one hanging receiver holds only one."""


class BuilderSettings(BaseModel):
    """Automated builds: where the builders' queue is and how long a build may take."""

    broker_url: str | None = None
    """The builders' Redis (``redis://...``); unset: builds are recorded but wait in "queued"."""
    secret: SecretStr | None = None
    """Shared with the workers (``WHARF_BUILDER_HUB_SECRET``); default a random one kept in
    ``<data root>/builder-secret``."""
    build_timeout: int = 3600
    """Seconds; keep it equal to the workers' ``WHARF_BUILDER_BUILD_TIMEOUT``."""
    grace: int = 300
    """A build whose worker is silent for ``build_timeout + grace`` seconds has failed."""
    reap_interval: float = 60.0


class PasswordSettings(BaseModel):
    """argon2id cost (argon2-cffi's defaults, RFC 9106's second recommendation); tests lower it."""

    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4


class RateLimitSettings(BaseModel):
    """Wrong passwords are counted per account *and* source address, so a stranger elsewhere
    cannot lock a user out: after ``max_failures`` in a row from one address, each further
    failure there makes that address wait ``backoff`` seconds, doubled every time, at most
    ``max_backoff``. A right password (or any valid access token) clears the count."""

    max_failures: int = Field(default=5, ge=1)
    backoff: float = Field(default=2.0, gt=0)
    max_backoff: float = Field(default=900.0, gt=0)
    window: int = Field(default=3600, ge=1)
    """Seconds without a failure after which the count starts again."""


class MailLimitSettings(BaseModel):
    """Sign-up and password-reset mails within ``window`` seconds: at most ``per_address`` to one
    e-mail address and ``per_source`` asked for from one source address."""

    per_address: int = Field(default=3, ge=1)
    per_source: int = Field(default=10, ge=1)
    window: int = Field(default=3600, ge=1)


class Settings(BaseSettings):
    """Everything a hub process needs to know; built once in ``main.py``."""

    model_config = SettingsConfigDict(env_prefix="WHARF_HUB_", env_nested_delimiter="__")

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = Field(default=1, ge=1, le=64)
    """Processes serving the port (``--workers``); with more than one, use PostgreSQL."""
    data_root: Path = Path("/var/lib/wharf-hub")
    database_url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///<data root>/hub.db``."""
    database_pool: int | None = Field(default=None, ge=1, le=200)
    """Database connections each process keeps; default: SQLite 40 (one per request thread),
    PostgreSQL 80 shared out over ``workers`` (4 to 40 each), under its 100-connection default."""
    pull_count_interval: float = Field(default=1.0, ge=0, le=60)
    """Seconds between writes of the pull counts added up in a process (0: each pull writes its
    count in its own request). A process killed with SIGKILL loses at most this long's counts."""
    public_url: str | None = None
    """How people reach the hub (links in mails, ``repo_url``); default ``http://host:port``."""
    registry_url: str = "http://127.0.0.1:5000"
    """Where the hub itself reads tags from the registry."""
    registry_endpoints: list[str] = Field(default_factory=lambda: ["127.0.0.1:5000"])
    """``X-Docker-Endpoints``: the registries engines push to and pull from."""
    signing_key: Path | None = None
    """Ed25519 key that signs registry tokens; default ``<data root>/token-signing.pem`` (created
    on first start, its public half written beside it for the registry)."""
    token_ttl: int = 3600
    bearer_key: Path | None = None
    """EC P-256 key that signs v2 bearer tokens (JWT, ES256); default ``<data root>/bearer-signing.pem``
    (created on first start, with a self-signed certificate beside it, ``.crt``, for registries:
    wharf's ``WHARF_REGISTRY_BEARER__CERTIFICATE`` or a Go registry's ``auth.token.rootcertbundle``)."""
    bearer_issuer: str = "wharf-hub"
    """The tokens' ``iss``: registries are configured to trust exactly this issuer."""
    bearer_ttl: int = Field(default=300, ge=10, le=86400)
    """Seconds a v2 bearer token lasts (clients ask again when it expires)."""
    secret_key: SecretStr | None = None
    """Signs session cookies and CSRF tokens; default a random key kept in ``<data root>/secret``."""
    session_ttl: int = 14 * 24 * 3600
    secure_cookies: bool = False
    mail: MailSettings = Field(default_factory=MailSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    login_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    mail_limit: MailLimitSettings = Field(default_factory=MailLimitSettings)
    trusted_proxies: list[str] = Field(default_factory=list)
    """CIDRs of reverse proxies whose ``X-Forwarded-For`` names the client (empty: the peer
    address is the client, whatever the headers say)."""
    token_max_days: int = Field(default=3650, ge=1)
    """The longest expiry a personal access token may be given."""
    passwords: PasswordSettings = Field(default_factory=PasswordSettings)
    builder: BuilderSettings = Field(default_factory=BuilderSettings)
    max_body_bytes: int = 1 << 20
    """Largest request body (JSON, forms, webhook callbacks); 413 above, before it is buffered."""
    log_level: str = "info"
    log_json: bool = False
    pidfile: Path | None = None

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # a ValueError names the bad entry
        return value

    @property
    def url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def pool_size(self) -> int:
        if self.database_pool is not None:
            return self.database_pool
        if self.database.startswith("sqlite"):
            return 40
        # 80 connections for the hub's processes, under PostgreSQL's default 100: the pool's share
        # less the connections each process keeps for reads on its event loop (services/loopreads.py)
        return max(4, min(40, 80 // self.workers) - LOOP_CONNECTIONS)

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_root / 'hub.db'}"

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key or self.data_root / "token-signing.pem"

    @property
    def bearer_key_path(self) -> Path:
        return self.bearer_key or self.data_root / "bearer-signing.pem"

    @property
    def bearer_certificate_path(self) -> Path:
        return self.bearer_key_path.with_suffix(".crt")

    @property
    def public_key_path(self) -> Path:
        return self.signing_key_path.with_suffix(".pub.pem")

    @property
    def outbox(self) -> Path:
        return self.mail.outbox or self.data_root / "outbox"


__all__ = [
    "BuilderSettings",
    "MailLimitSettings",
    "MailSettings",
    "PasswordSettings",
    "RateLimitSettings",
    "Settings",
    "WebhookSettings",
]
