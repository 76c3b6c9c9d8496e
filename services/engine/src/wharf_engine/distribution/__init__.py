"""Pull and push against v2 registries, and against v1 registries and indexes.

* :mod:`.names`: which index or registry a name means (bare names: the default index);
* :mod:`.endpoint`: a registry's URL (HTTP for insecure registries) and the caller's credentials;
* :mod:`.session`: endpoint discovery (``/v1/_ping``) and the session a pull or push runs in;
* :mod:`.index`: a typed async client for a hub's v1 index API (tokens, login);
* :mod:`.client`: a typed async v1 registry client on httpx;
* :mod:`.v1`: v1 ids and image JSON from local images and back, payload checksums;
* :mod:`.v1ids`: the persisted map between v1 ids and local layers;
* :mod:`.progress`: Docker's JSON progress messages;
* :mod:`.v2`, :mod:`.v2auth`, :mod:`.manifests`, :mod:`.v2meta`: the v2 / OCI distribution API
  (HTTP, challenges and bearer tokens, manifests and platforms, which registry blobs hold a
  layer); :meth:`.session.RegistryService.negotiate_v2` decides v2 or v1 per registry.

The daemon's ``pull.py``, ``push.py``, ``auth.py`` and ``search.py`` drive these; nothing here
imports ``api/`` or ``daemon/``.
"""

from .client import ImageJson, RegistryClient
from .endpoint import AuthConfig, Endpoint, decode_registry_auth, resolve_endpoint, server_domain
from .errors import (
    AccessDenied,
    AccountInactive,
    InvalidRegistryAuth,
    LayerVerificationFailed,
    PullAccessDenied,
    RegistrationFailed,
    RegistryError,
    RegistryUnauthorized,
    RegistryUnreachable,
    RepositoryUnknown,
    TagNotFound,
)
from .index import Grant, IndexClient
from .names import INDEX_SERVER_ADDRESS, Repository
from .session import RegistryService, Session
from .v1ids import V1IdStore

__all__ = [
    "INDEX_SERVER_ADDRESS",
    "AccessDenied",
    "AccountInactive",
    "AuthConfig",
    "Endpoint",
    "Grant",
    "ImageJson",
    "IndexClient",
    "InvalidRegistryAuth",
    "LayerVerificationFailed",
    "PullAccessDenied",
    "RegistrationFailed",
    "RegistryClient",
    "RegistryError",
    "RegistryService",
    "RegistryUnauthorized",
    "RegistryUnreachable",
    "Repository",
    "RepositoryUnknown",
    "Session",
    "TagNotFound",
    "V1IdStore",
    "decode_registry_auth",
    "resolve_endpoint",
    "server_domain",
]
