"""Docker image references: ``[host[:port]/]path[:tag][@digest]``.

The grammar is the one of ``distribution/reference`` (``regexp.go``)::

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [ domain "/" ] path-component [ "/" path-component ]*
    domain     := host [ ":" port ]          host: DNS name or [IPv6]
    path-comp  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
    tag        := [\\w][\\w.-]{0,127}
    digest     := algorithm ":" hex

Normalization follows ``ParseNormalizedNamed``: the first ``/``-separated component
is a registry domain only when it contains ``.`` or ``:`` or is ``localhost``, so
``localhost:5000/web`` names registry ``localhost:5000`` while ``web:5000`` is the
image ``web`` with tag ``5000``. References on the default hub (``docker.io``,
``index.docker.io``) are stored in their *familiar* form: domain ``None`` and
path ``busybox`` for ``docker.io/library/busybox``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from wharf_common.errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
"""The registry a reference without a domain points at."""

DEFAULT_TAG = "latest"
"""The tag ``docker pull busybox`` means."""

_LEGACY_DEFAULT_DOMAIN = "index.docker.io"
_OFFICIAL_PREFIX = "library/"
_NAME_TOTAL_LENGTH_MAX = 255
_NAME_TOO_LONG = f"repository name must not be more than {_NAME_TOTAL_LENGTH_MAX} characters"
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}

_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[[a-fA-F0-9:]+\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_PATH = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

# re.ASCII: Go's \w is [0-9A-Za-z_]. Always fullmatch(): Python's "$" accepts a trailing newline.
_DOMAIN_RE = re.compile(_DOMAIN, re.ASCII)
_PATH_RE = re.compile(_PATH, re.ASCII)
_TAG_RE = re.compile(_TAG, re.ASCII)
_DIGEST_RE = re.compile(_DIGEST, re.ASCII)
_REMAINDER_RE = re.compile(rf"(?P<path>{_PATH})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?", re.ASCII)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}", re.ASCII)


class InvalidReference(InvalidArgument):
    """A string that is not a valid image reference; the message keeps Docker's wording."""


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A parsed, normalized image reference.

    ``domain`` is ``None`` for the default hub, and ``path`` is then the familiar
    path (``busybox``, ``user/web``); elsewhere ``path`` is the repository path on
    that registry. At least one of ``tag`` and ``digest`` may be ``None``; see
    :meth:`with_default_tag`.
    """

    domain: str | None
    path: str
    tag: str | None = None
    digest: str | None = None

    def __post_init__(self) -> None:
        if self.domain is not None and (
            self.domain in (DEFAULT_DOMAIN, _LEGACY_DEFAULT_DOMAIN) or not _DOMAIN_RE.fullmatch(self.domain)
        ):
            raise InvalidReference(f"invalid reference format: domain {self.domain!r} is not canonical")
        if not _PATH_RE.fullmatch(self.path) or (
            self.domain is None and _familiar_path(self.path) != self.path
        ):
            raise InvalidReference(f"invalid reference format: path {self.path!r} is not canonical")
        if self.tag is not None and not is_valid_tag(self.tag):
            raise InvalidReference("invalid reference format")
        if self.digest is not None:
            _validate_digest(self.digest)
        if len(self.full_name) > _NAME_TOTAL_LENGTH_MAX:
            raise InvalidReference(
                f"repository name must not be more than {_NAME_TOTAL_LENGTH_MAX} characters"
            )

    @property
    def repository(self) -> str:
        """The familiar repository name: ``busybox``, ``user/web``, ``localhost:5000/web``."""
        return self.path if self.domain is None else f"{self.domain}/{self.path}"

    @property
    def remote_name(self) -> str:
        """The path the registry stores: ``library/busybox`` for official hub images."""
        if self.domain is None and "/" not in self.path:
            return _OFFICIAL_PREFIX + self.path
        return self.path

    @property
    def full_name(self) -> str:
        """The fully qualified repository name: ``docker.io/library/busybox``."""
        return f"{self.domain or DEFAULT_DOMAIN}/{self.remote_name}"

    def with_default_tag(self) -> ImageReference:
        """Return this reference with tag ``latest`` when it has neither tag nor digest."""
        if self.tag is None and self.digest is None:
            return replace(self, tag=DEFAULT_TAG)
        return self

    def __str__(self) -> str:
        """The familiar string Docker prints: ``busybox:latest``, ``localhost:5000/web:v1``."""
        text = self.repository
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def is_valid_tag(tag: str) -> bool:
    """Return whether ``tag`` matches Docker's tag grammar ``[\\w][\\w.-]{0,127}``."""
    return _TAG_RE.fullmatch(tag) is not None


def parse_reference(text: str) -> ImageReference:
    """Parse and normalize ``text`` as ``docker pull`` would.

    Raises :class:`InvalidReference` with Docker's messages, e.g.
    ``invalid reference format`` or
    ``invalid reference format: repository name (library/Busybox) must be lowercase``.
    """
    if _IDENTIFIER_RE.fullmatch(text):
        raise InvalidReference(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"
        )
    domain, remainder = _split_domain(text)
    remote_name = remainder.split(":", 1)[0].split("@", 1)[0]
    if remote_name.lower() != remote_name:
        raise InvalidReference(f"invalid reference format: repository name ({remote_name}) must be lowercase")
    match = _REMAINDER_RE.fullmatch(remainder)
    if match is None or not _DOMAIN_RE.fullmatch(domain):
        raise InvalidReference("invalid reference format")
    path: str = match["path"]
    if len(domain) + 1 + len(path) > _NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(_NAME_TOO_LONG)
    if domain == DEFAULT_DOMAIN:
        return ImageReference(None, _familiar_path(path), match["tag"], match["digest"])
    return ImageReference(domain, path, match["tag"], match["digest"])


def _split_domain(text: str) -> tuple[str, str]:
    """Split off the registry domain as ``splitDockerDomain`` does (``docker.io`` when absent)."""
    first, slash, rest = text.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        domain, remainder = DEFAULT_DOMAIN, text
    else:
        domain, remainder = first, rest
    if domain == _LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = _OFFICIAL_PREFIX + remainder
    return domain, remainder


def _familiar_path(path: str) -> str:
    """Drop ``library/`` from an official hub path (``library/busybox`` → ``busybox``)."""
    rest = path.removeprefix(_OFFICIAL_PREFIX)
    return rest if rest != path and "/" not in rest else path


def _validate_digest(digest: str) -> None:
    """Check ``algo:hex`` as go-digest's ``Validate`` does, with its messages."""
    if not _DIGEST_RE.fullmatch(digest):
        raise InvalidReference("invalid checksum digest format")
    algorithm, _, encoded = digest.partition(":")
    length = _DIGEST_HEX_LENGTHS.get(algorithm)
    if length is None:
        raise InvalidReference("unsupported digest algorithm")
    if len(encoded) != length:
        raise InvalidReference("invalid checksum digest length")
    if encoded.lower() != encoded:
        raise InvalidReference("invalid checksum digest format")


__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_TAG",
    "ImageReference",
    "InvalidReference",
    "is_valid_tag",
    "parse_reference",
]
