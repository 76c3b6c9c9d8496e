"""Builder settings: env vars ``WHARF_BUILDER_*``, overridden by flags of ``wharf-builder worker``.

Example::

    WHARF_BUILDER_BROKER_URL=redis://127.0.0.1:6379/0 \\
    WHARF_BUILDER_ENGINE_HOST=unix:///run/wharf/engine.sock \\
    WHARF_BUILDER_HUB_URL=http://127.0.0.1:8080 \\
    WHARF_BUILDER_HUB_SECRET_FILE=/var/lib/wharf-hub/builder-secret wharf-builder worker
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a worker needs; built once in ``main.py``."""

    model_config = SettingsConfigDict(env_prefix="WHARF_BUILDER_", env_nested_delimiter="__")

    broker_url: str = "redis://127.0.0.1:6379/0"
    """Redis (``redis://host:port/db`` or ``redis+socket:///path/redis.sock``)."""
    result_backend: str | None = None
    """Where task results go; the broker's Redis when unset."""
    engine_host: str = "unix:///run/wharf/engine.sock"
    """The engine builds run on (its default index must be the hub, so pushes go there)."""
    hub_url: str = "http://127.0.0.1:8080"
    hub_secret: SecretStr | None = None
    """The shared secret of the hub's builder API; read from ``hub_secret_file`` when unset."""
    hub_secret_file: Path | None = None
    concurrency: int = 2
    build_timeout: int = 3600
    """Seconds a build may take before it is killed and marked failed."""
    redelivery_grace: int = 300
    """Seconds past ``build_timeout`` before Redis hands an unacknowledged build to another worker."""
    workdir: Path = Path("/var/lib/wharf-builder")
    """Checkouts live here while a build runs."""
    log_level: str = "info"
    log_json: bool = False

    @property
    def backend(self) -> str:
        return self.result_backend or self.broker_url

    @property
    def visibility_timeout(self) -> int:
        """How long Redis keeps an unacknowledged task before another worker gets it: longer
        than any build, so a slow build is never run twice, but a dead worker's is re-run."""
        return self.build_timeout + self.redelivery_grace

    def secret(self) -> str:
        if self.hub_secret is not None:
            return self.hub_secret.get_secret_value()
        if self.hub_secret_file is not None:
            return self.hub_secret_file.read_text().strip()
        raise ValueError("set WHARF_BUILDER_HUB_SECRET or WHARF_BUILDER_HUB_SECRET_FILE")


__all__ = ["Settings"]
