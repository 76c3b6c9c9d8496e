"""What the hub reads back from the registry: tags, and the size of the image each names.

The hub signs its own read tokens, so it needs no account on the registry. The paths and the
reading of the answers are :mod:`wharf_common.registry_v1`'s, as the engine's client uses them;
this is the blocking transport.
"""

from __future__ import annotations

import functools
import ssl

import httpx
from wharf_common import registry_v1 as v1
from wharf_common.tokens import Access, TokenSigner


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Built once: reading the CA bundle for every client cost tens of milliseconds a call."""
    return httpx.create_ssl_context()


class RegistryReader:
    def __init__(self, url: str, signer: TokenSigner, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.signer = signer
        self.timeout = timeout

    def _client(self, remote: str, access: Access = "read") -> httpx.Client:
        token = self.signer.issue(remote, access, "", 60)
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Token {token}"},
            timeout=self.timeout,
            verify=_tls_context(),
        )

    def tags(self, remote: str) -> dict[str, str]:
        """``{tag: image id}`` of ``remote`` (``alice/web``); {} when the registry has none."""
        with self._client(remote) as http:
            response = http.get(v1.tags_path(remote))
        if response.status_code not in (200, 404):
            response.raise_for_status()
        try:
            return v1.read_tags(response)
        except v1.UnexpectedAnswer:
            return {}

    def sizes(self, remote: str, image_ids: list[str]) -> dict[str, int]:
        """Bytes of every layer of each image, as stored (layers shared between them read once)."""
        layers: dict[str, int] = {}
        totals = {}
        with self._client(remote) as http:
            for image_id in image_ids:
                totals[image_id] = self._size(http, image_id, layers)
        return totals

    def delete(self, remote: str) -> None:
        """Remove the repository's tags from the registry (``DELETE /v1/repositories/<name>/``);
        the layers go with the registry's garbage collection."""
        with self._client(remote, "delete") as http:
            response = http.delete(v1.repository_path(remote))
            if response.status_code not in (200, 202, 204, 404):
                response.raise_for_status()

    def _size(self, http: httpx.Client, image_id: str, sizes: dict[str, int]) -> int:
        try:
            ancestry = v1.read_ancestry(http.get(v1.image_path(image_id, "ancestry")))
        except v1.UnexpectedAnswer:
            ancestry = None
        total = 0
        for layer in ancestry or []:
            if layer not in sizes:
                sizes[layer] = v1.layer_size(http.get(v1.image_path(layer, "json"))) or 0
            total += sizes[layer]
        return total


__all__ = ["RegistryReader"]
