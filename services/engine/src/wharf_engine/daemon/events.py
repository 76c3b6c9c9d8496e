"""The event bus behind GET /events: what happened to containers, images and volumes."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

HISTORY = 1024


class EventBus:
    """Keeps the last events (for ``since``) and hands new ones to every live subscriber."""

    def __init__(self) -> None:
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self.subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    def emit(self, kind: str, action: str, actor_id: str, attributes: dict[str, str] | None = None) -> None:
        now = time.time_ns()
        attrs = dict(attributes or {})
        event: dict[str, Any] = {
            "Type": kind,
            "Action": action,
            "Actor": {"ID": actor_id, "Attributes": attrs},
            "scope": "local",
            "time": now // 1_000_000_000,
            "timeNano": now,
        }
        if kind == "container":  # the legacy fields the 1.x clients read
            event.update({"status": action, "id": actor_id, "from": attrs.get("image", "")})
        self.history.append(event)
        for queue in self.subscribers:
            queue.put_nowait(event)

    async def stream(
        self, *, since: float, until: float, filters: dict[str, list[str]]
    ) -> AsyncIterator[dict[str, Any]]:
        """Past events from ``since``, then live ones until ``until`` (0: forever)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.subscribers.add(queue)
        try:
            for event in list(self.history):
                if since and event["timeNano"] / 1e9 >= since and _matches(event, filters):
                    if until and event["timeNano"] / 1e9 > until:
                        return
                    yield event
            if until and until <= time.time():
                return
            while True:
                timeout = (until - time.time()) if until else None
                try:
                    event = await asyncio.wait_for(queue.get(), timeout)
                except TimeoutError:
                    return
                if _matches(event, filters):
                    yield event
        finally:
            self.subscribers.discard(queue)


def _matches(event: dict[str, Any], filters: dict[str, list[str]]) -> bool:
    attrs = event["Actor"]["Attributes"]
    for key, values in filters.items():
        if not values:
            continue
        if key == "type" and event["Type"] not in values:
            return False
        if key == "event" and event["Action"] not in values:
            return False
        if key in ("container", "image", "volume") and not _names_match(event, key, values):
            return False
        if key == "label" and not all(
            attrs.get(v.partition("=")[0]) == v.partition("=")[2] if "=" in v else v in attrs for v in values
        ):
            return False
    return True


def _names_match(event: dict[str, Any], key: str, values: list[str]) -> bool:
    """moby's ``matchContainer``/``matchVolume``/``matchImage``: a ``container=`` filter drops events of
    other types (their actor is not that container), while ``image=`` also keeps the events of
    containers made from that image (their ``image`` attribute)."""
    actor = event["Actor"]["ID"]
    attrs = event["Actor"]["Attributes"]
    names = [actor, attrs.get("name")]
    if key == "image":
        names = [actor, attrs.get("name" if event["Type"] == "image" else "image")]
        names += [_strip_tag(n) for n in names if n and not n.startswith("sha256:")]
    return any(v in names or actor.startswith(v) for v in values)


def _strip_tag(name: str) -> str:
    """``web:1.0`` -> ``web`` (a port in ``host:5000/web`` is not a tag)."""
    return name.rpartition(":")[0] if ":" in name.rpartition("/")[2] else name
