"""Manifest formats: Docker image manifest v2 schema 2 and manifest list, OCI image manifest and index.

Only what the registry checks is modelled; the stored bytes are always the client's own.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from wharf_common import jsonsafe

from .errors import ManifestInvalid

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
SCHEMA1 = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)
IMAGE_MANIFESTS = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
INDEXES = frozenset({DOCKER_LIST, OCI_INDEX})
MANIFEST_TYPES = IMAGE_MANIFESTS | INDEXES


class Platform(BaseModel):
    model_config = ConfigDict(extra="allow")

    architecture: str
    os: str
    variant: str | None = None


class Descriptor(BaseModel):
    model_config = ConfigDict(extra="allow")

    mediaType: str = Field(min_length=1, max_length=255)
    digest: str = Field(max_length=200)
    size: int = Field(ge=0)
    urls: list[str] | None = None
    annotations: dict[str, str] | None = None
    artifactType: str | None = None
    platform: Platform | None = None


class ImageManifest(BaseModel):
    model_config = ConfigDict(extra="allow")

    schemaVersion: Literal[2]
    mediaType: str | None = None
    artifactType: str | None = None
    config: Descriptor
    layers: list[Descriptor]
    subject: Descriptor | None = None
    annotations: dict[str, str] | None = None


class ImageIndex(BaseModel):
    model_config = ConfigDict(extra="allow")

    schemaVersion: Literal[2]
    mediaType: str | None = None
    artifactType: str | None = None
    manifests: list[Descriptor]
    subject: Descriptor | None = None
    annotations: dict[str, str] | None = None


Manifest = ImageManifest | ImageIndex


def parse_manifest(raw: bytes, content_type: str | None) -> tuple[str, Manifest]:
    """The manifest's media type and model, or :class:`ManifestInvalid` saying why."""
    try:
        data = jsonsafe.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ManifestInvalid("manifest is not valid JSON") from None
    if not isinstance(data, dict):
        raise ManifestInvalid("manifest is not a JSON object")
    content_type = (content_type or "").split(";")[0].strip().lower()
    declared = data.get("mediaType")
    if data.get("schemaVersion") == 1 or content_type in SCHEMA1 or declared in SCHEMA1:
        raise ManifestInvalid(
            "Docker image manifest schema 1 is not supported: push with a client that speaks "
            "schema 2 or OCI (Docker 1.10 and later, podman, skopeo)"
        )
    if declared is not None and not isinstance(declared, str):
        raise ManifestInvalid("mediaType must be a string")
    if declared and content_type in MANIFEST_TYPES and declared != content_type:
        raise ManifestInvalid(f"mediaType {declared} does not match Content-Type {content_type}")
    media_type = declared or (content_type if content_type in MANIFEST_TYPES else None)
    if media_type is None:  # OCI lets mediaType out: tell by the fields
        media_type = OCI_INDEX if "manifests" in data else OCI_MANIFEST
    if media_type not in MANIFEST_TYPES:
        raise ManifestInvalid(f"unsupported manifest media type {media_type[:100]!r}")
    model: type[ImageManifest] | type[ImageIndex] = ImageIndex if media_type in INDEXES else ImageManifest
    try:
        return media_type, model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise ManifestInvalid(f"invalid {media_type} manifest: {problems}") from None


def descriptor_json(media_type: str, digest: str, size: int, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": digest, "size": size, **{k: v for k, v in extra.items() if v}}
