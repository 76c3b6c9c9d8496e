"""The state a Dockerfile stage carries from step to step, and the image each step leaves."""

from __future__ import annotations

import copy
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_SHELL = ["/bin/sh", "-c"]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


@dataclass(slots=True)
class StageState:
    """Where a stage stands: its current image and the config the next step starts from."""

    image_id: str | None = None  # None: FROM scratch and nothing committed yet
    config: dict[str, Any] = field(default_factory=dict)
    diff_ids: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)  # ARGs declared in this stage, with values
    cmd_from_stage: bool = False  # CMD was set in this Dockerfile (ENTRYPOINT then keeps it)
    author: str = ""

    @classmethod
    def from_image(cls, image_id: str, image: Mapping[str, Any]) -> StageState:
        config = copy.deepcopy(image.get("config") or {})
        return cls(
            image_id=image_id,
            config=config,
            diff_ids=list(image.get("rootfs", {}).get("diff_ids", [])),
            history=list(image.get("history") or []),
            author=str(image.get("author") or ""),
        )

    @property
    def shell(self) -> list[str]:
        return list(self.config.get("Shell") or DEFAULT_SHELL)

    @property
    def env(self) -> dict[str, str]:
        """What ``$VAR`` sees: the stage's ARGs, overridden by ENV, as Docker does."""
        values = dict(self.args)
        for item in self.config.get("Env") or []:
            key, _, value = item.partition("=")
            values[key] = value
        return values

    def set_env(self, key: str, value: str) -> None:
        env = [e for e in self.config.get("Env") or [] if e.partition("=")[0] != key]
        self.config["Env"] = [*env, f"{key}={value}"]

    def image(self, created_by: str, *, empty_layer: bool, diff_id: str | None = None) -> dict[str, Any]:
        """The image config for the step just done (a new layer when ``diff_id`` is given)."""
        created = now()
        entry: dict[str, Any] = {"created": created, "created_by": created_by}
        if empty_layer:
            entry["empty_layer"] = True
        diff_ids = [*self.diff_ids, diff_id] if diff_id else list(self.diff_ids)
        return {
            "architecture": arch(),
            "os": "linux",
            "created": created,
            "author": self.author,
            "parent": self.image_id or "",
            "config": copy.deepcopy(self.config),
            "container_config": {"Cmd": [*DEFAULT_SHELL[:2], created_by.removeprefix("/bin/sh -c ")]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [*self.history, entry],
        }

    def advance(self, image_id: str, image: Mapping[str, Any]) -> None:
        self.image_id = image_id
        self.diff_ids = list(image.get("rootfs", {}).get("diff_ids", []))
        self.history = list(image.get("history") or [])
        self.config = copy.deepcopy(image.get("config") or {})
        self.author = str(image.get("author") or "")
