"""Which index or registry a name points at, and the repository path there.

Bare names (``busybox``, ``alice/web``) and the names Docker gives its own hub
(``docker.io/…``, ``index.docker.io/…``, ``registry-1.docker.io/…``) mean the engine's
*default index*; everything else names its registry by ``host[:port]``. Single names become
``library/<name>`` on the wire (protocols.md A.2), while the local image keeps the name the
user typed: ``docker pull busybox`` tags ``busybox:latest``, as Docker does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from wharf_common.reference import ImageReference

from .endpoint import Endpoint, resolve_endpoint

DEFAULT_INDEX_DOMAINS = ("docker.io", "index.docker.io", "registry-1.docker.io")
"""Names of Docker's hub that mean the default index here."""

DEFAULT_INDEX_NAME = "docker.io"
"""How Docker names its default index in ``/info``'s ``IndexConfigs``."""

INDEX_SERVER_ADDRESS = "https://index.docker.io/v1/"
"""Docker's ``registry.IndexServer``: the key clients store default-index credentials under."""


@dataclass(frozen=True, slots=True)
class Repository:
    """A repository as the distribution code sees it."""

    index: Endpoint  # the index (or standalone registry) the name points at
    remote: str  # the path there: ``library/busybox``, ``alice/web``
    official: bool  # on the default index

    @property
    def display(self) -> str:
        """The repository in messages: ``docker.io/alice/web``, ``127.0.0.1:5000/user/web``."""
        return f"{DEFAULT_INDEX_NAME if self.official else self.index.domain}/{self.remote}"


def v2_repository(repository: Repository, ref: ImageReference, endpoint: Endpoint) -> Repository:
    """The repository as a v2 registry names it, at the endpoint negotiation chose: ``library/``
    only on the default index (Docker's normalization), so ``127.0.0.1:5000/busybox`` is
    ``busybox`` there."""
    remote = repository.remote if repository.official else ref.path
    return replace(repository, index=endpoint, remote=remote)


def is_default_domain(domain: str | None) -> bool:
    return domain is None or domain in DEFAULT_INDEX_DOMAINS


def index_endpoint(url: str, insecure: list[str], ca_bundle: Path | None = None) -> Endpoint:
    """The endpoint of an index given as ``http(s)://host[:port]`` or ``host[:port]``."""
    text = url.strip().rstrip("/").removesuffix("/v1")
    if "://" not in text:
        return resolve_endpoint(text, insecure, ca_bundle)
    parts = urlsplit(text)
    return Endpoint(parts.netloc, f"{parts.scheme}://{parts.netloc}", str(ca_bundle) if ca_bundle else True)


def remote_name(path: str) -> str:
    """The repository path on the wire: ``library/`` for single names (protocols.md A.2)."""
    return path if "/" in path else f"library/{path}"


def registry_endpoint(item: str, index: Endpoint) -> Endpoint:
    """One ``X-Docker-Endpoints`` item: a registry spoken to with the index's scheme (M15)."""
    text = item.strip().rstrip("/").removesuffix("/v1")
    if "://" in text:
        parts = urlsplit(text)
        return Endpoint(parts.netloc, f"{parts.scheme}://{parts.netloc}", index.verify)
    scheme = "https" if index.secure else "http"
    return Endpoint(text, f"{scheme}://{text}", index.verify)


def split_search_term(term: str) -> tuple[str | None, str]:
    """``127.0.0.1:5000/web`` → (``127.0.0.1:5000``, ``web``); ``web`` → (None, ``web``): default index."""
    first, slash, rest = term.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return (None, rest) if is_default_domain(first) else (first, rest)
    return None, term


def registry_config(default: Endpoint, insecure: list[str]) -> dict[str, object]:
    """``/info``'s ``RegistryConfig``: the default index under Docker's name, the insecure list."""
    cidrs: list[str] = []
    names: list[str] = []
    for entry in insecure:
        (cidrs if "/" in entry else names).append(entry)
    configs: dict[str, object] = {
        DEFAULT_INDEX_NAME: {
            "Name": DEFAULT_INDEX_NAME,
            "Mirrors": [],
            "Secure": default.secure,
            "Official": True,
        },
    }
    for name in names:
        configs[name] = {"Name": name, "Mirrors": [], "Secure": False, "Official": False}
    return {"IndexConfigs": configs, "InsecureRegistryCIDRs": cidrs, "Mirrors": []}


def describe(
    ref: ImageReference, default: Endpoint, insecure: list[str], ca_bundle: Path | None
) -> Repository:
    """Where ``ref`` lives: the default index for bare and docker.io names, else its domain."""
    if is_default_domain(ref.domain):
        return Repository(default, remote_name(ref.path), official=True)
    assert ref.domain is not None
    return Repository(
        resolve_endpoint(ref.domain, insecure, ca_bundle), remote_name(ref.path), official=False
    )


__all__ = [
    "DEFAULT_INDEX_DOMAINS",
    "DEFAULT_INDEX_NAME",
    "INDEX_SERVER_ADDRESS",
    "Repository",
    "describe",
    "index_endpoint",
    "is_default_domain",
    "registry_config",
    "registry_endpoint",
    "remote_name",
    "split_search_term",
    "v2_repository",
]
