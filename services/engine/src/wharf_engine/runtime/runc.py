"""A thin typed client for the runc binary, in OCI terms (id, bundle, signal), as go-runc."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

from .errors import RuntimeFailure


@dataclass(frozen=True, slots=True)
class RuntimeState:
    id: str
    status: str  # created | running | paused | stopped
    pid: int


class Runc:
    """Runs ``runc --root <root> <verb>``; container creation itself is the shim's job."""

    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.root = root

    async def _run(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            self.binary,
            "--root",
            str(self.root),
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeFailure(err.decode(errors="replace").strip() or f"runc {args[0]} failed")
        return out.decode()

    async def start(self, cid: str) -> None:
        await self._run("start", cid)

    async def kill(self, cid: str, sig: int, *, all: bool = False) -> None:
        await self._run("kill", *(["--all"] if all else []), cid, str(sig))

    async def pause(self, cid: str) -> None:
        await self._run("pause", cid)

    async def resume(self, cid: str) -> None:
        await self._run("resume", cid)

    async def delete(self, cid: str, *, force: bool = False) -> None:
        try:
            await self._run("delete", *(["--force"] if force else []), cid)
        except RuntimeFailure as exc:
            if "does not exist" not in str(exc):
                raise

    async def state(self, cid: str) -> RuntimeState | None:
        try:
            out = await self._run("state", cid)
        except RuntimeFailure as exc:
            if "does not exist" in str(exc):
                return None
            raise
        data = json.loads(out)
        return RuntimeState(id=data["id"], status=data["status"], pid=int(data.get("pid") or 0))
