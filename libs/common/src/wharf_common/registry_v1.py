"""The v1 registry protocol (docs/protocols.md A.5-A.7) as its clients and the registry share it.

The engine's async client (``wharf_engine.distribution.client``), the hub's reader of tags and
sizes (``wharf_hub.services.registry``) and the registry itself name the same paths, headers
and checksums: they are defined here once, with the reading of the answers (what a 404 means,
what shape a body must have). Nothing here does I/O: each caller sends with its own HTTP client
(the engine's is async, the hub's blocking) and hands the answer to these functions, which read
only what :class:`Answer` names (an ``httpx.Response`` has all of it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

REGISTRY_VERSION = "0.9.1"
"""``X-Docker-Registry-Version`` of the registry and of the hub's index (docker-registry's last)."""

CHECKSUM_HEADER = "X-Docker-Checksum-Payload"
SIZE_HEADER = "X-Docker-Size"
TOKEN_HEADER = "X-Docker-Token"

ImageFile = Literal["json", "layer", "ancestry", "checksum"]


class Answer(Protocol):
    """What the readers below look at in an HTTP response."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...  # case-insensitive, as httpx's
    @property
    def content(self) -> bytes: ...


# ---- paths -------------------------------------------------------------------------------


def repository_path(remote: str) -> str:
    """``PUT``/``DELETE`` of a repository (``alice/web``): the index's push step 1, a deletion."""
    return f"/v1/repositories/{remote}/"


def repository_images_path(remote: str) -> str:
    return f"/v1/repositories/{remote}/images"


def tags_path(remote: str) -> str:
    return f"/v1/repositories/{remote}/tags"


def tag_path(remote: str, tag: str) -> str:
    return f"/v1/repositories/{remote}/tags/{tag}"


def image_path(image_id: str, what: ImageFile) -> str:
    return f"/v1/images/{image_id}/{what}"


# ---- checksums ---------------------------------------------------------------------------


def payload_checksum(image_json: bytes, layer: bytes) -> str:
    """``X-Docker-Checksum-Payload``: ``sha256:`` + sha256(JSON + newline + uploaded bytes)."""
    return "sha256:" + hashlib.sha256(image_json + b"\n" + layer).hexdigest()


class PayloadHasher:
    """The payload checksum over a streamed body (the client as it sends, the registry as it
    receives: the two must agree before a layer is visible)."""

    def __init__(self, image_json: bytes) -> None:
        self._h = hashlib.sha256(image_json + b"\n")

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self._h.update(chunk)

    @property
    def checksum(self) -> str:
        return "sha256:" + self._h.hexdigest()


# ---- answers -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageJson:
    raw: bytes
    data: dict[str, Any]
    size: int | None  # X-Docker-Size: the layer's bytes as stored
    checksum: str | None  # X-Docker-Checksum-Payload, when the registry knows it


class UnexpectedAnswer(Exception):
    """An answer of a status or shape the protocol does not allow; the caller words the error."""


def _json(answer: Answer) -> Any:
    try:
        return json.loads(answer.content)
    except ValueError:
        raise UnexpectedAnswer(f"not JSON: {answer.content[:80]!r}") from None


def layer_size(answer: Answer) -> int | None:
    """``X-Docker-Size`` of a ``GET json`` answer: the layer's stored bytes, if it says."""
    size = answer.headers.get(SIZE_HEADER, "")
    return int(size) if size.isdigit() else None


def read_image_json(answer: Answer) -> ImageJson | None:
    """``GET /v1/images/<id>/json``: None when the registry has no complete image of that id
    (404, or 400 "being uploaded")."""
    if answer.status_code in (400, 404):
        return None
    if answer.status_code != 200:
        raise UnexpectedAnswer(f"status {answer.status_code}")
    data = _json(answer)
    return ImageJson(
        raw=answer.content,
        data=data if isinstance(data, dict) else {},
        size=layer_size(answer),
        checksum=answer.headers.get(CHECKSUM_HEADER),
    )


def read_ancestry(answer: Answer) -> list[str] | None:
    """``GET /v1/images/<id>/ancestry``: the ids from the image to its root; None on 404."""
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise UnexpectedAnswer(f"status {answer.status_code}")
    ancestry = _json(answer)
    if not isinstance(ancestry, list) or not all(isinstance(i, str) for i in ancestry):
        raise UnexpectedAnswer("the ancestry is not a list of ids")
    return ancestry


def read_tags(answer: Answer) -> dict[str, str]:
    """``GET /v1/repositories/<remote>/tags``: ``{tag: image id}``; {} on 404 (no repository)."""
    if answer.status_code == 404:
        return {}
    if answer.status_code != 200:
        raise UnexpectedAnswer(f"status {answer.status_code}")
    found = _json(answer)
    if not isinstance(found, dict):
        raise UnexpectedAnswer("the tags are not an object")
    return {str(k): str(v) for k, v in found.items()}


def read_tag(answer: Answer) -> str | None:
    """``GET /v1/repositories/<remote>/tags/<tag>``: the image id; None on 404."""
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise UnexpectedAnswer(f"status {answer.status_code}")
    image_id = _json(answer)
    if not isinstance(image_id, str):
        raise UnexpectedAnswer("the tag is not an image id")
    return image_id


def error_detail(answer: Answer, reason: str = "") -> str:
    """What a v1 error body says: ``{"error": …}``, a JSON string (the index), or the text."""
    text = answer.content[:200].decode("utf-8", "replace")
    try:
        body = json.loads(answer.content)
    except ValueError:
        return text or reason
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    if isinstance(body, str):
        return body[:200]
    return text


__all__ = [
    "CHECKSUM_HEADER",
    "REGISTRY_VERSION",
    "SIZE_HEADER",
    "TOKEN_HEADER",
    "Answer",
    "ImageJson",
    "PayloadHasher",
    "UnexpectedAnswer",
    "error_detail",
    "image_path",
    "layer_size",
    "payload_checksum",
    "read_ancestry",
    "read_image_json",
    "read_tag",
    "read_tags",
    "repository_images_path",
    "repository_path",
    "tag_path",
    "tags_path",
]
