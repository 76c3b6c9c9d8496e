"""One storage, both protocols: v1 images as schema-2 manifests, and v2 images as v1 images."""

from __future__ import annotations

from ..layers import LayerService
from ..names import RepositoryName
from ..storage.base import StorageDriver
from ..tags import TagService
from .blobs import BlobStore
from .errors import ManifestUnknown
from .manifests import ManifestService
from .names import Digest


class Synthesis:
    def __init__(
        self, storage: StorageDriver, blobs: BlobStore, manifests: ManifestService, layers: LayerService,
        tags: TagService,
    ) -> None:  # fmt: skip
        self.storage = storage
        self.blobs = blobs
        self.manifests = manifests
        self.layers = layers
        self.tags = tags

    async def manifest_of(self, repo: RepositoryName, image_id: str) -> Digest:
        raise ManifestUnknown(image_id)

    async def image_of(self, repo: RepositoryName, digest: str) -> str | None:
        return None
