"""The container record, persisted as JSON beside the container's files; its state is ``state.State``."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wharf_engine.fsutil import write_atomic
from wharf_engine.shapes import ContainerConfig, HostConfig, MountPoint

from .state import ZERO_TIME, State, now_rfc3339

Stdio = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(slots=True)
class Container:
    id: str
    name: str
    created: str
    image_id: str
    config: ContainerConfig  # as created: the image's merged in, Docker's defaults filled
    host_config: HostConfig
    path: str
    args: list[str]
    state: State = field(default_factory=State)
    shim_pid: int = 0
    restart_count: int = 0
    mounts: list[MountPoint] = field(default_factory=list)
    network: dict[str, Any] = field(default_factory=dict)  # address, gateway, mac, published ports
    manually_stopped: bool = False  # stop/kill by a user: "always" waits for the engine's restart
    # on the default bridge after a network connect (True) or disconnect (False); None: as NetworkMode says
    bridge_connected: bool | None = None
    dir: Path = Path()
    # not persisted: who waits on this container's next state change
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    pending_attach: list[asyncio.Future[Stdio]] = field(default_factory=list, repr=False)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    @property
    def log_path(self) -> Path:
        return self.dir / f"{self.id}-json.log"

    def notify(self) -> None:
        """Wake every waiter on this container, then arm a fresh event."""
        self.changed.set()
        self.changed = asyncio.Event()

    def to_json(self) -> bytes:
        data = {name: getattr(self, name) for name in _PERSISTED}
        if data.get("bridge_connected") is None:  # unset: records stay as older engines wrote them
            data.pop("bridge_connected", None)
        data["state"] = self.state.to_dict()
        # compact: json's C encoder (with indent it falls back to the pure-Python one)
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes, directory: Path) -> Container:
        data = json.loads(raw)
        state = State.from_dict(data.pop("state"))
        return cls(**data, state=state, dir=directory)

    def save(self) -> None:
        write_atomic(self.dir / "container.json", self.to_json())


# what container.json holds (computed once: dataclasses.fields and asdict cost more than the dump)
_PERSISTED = tuple(
    f.name
    for f in dataclasses.fields(Container)
    if f.name not in ("changed", "pending_attach", "lock", "dir", "state")
)

__all__ = ["ZERO_TIME", "Container", "State", "Stdio", "now_rfc3339"]
