"""Image manifests of the v2 / OCI distribution API: parsing, platform selection, building.

Four kinds come in: Docker's schema 2 manifest and manifest list, and OCI's image manifest and
index. A list or an index names one manifest per platform; :func:`select_platform` picks the
one for this engine (``linux/amd64`` unless the caller asks for another). Schema 1 manifests
(removed from Docker 28 as well) are refused with a clear error, and so are layers compressed
with zstd, which this engine cannot extract. Going out, :func:`schema2_manifest` writes the
manifest as Docker does (three-space indent, so a push of the same image gives the same digest).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from wharf_common.errors import InvalidArgument, NotFound, NotSupported

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

MANIFESTS = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEXES = (DOCKER_LIST, OCI_INDEX)
ACCEPT = ", ".join((DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX))
"""What a pull asks for (schema 1 is never asked for: a registry would convert to it)."""

LAYER_TYPES = {
    # media type → compression this engine reads (open_decompressed tells gzip from plain tar)
    DOCKER_LAYER: "gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "gzip",
    "application/vnd.oci.image.layer.v1.tar": "none",
    "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar": "none",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
}
ZSTD_TYPES = (
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
)

DEFAULT_PLATFORM = "linux/amd64"


class InvalidManifest(InvalidArgument):
    """The registry sent a manifest this engine cannot read."""


class UnsupportedManifest(NotSupported):
    """A manifest or layer kind this engine does not pull (schema 1, zstd)."""


class NoMatchingPlatform(NotFound):
    def __init__(self, platform: str) -> None:
        super().__init__(f"no matching manifest for {platform} in the manifest list entries")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Platform(_Model):
    architecture: str = ""
    os: str = ""
    variant: str = ""


class Descriptor(_Model):
    mediaType: str = ""
    digest: str = Field(pattern=r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
    size: int = Field(ge=0)
    platform: Platform | None = None


class ImageManifest(_Model):
    schemaVersion: int
    mediaType: str = ""
    config: Descriptor
    layers: list[Descriptor]


class ManifestIndex(_Model):
    schemaVersion: int
    mediaType: str = ""
    manifests: list[Descriptor]


@dataclass(frozen=True, slots=True)
class Fetched:
    """A manifest as the registry sent it: the bytes, their media type and digest."""

    raw: bytes
    media_type: str
    digest: str


def sha256_digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def media_type(fetched_type: str, raw: bytes) -> str:
    """The manifest's media type: the body's ``mediaType``, else ``Content-Type`` (OCI may omit it)."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidManifest("the registry sent a manifest that is not JSON") from None
    declared = data.get("mediaType") if isinstance(data, dict) else None
    if isinstance(declared, str) and declared:
        return declared
    content_type = fetched_type.split(";", 1)[0].strip()
    if content_type in (*MANIFESTS, *INDEXES, *SCHEMA1):
        return content_type
    if isinstance(data, dict) and data.get("schemaVersion") == 1:
        return SCHEMA1[0]
    if isinstance(data, dict) and "manifests" in data:
        return OCI_INDEX
    return OCI_MANIFEST


def refuse_schema1(kind: str, reference: str) -> None:
    if kind in SCHEMA1:
        raise UnsupportedManifest(
            f"{reference}: Docker Image manifest version 2, schema 1 is not supported: "
            "push the image again with a current client (schema 2 or OCI)"
        )


def parse_manifest(raw: bytes) -> ImageManifest:
    try:
        return ImageManifest.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidManifest(f"invalid image manifest: {_first_error(exc)}") from None


def parse_index(raw: bytes) -> ManifestIndex:
    try:
        return ManifestIndex.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidManifest(f"invalid manifest list: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def parse_platform(text: str | None) -> Platform:
    """``os/arch[/variant]`` (``linux/amd64``, ``linux/arm64/v8``); empty: the default."""
    value = (text or "").strip() or DEFAULT_PLATFORM
    parts = value.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidArgument(f'"{value}": unknown operating system or architecture: invalid argument')
    return Platform(os=parts[0].lower(), architecture=_normal_arch(parts[1]), variant=_at(parts, 2))


def _at(parts: list[str], index: int) -> str:
    return parts[index].lower() if len(parts) > index else ""


def _normal_arch(arch: str) -> str:
    return {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64"}.get(arch.lower(), arch.lower())


def platform_text(platform: Platform) -> str:
    parts = [platform.os, platform.architecture, *([platform.variant] if platform.variant else [])]
    return "/".join(parts)


def select_platform(index: ManifestIndex, wanted: Platform) -> Descriptor:
    """The entry of ``index`` for ``wanted``: same os and architecture, the variant if asked."""
    candidates = [
        entry
        for entry in index.manifests
        if entry.platform is not None
        and entry.platform.os.lower() == wanted.os
        and _normal_arch(entry.platform.architecture) == wanted.architecture
        and entry.mediaType not in INDEXES
    ]
    if wanted.variant:
        candidates = [e for e in candidates if e.platform and e.platform.variant == wanted.variant]
    if not candidates:
        raise NoMatchingPlatform(platform_text(wanted))
    return candidates[0]


def check_layers(manifest: ImageManifest, reference: str) -> None:
    """Refuse layer kinds this engine cannot extract, before anything is downloaded."""
    for layer in manifest.layers:
        if layer.mediaType in ZSTD_TYPES:
            raise UnsupportedManifest(
                f"{reference}: layer {layer.digest} is compressed with zstd ({layer.mediaType}), "
                "which this engine does not support: push the image with gzip layers"
            )
        if layer.mediaType not in LAYER_TYPES:
            raise UnsupportedManifest(f"{reference}: unsupported layer media type {layer.mediaType!r}")


def config_matches(config: dict[str, Any], wanted: Platform) -> bool:
    return (
        str(config.get("os") or "linux").lower() == wanted.os
        and _normal_arch(str(config.get("architecture") or "amd64")) == wanted.architecture
    )


def schema2_manifest(config: bytes, layers: list[tuple[str, int]]) -> bytes:
    """A Docker schema 2 manifest for a config and its ``(digest, size)`` gzip layers, as moby
    writes it (``json.MarshalIndent`` with three spaces)."""
    document = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": len(config), "digest": sha256_digest(config)},
        "layers": [{"mediaType": DOCKER_LAYER, "size": size, "digest": digest} for digest, size in layers],
    }
    return json.dumps(document, indent=3).encode()


__all__ = [
    "ACCEPT",
    "DEFAULT_PLATFORM",
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "INDEXES",
    "MANIFESTS",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Descriptor",
    "Fetched",
    "ImageManifest",
    "InvalidManifest",
    "ManifestIndex",
    "NoMatchingPlatform",
    "Platform",
    "UnsupportedManifest",
    "check_layers",
    "config_matches",
    "media_type",
    "parse_index",
    "parse_manifest",
    "parse_platform",
    "platform_text",
    "refuse_schema1",
    "schema2_manifest",
    "select_platform",
    "sha256_digest",
]
