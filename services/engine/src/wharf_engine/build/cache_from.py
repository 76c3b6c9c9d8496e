"""``cachefrom``: images (pulled or loaded, so without this engine's build cache) whose history
gives cache hits, as the classic builder's ``ImageCache`` does with its sources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .state import StageState


@dataclass(frozen=True, slots=True)
class CacheHit:
    image_id: str | None  # the source itself, when the step is its last
    diff_id: str | None  # the source's layer for this step (None for a config-only step)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("created_by") == b.get("created_by") and bool(a.get("empty_layer")) == bool(
        b.get("empty_layer")
    )


def find(
    sources: list[tuple[str, Mapping[str, Any]]], state: StageState, created_by: str, *, empty_layer: bool
) -> CacheHit | None:
    """The first source whose history starts as the stage's has so far and goes on with this step."""
    done = len(state.history)
    for image_id, image in sources:
        history = list(image.get("history") or [])
        diff_ids = list(image.get("rootfs", {}).get("diff_ids", []))
        if len(history) <= done or not all(_same(a, b) for a, b in zip(history, state.history, strict=False)):
            continue
        if diff_ids[: len(state.diff_ids)] != state.diff_ids:
            continue
        step = history[done]
        if step.get("created_by") != created_by or bool(step.get("empty_layer")) != empty_layer:
            continue
        layer = None
        if not empty_layer:
            if len(diff_ids) <= len(state.diff_ids):
                continue
            layer = diff_ids[len(state.diff_ids)]
        return CacheHit(image_id if len(history) == done + 1 else None, layer)
    return None


def is_ancestor(sources: list[tuple[str, Mapping[str, Any]]], image: Mapping[str, Any]) -> bool:
    """Whether ``image`` is where one of the sources passed on its way (history and layers a
    prefix of the source's): with ``cachefrom``, Docker takes a local cache hit only then."""
    history = list(image.get("history") or [])
    diff_ids = list(image.get("rootfs", {}).get("diff_ids", []))
    for _, source in sources:
        theirs = list(source.get("history") or [])
        if (
            len(theirs) >= len(history)
            and all(_same(a, b) for a, b in zip(history, theirs, strict=False))
            and list(source.get("rootfs", {}).get("diff_ids", []))[: len(diff_ids)] == diff_ids
        ):
            return True
    return False
