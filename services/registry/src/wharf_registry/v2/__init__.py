"""The OCI distribution spec (registry v2) on the v1 registry's storage.

:func:`build_v2` makes the services; ``app.py`` mounts their routers (``api/v2/``) with the
authority of its mode: :class:`~wharf_registry.v2.access.BasicAuthority` standalone, the hub's
Bearer tokens in index mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..layers import LayerService
from ..storage.base import StorageDriver
from ..tags import TagService
from .blobs import BlobStore
from .listing import Listing
from .manifests import ManifestDeleted, ManifestPushed, ManifestService
from .synthesis import Synthesis
from .uploads import UploadService, V2Limits


@dataclass(frozen=True, slots=True)
class V2Services:
    blobs: BlobStore
    uploads: UploadService
    manifests: ManifestService
    listing: Listing
    synthesis: Synthesis

    def on_manifest_put(self, listener: ManifestPushed) -> None:
        """Hear of every manifest pushed: ``await listener(repository, tag, digest, user)``."""
        self.manifests.listeners.append(listener)

    def on_manifest_delete(self, listener: ManifestDeleted) -> None:
        """Hear of every manifest or tag deleted: ``await listener(repository, tags, digest, user)``."""
        self.manifests.delete_listeners.append(listener)


def build_v2(storage: StorageDriver, layers: LayerService, tags: TagService, limits: V2Limits) -> V2Services:
    blobs = BlobStore(storage)
    uploads = UploadService(storage, blobs, limits, layers.limits.max_layer_size)
    manifests = ManifestService(storage, blobs, tags, limits)
    synthesis = Synthesis(storage, blobs, manifests, layers, tags)
    manifests.v1 = synthesis
    tags.manifest_image = synthesis.image_of
    return V2Services(blobs, uploads, manifests, Listing(storage, tags, limits), synthesis)


__all__ = ["ManifestPushed", "V2Limits", "V2Services", "build_v2"]
