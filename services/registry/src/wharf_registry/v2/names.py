"""What a v2 URL names: repositories (the spec's grammar, then the v1 layout's rules), digests, tags.

Only validated values reach :mod:`wharf_registry.storage.paths`, which keeps ``..``, ``%2e``
and friends out of the storage layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wharf_common.errors import InvalidArgument
from wharf_common.reference import is_valid_tag

from ..names import RepositoryName, parse_repository
from .errors import DigestInvalid, NameInvalid, TagInvalid

# the distribution spec's <name>: path components of lowercase alphanumerics and separators
_NAME_RE = re.compile(
    r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*", re.ASCII
)
# the spec's digest grammar; sha256 is the algorithm this registry stores
_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+", re.ASCII)
_SHA256_RE = re.compile(r"sha256:([a-f0-9]{64})", re.ASCII)
MAX_NAME = 255


def repository(name: str) -> RepositoryName:
    """``alice/web`` → alice/web, ``busybox`` → library/busybox; anything else is NAME_INVALID."""
    if len(name) > MAX_NAME or not _NAME_RE.fullmatch(name):
        raise NameInvalid("invalid repository name", {"name": name[:MAX_NAME]})
    try:
        return parse_repository(name)
    except InvalidArgument as exc:
        raise NameInvalid(exc.message, {"name": name}) from None


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    hex: str

    def __str__(self) -> str:
        return f"sha256:{self.hex}"

    @classmethod
    def parse(cls, value: str) -> Digest:
        """A ``sha256:<64 hex>`` digest, or :class:`DigestInvalid`."""
        match = _SHA256_RE.fullmatch(value)
        if match:
            return cls(match[1])
        if _DIGEST_RE.fullmatch(value):
            raise DigestInvalid("unsupported digest algorithm or malformed digest", {"digest": value[:140]})
        raise DigestInvalid("invalid digest", {"digest": value[:140]})


def is_digest(reference: str) -> bool:
    return ":" in reference


def tag(value: str) -> str:
    if not is_valid_tag(value):
        raise TagInvalid("invalid tag", {"tag": value[:140]})
    return value
