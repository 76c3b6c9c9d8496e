"""What the Dockerfile executor needs from the engine (moby's builder Backend, narrowed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from wharf_common.tarfiles import ExtractLimits

Output = Callable[[str], Awaitable[None]]


class BuildBackend(Protocol):
    """Implemented by the daemon; the builder never imports the daemon itself."""

    @property
    def extract_limits(self) -> ExtractLimits:
        """How far an ``ADD``ed tar may expand."""
        ...

    def resolve_image(self, ref: str) -> str:
        """Image id for a name or id; raises NotFound."""
        ...

    def image_config(self, image_id: str) -> Mapping[str, Any]:
        """The full image config (``config``, ``rootfs``, ``history``...)."""
        ...

    async def pull_image(self, name: str, progress: Callable[[dict[str, Any]], None]) -> str:
        """Pull ``name`` (a base image not here), reporting progress messages; its image id."""
        ...

    async def create_image(self, config: dict[str, Any]) -> str: ...

    async def tag_image(self, image_id: str, ref: str) -> None: ...

    async def create_step(self, image_id: str | None, config: dict[str, Any]) -> str:
        """A container for one build step (not started); ``None`` image means scratch."""
        ...

    async def mount_step(self, step: str) -> Path:
        """Mount the step container's root and return it (for COPY/ADD/WORKDIR)."""
        ...

    async def run_step(self, step: str, output: Output) -> int:
        """Start the step container, stream its output, return its exit code."""
        ...

    async def commit_step(self, step: str) -> str:
        """The step container's changes as a layer; returns the diff id. The container goes."""
        ...

    async def remove_step(self, step: str) -> None: ...
