"""Registry settings: env vars ``WHARF_REGISTRY_*`` (nested with ``__``), overridden by flags.

Examples::

    WHARF_REGISTRY_STORAGE__DRIVER=s3 WHARF_REGISTRY_STORAGE__BUCKET=layers \\
    WHARF_REGISTRY_STORAGE__ENDPOINT_URL=http://127.0.0.1:9000 wharf-registry
    WHARF_REGISTRY_AUTH__USERS_FILE=/etc/wharf/registry.users wharf-registry --port 5000
    WHARF_REGISTRY_INDEX__PUBLIC_KEY=/var/lib/wharf-hub/token-signing.pub.pem wharf-registry
    WHARF_REGISTRY_UPLOADS__MAX_LAYER_SIZE=2147483648 WHARF_REGISTRY_UPLOADS__NAMESPACE_QUOTA=10737418240
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .access import AuthSettings
from .index_access import IndexSettings
from .quotas import UploadLimits
from .storage import FilesystemStorageSettings, S3StorageSettings, StorageSettings
from .v2.bearer import BearerSettings
from .v2.uploads import V2Limits


class Settings(BaseSettings):
    """Everything a registry process needs to know; built once in ``main.py``."""

    model_config = SettingsConfigDict(env_prefix="WHARF_REGISTRY_", env_nested_delimiter="__")

    host: str = "127.0.0.1"
    port: int = 5000
    data_root: Path = Path("/var/lib/wharf-registry")
    storage: StorageSettings = Field(default_factory=FilesystemStorageSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    """Standalone mode's Basic auth and tokens."""
    index: IndexSettings = Field(default_factory=IndexSettings)
    bearer: BearerSettings = Field(default_factory=BearerSettings)
    """Index mode over v2: the hub's bearer tokens (``WHARF_REGISTRY_BEARER__CERTIFICATE``)."""
    """Index mode (a hub's public key set): the hub's tokens replace ``auth``."""
    uploads: UploadLimits = Field(default_factory=UploadLimits)
    """Largest layer and image JSON, the namespace quota (``WHARF_REGISTRY_UPLOADS__*``)."""
    v2: V2Limits = Field(default_factory=V2Limits)
    """The v2 API: upload session lifetime, largest manifest, page size (``WHARF_REGISTRY_V2__*``)."""
    endpoints: list[str] = Field(default_factory=list)
    """``X-Docker-Endpoints`` the index routes announce; empty: the request's ``Host``."""
    flavor: str = "default"
    """``X-Docker-Registry-Config`` (DR's configuration flavor)."""
    max_body_bytes: int = 4 << 20
    """Largest JSON body (image JSON, tags, index image lists); 413 above."""
    log_level: str = "info"
    log_json: bool = False
    pidfile: Path | None = None


__all__ = [
    "FilesystemStorageSettings",
    "IndexSettings",
    "S3StorageSettings",
    "Settings",
    "UploadLimits",
]
