"""Pull and push against v1 registries (protocols.md A.5-A.10).

* :mod:`.endpoint`: the registry's URL (HTTP for insecure registries) and the caller's credentials;
* :mod:`.client`: a typed async v1 client on httpx;
* :mod:`.v1`: v1 ids and image JSON from local images and back, payload checksums;
* :mod:`.v1ids`: the persisted map between v1 ids and local layers;
* :mod:`.progress`: Docker's JSON progress messages.

The daemon's ``pull.py`` and ``push.py`` drive these; nothing here imports ``api/`` or ``daemon/``.
"""

from .client import ImageJson, RegistryClient
from .endpoint import AuthConfig, Endpoint, decode_registry_auth, resolve_endpoint, server_domain
from .errors import (
    DefaultHubUnavailable,
    InvalidRegistryAuth,
    LayerVerificationFailed,
    PullAccessDenied,
    RegistryError,
    RegistryUnauthorized,
    RegistryUnreachable,
    TagNotFound,
)
from .v1ids import V1IdStore

__all__ = [
    "AuthConfig",
    "DefaultHubUnavailable",
    "Endpoint",
    "ImageJson",
    "InvalidRegistryAuth",
    "LayerVerificationFailed",
    "PullAccessDenied",
    "RegistryClient",
    "RegistryError",
    "RegistryUnauthorized",
    "RegistryUnreachable",
    "TagNotFound",
    "V1IdStore",
    "decode_registry_auth",
    "resolve_endpoint",
    "server_domain",
]
