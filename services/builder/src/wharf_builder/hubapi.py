"""The worker's side of the hub's builder API (``/api/builder/builds/...``, a shared secret).

The hub owns every build record: a worker claims a build (and gets its spec and a push credential
that is valid for that build alone), reports each status, appends log text, and learns from every
answer whether the build was cancelled meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx


@dataclass(frozen=True, slots=True)
class BuildSpec:
    id: int
    repository: str
    """``alice/web`` (``library/busybox`` for official images)."""
    image: str
    """The name the engine tags and pushes (``alice/web``, ``busybox``)."""
    source_url: str
    source_type: str
    """``branch`` or ``tag``."""
    ref: str
    commit: str | None
    dockerfile: str
    context: str
    tags: list[str]
    build_args: dict[str, str] = field(default_factory=dict)
    push_username: str = ""
    push_password: str = ""

    @classmethod
    def of(cls, data: dict[str, Any]) -> BuildSpec:
        return cls(
            id=int(data["id"]),
            repository=str(data["repository"]),
            image=str(data["image"]),
            source_url=str(data["source_url"]),
            source_type=str(data["source_type"]),
            ref=str(data["ref"]),
            commit=data.get("commit") or None,
            dockerfile=str(data.get("dockerfile") or "Dockerfile"),
            context=str(data.get("context") or "/"),
            tags=[str(t) for t in data["tags"]],
            build_args={str(k): str(v) for k, v in (data.get("build_args") or {}).items()},
            push_username=str(data.get("push_username") or ""),
            push_password=str(data.get("push_password") or ""),
        )


class BuildReporter(Protocol):
    """Where a build's progress goes (the hub; a fake in unit tests)."""

    def status(self, build_id: int, status: str, **fields: Any) -> bool:
        """Records ``status`` and ``fields``; True when the build has been cancelled."""
        ...

    def log(self, build_id: int, text: str) -> bool:
        """Appends ``text`` to the build's log; True when the build has been cancelled."""
        ...


class HubClient:
    """:class:`BuildReporter` over HTTP, plus :meth:`claim`."""

    def __init__(self, url: str, secret: str, *, timeout: float = 30) -> None:
        self._http = httpx.Client(
            base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {secret}"}, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def claim(self, build_id: int, worker: str) -> BuildSpec | None:
        """The spec, or None when the build is not to be run (already finished, cancelled, or
        running on a live worker): a redelivered task then does nothing."""
        r = self._http.post(f"/api/builder/builds/{build_id}/claim", json={"worker": worker})
        if r.status_code in (404, 409):
            return None
        r.raise_for_status()
        return BuildSpec.of(r.json())

    def status(self, build_id: int, status: str, **fields: Any) -> bool:
        r = self._http.post(f"/api/builder/builds/{build_id}/status", json={"status": status, **fields})
        r.raise_for_status()
        return bool(r.json().get("cancelled"))

    def log(self, build_id: int, text: str) -> bool:
        r = self._http.post(
            f"/api/builder/builds/{build_id}/log",
            content=text.encode(),
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        r.raise_for_status()
        return bool(r.json().get("cancelled"))


__all__ = ["BuildReporter", "BuildSpec", "HubClient"]
