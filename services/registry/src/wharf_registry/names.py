"""Validation of everything a URL or body names: repositories, image ids, tags.

Validated values are the only ones :mod:`wharf_registry.storage.paths` ever sees, which is
what keeps ``../`` (raw or percent-encoded) out of the storage layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wharf_common import jsonsafe
from wharf_common.errors import InvalidArgument
from wharf_common.reference import is_valid_tag

OFFICIAL_NAMESPACE = "library"

_IMAGE_ID_RE = re.compile(r"[a-f0-9]{64}", re.ASCII)
# M15 registry/config.go validateRemoteName: namespace [a-z0-9-_], repository [a-z0-9-_.];
# we also refuse leading dots and "..", which M15 lets through to the server.
_NAMESPACE_RE = re.compile(r"[a-z0-9_](?:[a-z0-9_]|-(?!-)){0,28}[a-z0-9_]", re.ASCII)
_REPO_RE = re.compile(r"[a-z0-9_-][a-z0-9_.-]{0,254}", re.ASCII)


class InvalidImageJson(InvalidArgument):
    """Malformed JSON, a missing or wrong ``id``, a bad ``parent``."""


class InvalidRepositoryName(InvalidArgument):
    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"Invalid repository name ({name}): {why}")


class InvalidImageId(InvalidArgument):
    def __init__(self, image_id: str) -> None:
        super().__init__(f"Invalid image ID: {image_id[:80]!r} (must be 64 lowercase hex characters)")


class InvalidTagName(InvalidArgument):
    def __init__(self, tag: str) -> None:
        super().__init__(f"Invalid tag name: {tag[:140]!r}")


@dataclass(frozen=True, slots=True)
class RepositoryName:
    namespace: str
    repo: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.repo}"

    @property
    def familiar(self) -> str:
        """``ubuntu`` for ``library/ubuntu``, ``user/web`` otherwise."""
        return self.repo if self.namespace == OFFICIAL_NAMESPACE else str(self)


def parse_repository(name: str) -> RepositoryName:
    """``ubuntu`` → ``library/ubuntu``; ``user/web`` as is; anything else is refused."""
    parts = name.strip("/").split("/") if name.strip("/") else []
    if len(parts) == 1:
        parts = [OFFICIAL_NAMESPACE, parts[0]]
    if len(parts) != 2:
        raise InvalidRepositoryName(name, "expected [namespace/]name")
    namespace, repo = parts
    if not _NAMESPACE_RE.fullmatch(namespace):
        raise InvalidRepositoryName(
            name, "namespace must be 2-30 of [a-z0-9-_], without leading, trailing or double '-'"
        )
    if not _REPO_RE.fullmatch(repo) or ".." in repo:
        raise InvalidRepositoryName(name, "name must be [a-z0-9-_.], not starting with '.', no '..'")
    return RepositoryName(namespace, repo)


def check_image_id(image_id: str) -> str:
    if not _IMAGE_ID_RE.fullmatch(image_id):
        raise InvalidImageId(image_id)
    return image_id


def check_tag(tag: str) -> str:
    if not is_valid_tag(tag):
        raise InvalidTagName(tag)
    return tag


def parse_image_json(image_id: str, raw: bytes) -> dict[str, Any]:
    try:
        data = jsonsafe.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidImageJson("Invalid JSON") from None
    if not data or not isinstance(data, dict):
        raise InvalidImageJson("Invalid JSON")
    if "id" not in data:
        raise InvalidImageJson("Missing key `id' in JSON")
    if data["id"] != image_id:
        raise InvalidImageJson("JSON data contains invalid id")
    parent = data.get("parent")
    if parent is not None and parent != "":
        if not isinstance(parent, str):
            raise InvalidImageJson("Invalid parent in JSON")
        check_image_id(parent)
        if parent == image_id:
            raise InvalidImageJson("Image cannot be its own parent")
    return data
