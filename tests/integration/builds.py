"""Helpers for build tests: context tarballs, POST /build, running the result."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Mapping
from typing import Any

from engines import Engine


def context_tar(files: Mapping[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in sorted(files.items()):
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") or name == "busybox" else 0o644
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


Messages = list[dict[str, Any]]


def build(engine: Engine, files: Mapping[str, str | bytes], query: str = "") -> tuple[int, Messages]:
    status, body = engine.request(
        "POST", f"/build?{query}", context_tar(files), {"Content-Type": "application/x-tar"}
    )
    if status != 200:
        return status, [json.loads(body)]
    return status, [json.loads(line) for line in body.splitlines() if line.strip()]


def text(messages: list[dict[str, Any]]) -> str:
    return "".join(m.get("stream", "") for m in messages)


def run(engine: Engine, image: str, *cmd: str) -> tuple[int, bytes]:
    body: dict[str, Any] = {"Image": image}
    if cmd:
        body["Cmd"] = list(cmd)
    cid = engine.json("POST", "/containers/create", body)["Id"]
    engine.request("POST", f"/containers/{cid}/start")
    code = engine.json("POST", f"/containers/{cid}/wait")["StatusCode"]
    _, logs = engine.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1")
    engine.request("DELETE", f"/containers/{cid}")
    out = b""
    while logs:  # demultiplex
        size = int.from_bytes(logs[4:8], "big")
        out += logs[8 : 8 + size]
        logs = logs[8 + size :]
    return code, out
