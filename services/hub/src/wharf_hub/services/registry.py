"""What the hub reads back from the registry: tags, and the size of the image each names.

The hub signs its own read tokens, so it needs no account on the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from wharf_common.tokens import TokenSigner


@dataclass(frozen=True, slots=True)
class RemoteTag:
    name: str
    image_id: str
    size: int  # bytes of every layer of the image, as stored


class RegistryReader:
    def __init__(self, url: str, signer: TokenSigner, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.signer = signer
        self.timeout = timeout

    def tags(self, remote: str) -> list[RemoteTag]:
        """Every tag of ``remote`` (``alice/web``); [] when the registry has none."""
        token = self.signer.issue(remote, "read", "", 60)
        headers = {"Authorization": f"Token {token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=self.timeout) as http:
            response = http.get(f"/v1/repositories/{remote}/tags")
            if response.status_code == 404:
                return []
            response.raise_for_status()
            found = response.json()
            sizes: dict[str, int] = {}
            tags = []
            for name, image_id in sorted(found.items()) if isinstance(found, dict) else []:
                tags.append(RemoteTag(str(name), str(image_id), self._size(http, str(image_id), sizes)))
            return tags

    def delete(self, remote: str) -> None:
        """Remove the repository's tags from the registry (``DELETE /v1/repositories/<name>/``);
        the layers go with the registry's garbage collection."""
        token = self.signer.issue(remote, "delete", "", 60)
        with httpx.Client(base_url=self.url, timeout=self.timeout) as http:
            response = http.delete(f"/v1/repositories/{remote}/", headers={"Authorization": f"Token {token}"})
            if response.status_code not in (200, 202, 204, 404):
                response.raise_for_status()

    def _size(self, http: httpx.Client, image_id: str, sizes: dict[str, int]) -> int:
        ancestry = http.get(f"/v1/images/{image_id}/ancestry")
        if ancestry.status_code != 200:
            return 0
        total = 0
        for layer in ancestry.json():
            if layer not in sizes:
                head = http.get(f"/v1/images/{layer}/json")
                size = head.headers.get("x-docker-size", "0")
                sizes[layer] = int(size) if size.isdigit() else 0
            total += sizes[layer]
        return total


__all__ = ["RegistryReader", "RemoteTag"]
